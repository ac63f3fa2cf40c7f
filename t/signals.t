#!/usr/bin/perl

# Tests for signals and process modes: QUIT finishes an in-flight request,
# TERM stops fast, USR1 reopens a moved log, a killed worker is respawned,
# the pid file, daemon on, master_process off, worker_processes.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(36)
    ->expect_alert(qr/exited on signal 9|signal 9\b/);
my $d = $t->testdir();

$t->write_file('html/index.html', 'INDEX');

###############################################################################

# pid file and QUIT with a request in flight

write_conf('divehttpd.conf');
$t->run();

is($t->read_file('divehttpd.pid') =~ /^(\d+)\n?$/ ? $1 : 'none',
    $t->started_pid(), 'pid file holds the master pid');

my $s = http_start("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n");
my ($r) = $s ? read_response($s) : ();
like($r // '', qr!^HTTP/1\.1 200 !, 'first request on keep-alive connection');

# half a request, then QUIT, then (once the worker knows) the rest
$s->syswrite("GET /hello HTTP/1.1\r\nHost: loc") if $s;
my @w = $t->worker_pids();
ok($t->signal('QUIT'), 'QUIT sent');
ok($t->wait_shutdown_begun(\@w, 10), 'worker began shutting down');
$s->syswrite("alhost\r\n\r\n") if $s;
my $err;
($r, $err) = $s ? read_response($s, timeout => 15) : ();
like($r // '', qr!^HTTP/1\.1 200 !, 'in-flight request finished after QUIT');
is(http_content($r), 'hello', 'in-flight response complete');
like($r // '', qr/^Connection: close\r$/mi, 'in-flight response closes');
(undef, $err) = $s ? read_response($s, timeout => 15) : ();
is($err, 'eof', 'connection closed after the response');

ok($t->wait_exit(30), 'QUIT: server exited');
is(defined $t->exit_status() ? $t->exit_status() >> 8 : 'none', 0,
    'QUIT: exit code 0');
ok(!-e $t->pid_file(), 'pid file removed on exit');

# TERM with a request that never completes

$t->run();
$s = http_start("GET /hello HTTP/1.1\r\nHost: loc");
ok($s, 'incomplete request sent');
ok($t->signal('TERM'), 'TERM sent');
# worker_shutdown_timeout and client_header_timeout are 60s: a graceful
# stop would wait for them, a fast stop does not
ok($t->wait_exit(20), 'TERM: server exited without waiting for the client');
(undef, $err) = $s ? read_response($s, timeout => 10) : ();
like($err // 'none', qr/^(eof|reset)$/, 'TERM: client connection closed');
ok(!-e $t->pid_file(), 'pid file removed after TERM');

# USR1 reopens a moved log; a killed worker is respawned

$t->run();
http_get('/nonexistent-before-reopen');
my $logs_404 = $t->read_file('error.log') =~ /nonexistent-before-reopen/;

rename "$d/error.log", "$d/error.log.old" or die "rename: $!";
ok($t->signal('USR1'), 'USR1 sent');
ok($t->waitforfile("$d/error.log", 15), 'USR1: error.log created again');

my @old = $t->worker_pids();
is(scalar @old, 1, 'one worker');
kill 'KILL', $old[0] if @old;
ok(Test::Divehttpd::wait_until(sub {
    my @now = $t->worker_pids();
    @now == 1 && @old && $now[0] != $old[0]
}, 30), 'killed worker respawned');
like(http_get('/hello'), qr!^HTTP/1\.[01] 200 !, 'respawned worker serves');

ok(Test::Divehttpd::wait_until(sub {
    ($t->read_file('error.log') // '') =~ /start worker process/
}, 15), 'master logs to the reopened file');

SKIP: {
    skip 'the server does not log missing files', 2 unless $logs_404;

    ok(Test::Divehttpd::wait_until(sub {
        http_get('/nonexistent-after-reopen');
        ($t->read_file('error.log') // '') =~ /nonexistent-after-reopen/
    }, 15, 0.2), 'worker logs to the reopened file');
    unlike($t->read_file('error.log.old') // '', qr/nonexistent-after-reopen/,
        'nothing more in the moved file');
}

$t->stop();

# daemon on

write_conf('daemon.conf', daemon => 1);
$t->run(conf => 'daemon.conf', daemon => 1);

my $master = $t->master_pid();
isnt($master, $t->started_pid(), 'daemon: master is a new process');
ok(Test::Divehttpd::wait_until(sub { !$t->alive($t->started_pid()) }, 15),
    'daemon: started process exited');
is(defined $t->started_status() ? $t->started_status() >> 8 : 'none', 0,
    'daemon: started process exit code 0');
isnt(ppid_of($master), $$, 'daemon: master detached');
like(http_get('/hello'), qr!^HTTP/1\.[01] 200 !, 'daemon serves');
$t->stop();
ok(!$t->alive($master), 'daemon stopped');

# master_process off

write_conf('single.conf', single => 1);
$t->run(conf => 'single.conf');

like(http_get('/hello'), qr!^HTTP/1\.[01] 200 !, 'master_process off serves');
is(scalar($t->worker_pids()), 0, 'master_process off: no workers');
is($t->master_pid(), $t->started_pid(), 'master_process off: one process');
$t->stop();
ok(!$t->running(), 'master_process off stopped');

# worker_processes 3

write_conf('three.conf', workers => 3);
$t->run(conf => 'three.conf');

ok(Test::Divehttpd::wait_until(sub { $t->worker_pids() == 3 }, 15),
    'worker_processes 3 starts 3 workers') or diag(join ' ', $t->worker_pids());
like(http_get('/hello'), qr!^HTTP/1\.[01] 200 !, '3 workers serve');

###############################################################################

sub write_conf {
    my ($name, %opts) = @_;
    my $daemon = $opts{daemon} ? '' : 'daemon off;';
    my $master = $opts{single} ? 'master_process off;' : '';
    my $workers = $opts{workers} || 1;

    $t->write_file_expand($name, <<"EOF");

%%TEST_GLOBALS%%

$daemon
$master
worker_processes $workers;
worker_shutdown_timeout 60s;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    keepalive_shutdown_grace 5s;
    client_header_timeout 60s;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /hello {
            return 200 "hello";
        }

        location / {
            root %%TESTDIR%%/html;
        }
    }
}

EOF
}

sub ppid_of {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/stat" or return 'unknown';
    my $stat = <$fh>;
    close $fh;
    return $stat =~ /\)\s+\S\s+(\d+)/ ? $1 : 'unknown';
}

###############################################################################
