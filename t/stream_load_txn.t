#!/usr/bin/perl

# Tests for Transaction Stream Load (/api/transaction/*) with curl, as a
# StarRocks user runs it: begin, load, prepare, commit, rollback, list,
# the status names and messages of the BE, parameter and db checks,
# labels shared with plain stream loads, timeouts, transactions served by
# several workers, and crashes (kill -9 of the whole process group)
# before and during a commit.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw/sleep/;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'no curl') unless `curl --version 2>/dev/null` =~ /^curl/;

my $t = Test::Divehttpd->new()->has(qw/http http_stream_load http_table/)->log_level('info')
    ->plan(118);
my $d = $t->testdir();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

storage %%TESTDIR%%/data;
storage_sync on;

table db1.t1 {
    column id int;
    column name varchar(32);
    key id;
}

table db1.big {
    column id bigint;
    column v varchar(16);
    key id;
}

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    log_format pids '$pid $request_uri';

    server {
        listen 127.0.0.1:8080 reuseport;
        server_name localhost;

        access_log %%TESTDIR%%/pids.log pids;

        location /api/ {
            stream_load;
            client_max_body_size 100m;
        }

        location /tables/ {
            table_api;
        }

        location = /metrics {
            metrics;
        }
    }
}

EOF

$t->run();

my $port = port(8080);
my $json = JSON::PP->new->relaxed;
my $seq = 0;

# One curl request; returns the decoded reply (or {raw => text} when it is
# not one JSON object) and the raw body in $reply->{_raw}.
sub txn {
    my ($method, $op, $headers, $file) = @_;
    my @cmd = ('curl', '-sS', '--max-time', '60', '-u', 'root:',
        '-X', $method);
    push @cmd, '-H', "$_:$headers->{$_}" for sort keys %$headers;
    push @cmd, '-T', $file if defined $file;
    $seq++;
    push @cmd, "http://127.0.0.1:$port/api/transaction/$op?n=$seq";
    my $raw = run_cmd(@cmd);
    my $r = eval { $json->decode($raw) } || { raw => $raw };
    $r->{_raw} = $raw;
    $r->{_n} = $seq;
    return $r;
}

sub run_cmd {
    my (@cmd) = @_;
    open my $fh, '-|', @cmd or die "Can't run curl: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub count {
    my ($table) = @_;
    my $raw = run_cmd('curl', '-sS', "http://127.0.0.1:$port/tables/db1/"
        . ($table || 't1') . "/_count");
    return $raw =~ /"count"\s*:\s*(\d+)/ ? $1 : "?$raw";
}

# The live transactions: label => list object.
sub list {
    my $raw = txn('POST', 'list', {})->{_raw};
    my $js = JSON::PP->new;
    my %live = map { $_->{Label} => $_ } $js->incr_parse($raw);
    return \%live;
}

sub data_file {
    my ($name, $content) = @_;
    $t->write_file($name, $content);
    return "$d/$name";
}

my %db1 = (db => 'db1', table => 't1');
my $csv1 = data_file('a.csv', "1,one\n2,two\n");
my $csv2 = data_file('b.csv', "3,three\n4,four\n");

###############################################################################
# begin -> load x2 -> commit

my $r = txn('POST', 'begin', { label => 'l1', %db1 });
is($r->{Status}, 'OK', 'begin');
like($r->{TxnId}, qr/^\d+$/, 'begin TxnId');
like($r->{_raw}, qr/^\{\n    "Status": "OK",\n    "Message": "",\n    "Label": "l1",\n    "TxnId": \d+,\n    "BeginTxnTimeMs": \d+\n\}$/,
    'begin reply: key order and layout');
my $txn_id = $r->{TxnId};

$r = txn('POST', 'begin', { label => 'l1', %db1 });
is($r->{Status}, 'LABEL_ALREADY_EXISTS', 'begin twice');
like($r->{_raw}, qr/"Status".*"ExistingJobStatus".*"Message"/s,
    'label exists: key order');

$r = txn('PUT', 'load', { label => 'l1', %db1, column_separator => ',' },
    $csv1);
