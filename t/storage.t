#!/usr/bin/perl

# Tests for the storage environment: the directory and table databases are
# created, a storage helper process checkpoints (the counter moves), a
# worker killed with SIGKILL is cleaned up after (failchk) and requests
# still work, a reload adds a table, an unusable directory stops the start
# with [emerg] and exit 1, and table blocks with errors fail -t with
# file:line.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use Time::HiRes qw/sleep/;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http storage table http_table/)
    ->log_level('info')->plan(32);
my $d = $t->testdir();

write_conf($t, '');
$t->run();

###############################################################################

ok(-d "$d/data", 'storage directory created under the prefix');
ok(-f "$d/data/table.db1.t.db", 'table database created');
ok(<$d/data/log.*>, 'transaction log present');
ok(Test::Divehttpd::wait_until(sub { storage_helper($t) }, 10),
    'storage helper process runs');

like(http_get('/api/db1/t/_count'), qr/\{"count":0\}/, 'count on a new table');

# the helper checkpoints every second (storage_checkpoint 1s)
ok(Test::Divehttpd::wait_until(sub { checkpoints() >= 2 }, 15),
    'checkpoints are taken: ' . checkpoints());
like(http_get('/metrics'), qr/^divehttpd_storage_log_bytes \d+/m,
    'log bytes gauge');

# a worker killed while the environment is open
my @w = $t->worker_pids();
kill 'KILL', $w[0];
ok(Test::Divehttpd::wait_until(sub {
    ($t->read_file('error.log') // '') =~ /released what process $w[0] held/
}, 10), 'master ran failchk for the killed worker');
ok(Test::Divehttpd::wait_until(sub {
    my @n = $t->worker_pids();
    @n == 2 && !grep { $_ == $w[0] } @n
}, 10), 'worker respawned');

for my $i (1 .. 4) {
    like(http_get('/api/db1/t/_count'), qr/\{"count":0\}/,
        "request $i after the respawn");
}

# reload with one more table: its database is made, the old one kept
write_conf($t, 'table db1.u { column a int; column b json null; }');
ok($t->reload(), 'reload with a new table');
ok(-f "$d/data/table.db1.u.db", 'new table database created on reload');
like(http_get('/api/db1/u/_schema'), qr/"name":"b","type":"json"/,
    'new table served after reload');
like(http_get('/api/db1/t/_count'), qr/\{"count":0\}/,
    'old table still served');

# a restart recovers the environment
$t->stop();
$t->run();
like(http_get('/api/db1/u/_count'), qr/\{"count":0\}/, 'after a restart');
like($t->read_file('error.log'), qr/storage "\Q$d\E\/data" recovered/,
    'recovery logged');
$t->stop();

# table blocks with errors: -t names file and line
conf_error('table db1.x { column a int; column a bigint; }',
    qr/duplicate column "a" in table "db1.x" in \S+divehttpd.conf:\d+/,
    'duplicate column');
conf_error('table db1.x { column a text; }',
    qr/unknown type "text" for column "a" in \S+divehttpd.conf:\d+/,
    'unknown type');
conf_error('table db1.x { column a decimal(20,2); }',
    qr/invalid precision .* in \S+divehttpd.conf:\d+/, 'decimal(20,2)');
conf_error('table db1.x { column a int null; key a; }',
    qr/key column "a" of table "db1.x" is declared null in \S+:\d+/,
    'nullable key');
conf_error('table db1.t { column a int; }',
    qr/duplicate table "db1.t", first declared in \S+:\d+ in \S+:\d+/,
    'duplicate table');

# a storage directory that cannot be made: no start, [emerg], exit 1
my $b = Test::Divehttpd->new();
$b->write_file('notadir', 'x');
write_conf($b, '', 'storage ' . $b->testdir() . '/notadir/data;');
ok(!$b->run(try => 1), 'unusable storage directory: no start');
is($b->started_status() >> 8, 1, 'exit code 1');
like($b->read_file('error.log'),
    qr/\[emerg\].*storage: could not create directory/,
    'emerg says why');

# with Stream Load: data survives a restart, and log files are removed
# once checkpoints no longer need them (1 MiB log files here)
SKIP: {
    skip 'no stream load', 5 unless $t->has_module('http_stream_load');

    my $l = Test::Divehttpd->new();
    my $ld = $l->testdir();
    write_conf($l, '', "storage $ld/data log_file=1m;\n"
        . "storage_checkpoint 1s;");
    $l->run();

    my $port = port(8080);
    my $rows = 0;
    for my $i (1 .. 5) {
        $l->write_file("part$i.csv", join('', map {
            ($rows + $_) . ',' . ('x' x 16) . "\n" } 1 .. 20000));
        $rows += 20000;
        system('curl', '-sS', '-u', 'root:', '-o', "$ld/load$i.out",
            '-H', "label:l$i",
            '-H', 'column_separator:,', '-T', "$ld/part$i.csv",
            "http://127.0.0.1:$port/api/db1/t/_stream_load");
    }
    like(http_get('/api/db1/t/_count'), qr/\{"count":$rows\}/,
        "$rows rows loaded in 5 loads");

    # the loads wrote more log files than the checkpoints keep
    my $peak = () = glob("$ld/data/log.*");
    ok(Test::Divehttpd::wait_until(sub { !-e "$ld/data/log.0000000001" },
        15), 'old log files removed after checkpoints');
    my @logs;
    ok(Test::Divehttpd::wait_until(sub {
        @logs = glob("$ld/data/log.*");
        @logs <= 2
    }, 15), 'log files kept: ' . scalar @logs . " of $peak");

    $l->stop();
    $l->run();
    like(http_get('/api/db1/t/_count'), qr/\{"count":$rows\}/,
        'rows survive a restart');
    like(http_get('/api/db1/t/_scan?offset=99999&format=csv'),
        qr/\n100000,x{16}\n/, 'last row after the restart');
    $l->stop();
}

###############################################################################

sub write_conf {
    my ($h, $extra, $storage) = @_;
    $storage //= 'storage_checkpoint 1s;';
    my $load = $t->has_module('http_stream_load')
        ? 'location ~ /_stream_load$ { stream_load; }' : '';

    $h->write_file_expand('divehttpd.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

$storage

table db1.t {
    column id bigint;
    column name varchar(16) null;
    key id;
}
$extra

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /api/ { table_api; }
        $load
        location = /metrics { metrics; }
    }
}

EOF
}

sub conf_error {
    my ($extra, $re, $name) = @_;
    write_conf($t, $extra);
    my ($status, $out, $err) = $t->cmd('-t');
    my $log = ($t->read_file('cmd-error.log') // '') . $err;
    ok($status == 1 && $log =~ $re, "-t: $name")
        or diag("status $status: $log");
}

sub storage_helper {
    my ($h) = @_;
    my $master = $h->master_pid() or return 0;
    for my $stat (glob '/proc/[0-9]*/stat') {
        my ($pid) = $stat =~ m!/proc/(\d+)/!;
        open my $fh, '<', $stat or next;
        my $line = <$fh> // '';
        close $fh;
        my ($ppid) = $line =~ /^\d+ \(.*\) \S (\d+)/;
        next unless $ppid && $ppid == $master;
        open $fh, '<', "/proc/$pid/cmdline" or next;
        my $cmd = <$fh> // '';
        close $fh;
        return 1 if $cmd =~ /storage process/;
    }
    return 0;
}

sub checkpoints {
    my ($n) = http_get('/metrics')
        =~ /^divehttpd_storage_checkpoints_total (\d+)/m;
    return $n // 0;
}

###############################################################################
