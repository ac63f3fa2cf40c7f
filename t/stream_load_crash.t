#!/usr/bin/perl

# Crash safety of Stream Load: kill -9 of the whole server (master,
# workers, helpers) in the middle of a large load, and during a commit;
# after the restart (recovery) every committed label's rows are all
# there, nothing of the interrupted load is visible, and its label can be
# used again.  Nothing here depends on timing: the first kill happens
# while the body is known to be half sent, the second once the worker
# logged that the commit started, and the check is "all or nothing"
# whichever moment of the commit the kill hit.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use IO::Socket::INET;
use JSON::PP;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'no curl') unless `curl --version 2>/dev/null` =~ /^curl/;

my $t = Test::Divehttpd->new()->has(qw/http http_stream_load http_table/)
    ->log_level('info')->plan(14);
my $d = $t->testdir();

# a worker may notice the master is gone before its own SIGKILL lands
$t->expect_alert(qr/the master process is gone/);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

storage %%TESTDIR%%/data;
storage_sync on;

table db1.t {
    column id bigint;
    column v varchar(16);
    key id;
}

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen 127.0.0.1:8080 reuseport;
        server_name localhost;

        location /api/ {
            stream_load;
            client_max_body_size 1g;
        }

        location /tables/ {
            table_api;
        }
    }
}

EOF

$t->run();

my $port = port(8080);
my $json = JSON::PP->new;
my $base = "http://127.0.0.1:$port";

sub run_cmd {
    my (@cmd) = @_;
    open my $fh, '-|', @cmd or die "Can't run curl: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub load {
    my ($file, $label) = @_;
    my $raw = run_cmd('curl', '-sS', '--max-time', '120',
        '--location-trusted', '-u', 'root:', '-H', "label:$label",
        '-H', 'column_separator:,', '-T', $file,
        "$base/api/db1/t/_stream_load");
    return eval { $json->decode($raw) } || { raw => $raw };
}

sub count {
    my $raw = run_cmd('curl', '-sS', "$base/tables/db1/t/_count");
    return $raw =~ /"count"\s*:\s*(\d+)/ ? $1 : "?$raw";
}

sub rows_file {
    my ($name, $from, $to) = @_;
    open my $fh, '>', "$d/$name" or die $!;
    print $fh "$_,v$_\n" for $from .. $to;
    close $fh;
    return "$d/$name";
}

# SIGKILL for the master and every process it started, all at once
sub kill_all {
    my $master = $t->master_pid();
    my @pids = ($master);
    opendir my $dh, '/proc' or die;
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // '';
        close $fh;
        push @pids, $pid if $stat =~ /\)\s+\S\s+(\d+)/ && $1 == $master;
    }
    closedir $dh;
    kill 'KILL', @pids;
    wait_until(sub { !grep { kill 0, $_ } @pids }, 10);
    $t->{_running} = 0;
    waitpid($t->{_child}, 0) if $t->{_child};
}

###############################################################################
# a committed load

my $r = load(rows_file('ok.csv', 1, 1000), 'ok');
is($r->{Status}, 'Success', 'committed load');
is(count(), 1000, 'committed rows');

###############################################################################
# kill -9 in the middle of a large body

{
    my $half = join '', map { "$_,m$_\n" } 100001 .. 150000;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die $!;
    print $s "PUT /api/db1/t/_stream_load HTTP/1.1\r\nHost: localhost\r\n"
        . "Authorization: Basic cm9vdDo=\r\nlabel: mid\r\n"
        . "column_separator: ,\r\nExpect: 100-continue\r\n"
        . "Content-Length: " . (2 * length $half) . "\r\n\r\n";
    my $line = <$s> // '';
    <$s>;
    like($line, qr/^HTTP\/1\.1 100 Continue/, 'mid-load: begun');
    print $s $half;
    # the server has read (some of) it once the count of staged bytes moves
    # on; not needed for safety: any point of the load must be safe
    kill_all();
    close $s;
}

$t->run();
is(count(), 1000, 'after the crash: only the committed rows');
is(load(rows_file('ok2.csv', 1, 10), 'ok')->{ExistingJobStatus}, 'FINISHED',
    'after the crash: the committed label is FINISHED');

$r = load(rows_file('mid.csv', 100001, 100100), 'mid');
is($r->{Status}, 'Success', 'after the crash: the interrupted label is free');
is(count(), 1100, 'after the crash: the new load is there');

###############################################################################
# kill -9 during the commit of a large load

my $rows = 300000;
my $big = rows_file('big.csv', 200001, 200000 + $rows);
my $marker = $t->count_log(qr/"big" txn \d+: committing/);

my $pid = fork() // die;
if ($pid == 0) {
    exec('curl', '-s', '-o', '/dev/null', '-u', 'root:', '-H', 'label:big',
        '-H', 'column_separator:,', '-T', $big,
        "$base/api/db1/t/_stream_load");
    exit 1;
}

my $committing = wait_until(sub {
    $t->count_log(qr/"big" txn \d+: committing/) > $marker }, 120, 0.005);
ok($committing, 'the commit started');
kill_all();
waitpid($pid, 0);

$t->run();
my $n = count() - 1100;
ok($n == 0 || $n == $rows, "after a crash in the commit: all or nothing ($n)");

$r = load($big, 'big');
if ($n == 0) {
    is($r->{Status}, 'Success', 'not committed: the label loads now');
} else {
    is($r->{ExistingJobStatus}, 'FINISHED', 'committed: FINISHED');
}
is(count(), 1100 + $rows, 'every row of the big load once');

# the restarted server works as before
$r = load(rows_file('last.csv', 900001, 900010), 'last');
is($r->{NumberLoadedRows}, 10, 'a load after the restarts');
is(count(), 1110 + $rows, 'all rows');
is(load(rows_file('last2.csv', 1, 1), 'mid')->{ExistingJobStatus},
    'FINISHED', 'labels survive restarts');

###############################################################################