is($r->{Status}, 'OK', 'load 1');
is($r->{TxnId}, $txn_id, 'load 1 TxnId');
is($r->{LoadBytes}, 12, 'load 1 LoadBytes');
like($r->{_raw}, qr/"Status".*"Message".*"Label".*"TxnId".*"LoadBytes".*"StreamLoadPlanTimeMs".*"ReceivedDataTimeMs"/s,
    'load reply key order');

$r = txn('PUT', 'load', { label => 'l1', %db1, column_separator => ',' },
    $csv2);
is($r->{Status}, 'OK', 'load 2');
is(count(), 0, 'nothing visible before commit');

$r = txn('POST', 'list', {});
is($r->{Label}, 'l1', 'list: the live transaction');
is($r->{Status}, 'OK', 'list: Status');
ok(!$r->{InProcessing}, 'list: not in processing');
is($r->{NumberLoadedRows}, 4, 'list: rows so far');

$r = txn('POST', 'commit', { label => 'l1', db => 'db1' });
is($r->{Status}, 'OK', 'commit');
is($r->{NumberTotalRows}, 4, 'commit NumberTotalRows');
is($r->{NumberLoadedRows}, 4, 'commit NumberLoadedRows');
is($r->{LoadBytes}, 27, 'commit LoadBytes (total)');
like($r->{_raw}, qr/"Status".*"Message".*"Label".*"TxnId".*"NumberTotalRows".*"NumberLoadedRows".*"NumberFilteredRows".*"NumberUnselectedRows".*"LoadBytes".*"LoadTimeMs".*"StreamLoadPlanTimeMs".*"ReceivedDataTimeMs".*"WriteDataTimeMs".*"CommitAndPublishTimeMs"/s,
    'commit reply key order');
is(count(), 4, 'rows visible after commit');

$r = txn('POST', 'commit', { label => 'l1', db => 'db1' });
is($r->{Status}, 'TXN_NOT_EXISTS', 'commit again');
is($r->{Message}, 'transaction with label l1 not exists',
    'commit again: message');

$r = txn('PUT', 'load', { label => 'l1', %db1, column_separator => ',' },
    $csv1);
is($r->{Status}, 'TXN_NOT_EXISTS', 'load after commit');
is($r->{Message}, 'Transaction with label l1 not exists',
    'load after commit: message');

$r = txn('POST', 'begin', { label => 'l1', %db1 });
is($r->{Status}, 'LABEL_ALREADY_EXISTS', 'begin with a committed label');
is($r->{ExistingJobStatus}, 'FINISHED', 'committed label: FINISHED');

# the label is shared with plain stream loads
my $raw = run_cmd('curl', '-sS', '--location-trusted', '-u', 'root:', '-H',
    'label:l1', '-H', 'column_separator:,', '-T', $csv1,
    "http://127.0.0.1:$port/api/db1/t1/_stream_load");
like($raw, qr/"Status": "Label Already Exists"/,
    'stream load with a committed txn label');
like($raw, qr/"ExistingJobStatus": "FINISHED"/, 'stream load: FINISHED');

$raw = run_cmd('curl', '-sS', '-u', 'root:', '-H', 'label:sl1', '-H',
    'column_separator:,', '-T', $csv1,
    "http://127.0.0.1:$port/api/db1/t1/_stream_load");
like($raw, qr/"Status": "Success"/, 'plain stream load');
$r = txn('POST', 'begin', { label => 'sl1', %db1 });
is($r->{Status}, 'LABEL_ALREADY_EXISTS', 'begin with a stream load label');

$r = txn('POST', 'begin', { label => 'live', %db1 });
$raw = run_cmd('curl', '-sS', '-u', 'root:', '-H', 'label:live', '-H',
    'column_separator:,', '-T', $csv1,
    "http://127.0.0.1:$port/api/db1/t1/_stream_load");
like($raw, qr/"ExistingJobStatus": "RUNNING"/,
    'stream load with a live txn label: RUNNING');
is(txn('POST', 'rollback', { label => 'live', db => 'db1' })->{Status}, 'OK',
    'rollback of the live one');

###############################################################################
# rollback

