#!/usr/bin/perl

# Tests for graceful drain: a request arriving on an idle keep-alive
# connection right after QUIT is answered with "Connection: close"; one
# arriving after worker_shutdown_timeout gets 503 with Retry-After.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(19);

###############################################################################

# within keepalive_shutdown_grace

write_conf(timeout => '30s', grace => '8s');
$t->run();

my $s = keepalive_conn();
my $idle = keepalive_conn();
ok($s && $idle, 'two idle keep-alive connections');

my @w = $t->worker_pids();
ok($t->signal('QUIT'), 'QUIT sent');
# the request must reach a worker that already knows about the QUIT
ok($t->wait_shutdown_begun(\@w, 10), 'worker began shutting down');
$s->syswrite(req()) if $s;
my ($r, $err) = $s ? read_response($s, timeout => 15) : ();
like($r // '', qr!^HTTP/1\.1 200 !, 'request right after QUIT: 200');
is(http_content($r), 'hello', 'request right after QUIT: body');
like($r // '', qr/^Connection: close\r$/mi,
    'request right after QUIT: Connection: close');
(undef, $err) = $s ? read_response($s, timeout => 15) : ();
is($err, 'eof', 'closed after the response');

# the other one sends nothing: it is closed after the grace period
(undef, $err) = $idle ? read_response($idle, timeout => 30) : ();
like($err // 'none', qr/^(eof|reset)$/, 'idle connection closed');

ok($t->wait_exit(30), 'server exited');

# after worker_shutdown_timeout (grace longer than the timeout)

write_conf(timeout => '1s', grace => '30s', retry_after => '7s');
$t->run();

$s = keepalive_conn();
ok($s, 'idle keep-alive connection');
@w = $t->worker_pids();
my $expired = $t->count_log(qr/worker_shutdown_timeout expired/);
ok($t->signal('QUIT'), 'QUIT sent');
ok($t->wait_shutdown_begun(\@w, 10), 'worker began shutting down');

# barrier: the worker logs when worker_shutdown_timeout fires; the
# request goes right after it (the worker answers 503 for up to one
# second after the timeout, then closes what is left and exits)
ok(Test::Divehttpd::wait_until(sub {
    $t->count_log(qr/worker_shutdown_timeout expired/) > $expired
}, 10), 'worker_shutdown_timeout expired');

$s->syswrite(req()) if $s;
($r, $err) = $s ? read_response($s, timeout => 15) : ();
like($r // '', qr!^HTTP/1\.1 503 !, 'request after the timeout: 503')
    or diag("error: " . ($err // 'none'));
like($r // '', qr/^Retry-After: 7\r$/mi, 'Retry-After from retry_after');
like($r // '', qr/^Connection: close\r$/mi, '503 closes the connection');
(undef, $err) = $s ? read_response($s, timeout => 15) : ();
like($err // 'none', qr/^(eof|reset)$/, 'closed after the 503');

ok($t->wait_exit(30), 'server exited after the timeout');
ok(!-e $t->pid_file(), 'pid file removed');

###############################################################################

sub req {
    return "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";
}

# A connection that has been served once and now sits idle in keep-alive,
# so the worker has certainly accepted it.
sub keepalive_conn {
    my $s = http_start(req()) or return undef;
    my ($r) = read_response($s);
    return undef unless defined $r && $r =~ m!^HTTP/1\.1 200 !
        && $r !~ /^Connection: close/mi;
    return $s;
}

sub write_conf {
    my (%opts) = @_;
    my $retry = $opts{retry_after} ? "retry_after $opts{retry_after};" : '';

    $t->write_file_expand('divehttpd.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;
worker_processes 1;
worker_shutdown_timeout $opts{timeout};

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    keepalive_timeout 60s;
    keepalive_shutdown_grace $opts{grace};
    $retry

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /hello {
            return 200 "hello";
        }
    }
}

EOF
}

###############################################################################