is(txn('POST', 'begin', { label => 'rb', %db1 })->{Status}, 'OK',
    'rollback: begin');
is(txn('PUT', 'load', { label => 'rb', %db1, column_separator => ',' },
    data_file('c.csv', "10,ten\n"))->{Status}, 'OK', 'rollback: load');
$r = txn('POST', 'rollback', { label => 'rb', db => 'db1' });
is($r->{Status}, 'OK', 'rollback');
like($r->{_raw}, qr/^\{\n    "Status": "OK",\n    "Message": "",\n    "Label": "rb"\n\}$/,
    'rollback reply');
is(txn('POST', 'rollback', { label => 'rb', db => 'db1' })->{Status},
    'TXN_NOT_EXISTS', 'rollback again');
is(txn('POST', 'commit', { label => 'rb', db => 'db1' })->{Status},
    'TXN_NOT_EXISTS', 'commit after rollback');
is(count(), 4, 'rolled back rows never visible');
is(txn('POST', 'begin', { label => 'rb', %db1 })->{Status}, 'OK',
    'rolled back label is reusable');
is(txn('PUT', 'rollback', { label => 'rb', db => 'db1' })->{Status}, 'OK',
    'rollback with PUT');

###############################################################################
# prepare, then commit

is(txn('POST', 'begin', { label => 'p1', %db1 })->{Status}, 'OK',
    'prepare: begin');
is(txn('PUT', 'load', { label => 'p1', %db1, column_separator => ',' },
    data_file('d.csv', "20,twenty\n21,twentyone\n"))->{Status}, 'OK',
    'prepare: load');
$r = txn('POST', 'prepare', { label => 'p1', db => 'db1' });
is($r->{Status}, 'OK', 'prepare');
is($r->{NumberLoadedRows}, 2, 'prepare NumberLoadedRows');
$r = txn('PUT', 'load', { label => 'p1', %db1, column_separator => ',' },
    $csv1);
is($r->{Status}, 'INVALID_ARGUMENT', 'load after prepare fails');
is(count(), 4, 'prepared rows not visible');
$raw = run_cmd('curl', '-sS', '-u', 'root:', '-H', 'label:p1', '-H',
    'column_separator:,', '-T', $csv1,
    "http://127.0.0.1:$port/api/db1/t1/_stream_load");
like($raw, qr/"ExistingJobStatus": "PRECOMMITTED"/,
    'stream load with a prepared label: PRECOMMITTED');
is(txn('PUT', 'commit', { label => 'p1', db => 'db1' })->{Status}, 'OK',
    'commit of a prepared transaction');
is(count(), 6, 'prepared rows visible after commit');

$r = txn('POST', 'prepare', { label => 'p2', db => 'db1',
    prepared_timeout => 'x' });
is($r->{Message}, 'Invalid prepared_timeout: x', 'bad prepared_timeout');

###############################################################################
# errors

$r = txn('POST', 'begin', { label => 'm1', %db1 });
is(txn('PUT', 'load', { label => 'm1', %db1, column_separator => ',' },
    $csv1)->{Status}, 'OK', 'mismatch: load 1');
$r = txn('PUT', 'load', { label => 'm1', %db1, column_separator => '|' },
    $csv1);
is($r->{Status}, 'INTERNAL_ERROR', 'parameters differ');
is($r->{Message}, 'load request not equal last.', 'parameters differ: msg');
is(txn('POST', 'commit', { label => 'm1', db => 'db1' })->{Status},
    'TXN_NOT_EXISTS', 'a failed load aborts the transaction');

$r = txn('POST', 'begin', { label => 'm2', %db1 });
$r = txn('PUT', 'load', { label => 'm2', db => 'db2', table => 't1' },
    $csv1);
is($r->{Status}, 'INVALID_ARGUMENT', 'load: other db');
is($r->{Message}, 'Request database db2 not equal transaction database db1',
    'load: other db message');
$r = txn('PUT', 'load', { label => 'm2', db => 'db1', table => 'big' },
    $csv1);
is($r->{Message}, 'Request table big not equal transaction table t1',
    'load: other table message');
$r = txn('POST', 'commit', { label => 'm2', db => 'db9' });
is($r->{Status}, 'INVALID_ARGUMENT', 'commit: other db');
is($r->{Message}, 'request db db9 transaction db db1 not match',
    'commit: other db message');
$r = txn('POST', 'commit', { label => 'm2', db => 'db1' });
is($r->{Status}, 'INTERNAL_ERROR', 'commit without data');
like($r->{Message}, qr/^transaction .*m2.* hasn't send any data yet$/,
    'commit without data: message');
is(txn('POST', 'commit', { label => 'm2', db => 'db1' })->{Status},
    'TXN_NOT_EXISTS', 'failed commit aborted the transaction');

$r = txn('POST', 'begin', { label => 'f1', %db1 });
$r = txn('PUT', 'load', { label => 'f1', %db1, column_separator => ',' },
    data_file('bad.csv', "50,fifty\nnotanumber,x\n"));
is($r->{Status}, 'OK', 'filtered rows: the load takes them');
$r = txn('POST', 'commit', { label => 'f1', db => 'db1' });
is($r->{Message}, 'too many filtered rows', 'filtered rows: commit fails');

$r = txn('POST', 'begin', { %db1 });
is($r->{Status}, 'INVALID_ARGUMENT', 'begin without label');
is($r->{Message}, 'empty label', 'empty label message');
$r = txn('PUT', 'load', { %db1 }, $csv1);
is($r->{Status}, 'INVALID_ARGUMENT', 'load without label');
$r = txn('POST', 'xxx', { label => 'x', %db1 });
is($r->{Message}, 'unsupport transaction operation xxx', 'unknown op');
$r = txn('POST', 'load', { label => 'x', %db1 });
is($r->{Message}, 'unsupport transaction operation load', 'POST load');
$r = txn('POST', 'BEGIN', { label => 'upper', %db1, timeout => 'abc' });
is($r->{Message}, 'Invalid timeout format', 'op case-insensitive, bad timeout');
$r = txn('POST', 'begin', { label => 'x', db => 'db1', table => 'nope' });
is($r->{Status}, 'INTERNAL_ERROR', 'begin: unknown table');

$raw = run_cmd('curl', '-sS', '-X', 'POST', '-H', 'label:na', '-H', 'db:db1',
    '-H', 'table:t1', "http://127.0.0.1:$port/api/transaction/begin");
like($raw, qr/"Status": "INTERNAL_ERROR".*"Message": "no valid Basic authorization"/s,
    'begin without credentials');

###############################################################################
# in processing: a load whose body is still arriving holds the label

is(txn('POST', 'begin', { label => 'busy', %db1 })->{Status}, 'OK',
    'busy: begin');
my $slow = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
$slow->syswrite("PUT /api/transaction/load HTTP/1.1\r\nHost: localhost\r\n"
    . "Authorization: Basic cm9vdDo=\r\nlabel: busy\r\ndb: db1\r\n"
    . "table: t1\r\ncolumn_separator: ,\r\nContent-Length: 8\r\n\r\n30,");
my $busy;
wait_until(sub {
    $r = txn('POST', 'commit', { label => 'busy', db => 'db1' });
    $busy = $r;
    return $r->{Status} ne 'INTERNAL_ERROR';
}, 20, 0.1);
is($busy->{Status}, 'TXN_IN_PROCESSING', 'commit while a load runs');
is($busy->{Message}, 'Transaction is in processing', 'in processing: msg');
like($busy->{_raw}, qr/"Status".*"Label": "busy".*"Message"/s,
    'in processing: Label before Message');
$r = txn('POST', 'list', {});
ok($r->{InProcessing} && !exists $r->{Status}, 'list: in processing');
$slow->syswrite("thirty\n");
my $resp = '';
while ($slow->sysread(my $buf, 4096)) {
    $resp .= $buf;
    last if $resp =~ /\r\n\r\n.*\}/s;
}
like($resp, qr/"Status": "OK"/, 'the slow load finished');
close $slow;
is(txn('POST', 'commit', { label => 'busy', db => 'db1' })->{Status}, 'OK',
    'commit after the load');

# a rollback does not wait for a running load: the load then fails
is(txn('POST', 'begin', { label => 'ab', %db1 })->{Status}, 'OK',
    'abort: begin');
$slow = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
$slow->syswrite("PUT /api/transaction/load HTTP/1.1\r\nHost: localhost\r\n"
    . "Authorization: Basic cm9vdDo=\r\nlabel: ab\r\ndb: db1\r\n"
    . "table: t1\r\ncolumn_separator: ,\r\nContent-Length: 8\r\n\r\n31,");
ok(wait_until(sub { (list()->{ab} // {})->{InProcessing} }, 20, 0.1),
    'abort: the load runs');
is(txn('POST', 'rollback', { label => 'ab', db => 'db1' })->{Status}, 'OK',
    'abort: rollback during the load');
$slow->syswrite("thirty\n");
$resp = '';
while ($slow->sysread(my $buf, 4096)) {
    $resp .= $buf;
    last if $resp =~ /\r\n\r\n.*\}/s;
}
like($resp, qr/"Status": "ABORTED".*"Message": "current transaction is aborted"/s,
    'abort: the load is told');
close $slow;
is(txn('POST', 'commit', { label => 'ab', db => 'db1' })->{Status},
    'TXN_NOT_EXISTS', 'abort: gone');

$raw = run_cmd('curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
    '-u', 'root:', "http://127.0.0.1:$port/api/transaction/list");
is($raw, '405', 'GET is not allowed');

###############################################################################
# list with no transactions; several

$r = txn('POST', 'list', {});
is($r->{_raw}, '', 'list: empty body with no transactions');
txn('POST', 'begin', { label => "many$_", %db1 }) for 1 .. 3;
$r = txn('PUT', 'list', {});
my @objs = $json->incr_parse($r->{_raw});
$json->incr_skip if !@objs;
is(scalar(@objs), 3, 'list: one object per transaction');
is(join(',', sort map { $_->{Label} } @objs), 'many1,many2,many3',
    'list: labels');
txn('POST', 'rollback', { label => "many$_", db => 'db1' }) for 1 .. 3;

###############################################################################
# timeouts (polled, no timing asserted)

is(txn('POST', 'begin', { label => 'idle', %db1,
    idle_transaction_timeout => 1 })->{Status}, 'OK', 'idle: begin');
ok(wait_until(sub { !list()->{idle} }, 30, 0.3),
    'idle transaction aborted');
$r = txn('PUT', 'load', { label => 'idle', %db1, column_separator => ',' },
    $csv1);
is($r->{Status}, 'TXN_NOT_EXISTS', 'load after the idle timeout');
ok($t->count_log(qr/transaction is aborted by idle timeout 1 seconds\./),
    'idle timeout logged');

is(txn('POST', 'begin', { label => 'whole', %db1, timeout => 1 })->{Status},
    'OK', 'timeout: begin');
ok(wait_until(sub { !list()->{whole} }, 30, 0.3),
    'timed out transaction aborted');
ok($t->count_log(qr/transaction is aborted by timeout 1 seconds\./),
    'timeout logged');
is(txn('POST', 'begin', { label => 'whole', %db1 })->{Status}, 'OK',
    'timed out label is reusable');
txn('POST', 'rollback', { label => 'whole', db => 'db1' });

###############################################################################
# across workers: every step on a new connection, spread by reuseport

my @workers = $t->worker_pids();
ok(@workers >= 2, 'two workers');
my @ns;
$r = txn('POST', 'begin', { label => 'xw', %db1 });
push @ns, $r->{_n};
for my $i (1 .. 12) {
    $r = txn('PUT', 'load', { label => 'xw', %db1, column_separator => ',' },
        data_file("xw$i.csv", (100 + $i) . ",w$i\n"));
    push @ns, $r->{_n};
    last if $r->{Status} ne 'OK';
}
is($r->{Status}, 'OK', 'cross-worker loads');
$r = txn('POST', 'commit', { label => 'xw', db => 'db1' });
push @ns, $r->{_n};
is($r->{NumberLoadedRows}, 12, 'cross-worker commit has every load');
my %pid_of = map { /^(\d+) \S*n=(\d+)/ ? ($2 => $1) : () }
    split /\n/, $t->read_file('pids.log');
my %pids = map { ($pid_of{$_} // 0) => 1 } @ns;
ok(keys %pids >= 2, 'one transaction was served by several workers')
    or diag('pids: ' . join(',', keys %pids));

###############################################################################
# metrics

$raw = run_cmd('curl', '-sS', "http://127.0.0.1:$port/metrics");
like($raw, qr/^\S*transaction_streaming_load_requests_total\S* [1-9]/m,
    'metric: transaction_streaming_load_requests_total');
like($raw, qr/^\S*transaction_streaming_load_bytes\S* [1-9]/m,
    'metric: transaction_streaming_load_bytes');
like($raw, qr/^\S*txn_request\{type="exec"\} [1-9]/m,
    'metric: txn_request exec');
like($raw, qr/^\S*txn_request\{type="commit"\} [1-9]/m,
    'metric: txn_request commit');

###############################################################################
# crash after loads, before commit: the staged data survives, unseen

sub kill_group {
    my $master = $t->master_pid();
    my @kids;
    opendir my $dh, '/proc' or die;
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$pid/stat" or next;
        my $stat = <$fh> // '';
        close $fh;
        push @kids, $pid if $stat =~ /^\d+ \(.*\) \S (\d+)/ && $1 == $master;
    }
    # stopped first, so no process sees another die and reacts
    kill 'STOP', $master, @kids;
    kill 'KILL', $master, @kids;
    wait_until(sub { !grep { kill 0, $_ } $master, @kids }, 10);
    $t->{_running} = 0;
    waitpid($t->{_child}, 0) if $t->{_child};
}

my $before = count();
is(txn('POST', 'begin', { label => 'crash1', %db1 })->{Status}, 'OK',
    'crash: begin');
is(txn('PUT', 'load', { label => 'crash1', %db1, column_separator => ',' },
    data_file('e.csv', "40,forty\n41,fortyone\n"))->{Status}, 'OK',
    'crash: load');
kill_group();
$t->run();
is(count(), $before, 'after the crash: staged rows not visible');
ok(list()->{crash1}, 'after the crash: the transaction is alive');
is(txn('PUT', 'load', { label => 'crash1', %db1, column_separator => ',' },
    data_file('f.csv', "42,fortytwo\n"))->{Status}, 'OK',
    'after the crash: loadable');
$r = txn('POST', 'commit', { label => 'crash1', db => 'db1' });
is($r->{NumberLoadedRows}, 3, 'after the crash: commit has all loads');
is(count(), $before + 3, 'after the crash: committed rows visible');

###############################################################################
# crash during a commit: all or nothing

my $rows = 200000;
my $big = data_file('big.csv', join('', map { "$_,v$_\n" } 1 .. $rows));
is(txn('POST', 'begin', { label => 'crash2', db => 'db1',
    table => 'big' })->{Status}, 'OK', 'commit crash: begin');
is(txn('PUT', 'load', { label => 'crash2', db => 'db1', table => 'big',
    column_separator => ',' }, $big)->{Status}, 'OK', 'commit crash: load');

my $pid = fork() // die;
if ($pid == 0) {
    exec('curl', '-s', '-o', '/dev/null', '-u', 'root:', '-X', 'POST',
        '-H', 'label:crash2', '-H', 'db:db1',
        "http://127.0.0.1:$port/api/transaction/commit");
    exit 1;
}
# the commit is running once its storage transaction holds locks; a
# little later is as good: any moment of the commit must be safe
sleep 0.3;
kill_group();
waitpid($pid, 0);
$t->run();
my $n = count('big');
ok($n == 0 || $n == $rows, "after a crash in commit: all or nothing ($n)");
$r = txn('POST', 'commit', { label => 'crash2', db => 'db1' });
if ($n == 0) {
    is($r->{Status}, 'OK', 'uncommitted: the transaction commits now');
} else {
    is($r->{Status}, 'TXN_NOT_EXISTS', 'committed: nothing left to commit');
}
is(count('big'), $rows, 'every row once');

###############################################################################
