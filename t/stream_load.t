#!/usr/bin/perl

# Tests for Stream Load (PUT /api/{db}/{table}/_stream_load) with curl,
# exactly as StarRocks users run it: the reply (fields, order, layout,
# HTTP 200), reading the rows back, labels, filtered rows with
# max_filter_ratio and the ErrorURL, where and columns, every invalid
# header value with its message, the early reply without 100 Continue,
# body size limits, the timeout header, auth (200 and 401 modes) and the
# metrics.

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
plan(skip_all => 'no openssl') unless `openssl version 2>/dev/null` =~ /SSL/;

my $t = Test::Divehttpd->new()->has(qw/http http_stream_load http_table/)
    ->plan(99);
my $d = $t->testdir();

my $hash = `openssl passwd -6 -salt abcdefgh secret`;
chomp $hash;
$t->write_file('htpasswd', "loader:$hash\n");

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

storage %%TESTDIR%%/data;

table db1.t1 {
    column id int;
    column name varchar(16);
    column score int null;
    key id;
}

table db1.log {
    column ts datetime;
    column msg string;
}

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    stream_load_error_log_dir %%TESTDIR%%/errors;

    server {
        listen 127.0.0.1:8080;
        server_name localhost;

        location /api/ {
            stream_load;
            client_max_body_size 1m;
            stream_load_json_max_size 200;
        }

        location /auth/api/ {
            stream_load;
            stream_load_auth_basic "loads";
            stream_load_auth_basic_user_file htpasswd;
        }

        location /auth401/api/ {
            stream_load;
            stream_load_auth_basic "loads";
            stream_load_auth_basic_user_file htpasswd;
            stream_load_auth_status 401;
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

sub data_file {
    my ($name, $content) = @_;
    $t->write_file($name, $content);
    return "$d/$name";
}

# curl as in the StarRocks docs; returns the decoded reply with the raw
# text in _raw and the response head in _head
sub load {
    my ($file, $headers, %opt) = @_;
    my $user = $opt{user} // 'root:';
    my $path = $opt{path} // '/api/db1/t1/_stream_load';
    my @cmd = ('curl', '-sS', '--max-time', '30', '--location-trusted',
        '-D', "$d/head.txt");
    push @cmd, '-u', $user if length $user;
    push @cmd, '-H', "$_:$headers->{$_}" for sort keys %$headers;
    push @cmd, @{$opt{extra}} if $opt{extra};
    push @cmd, '-T', $file if defined $file;
    push @cmd, "$base$path";
    my $raw = run_cmd(@cmd);
    my $r = eval { $json->decode($raw) } || { raw => $raw };
    $r->{_raw} = $raw;
    $r->{_head} = $t->read_file('head.txt');
    return $r;
}

sub count {
    my ($table) = @_;
    my $raw = run_cmd('curl', '-sS',
        "$base/tables/db1/" . ($table // 't1') . "/_count");
    return $raw =~ /"count"\s*:\s*(\d+)/ ? $1 : "?$raw";
}

sub scan_csv {
    return run_cmd('curl', '-sS', "$base/tables/db1/t1/_scan?format=csv");
}

my $csv = data_file('a.csv', "1,one,10\n2,two,20\n3,three,30\n");

###############################################################################
# a load, the reply, the rows

my $r = load($csv, { label => 'l1', column_separator => ',' });
is($r->{Status}, 'Success', 'load: Success');
is($r->{Message}, 'OK', 'load: Message');
is($r->{Label}, 'l1', 'load: Label');
like($r->{TxnId}, qr/^[1-9]\d*$/, 'load: TxnId');
is($r->{NumberTotalRows}, 3, 'load: NumberTotalRows');
is($r->{NumberLoadedRows}, 3, 'load: NumberLoadedRows');
is($r->{NumberFilteredRows}, 0, 'load: NumberFilteredRows');
is($r->{NumberUnselectedRows}, 0, 'load: NumberUnselectedRows');
is($r->{LoadBytes}, 29, 'load: LoadBytes');
ok(!exists $r->{ErrorURL}, 'load: no ErrorURL');
ok(!exists $r->{ExistingJobStatus}, 'load: no ExistingJobStatus');
like($r->{_raw}, qr/^\{\n    "TxnId": \d+,\n    "Label": "l1",\n    "Status": "Success",\n    "Message": "OK",\n    "NumberTotalRows": 3,\n    "NumberLoadedRows": 3,\n    "NumberFilteredRows": 0,\n    "NumberUnselectedRows": 0,\n    "LoadBytes": 29,\n    "LoadTimeMs": \d+,\n    "BeginTxnTimeMs": \d+,\n    "StreamLoadPlanTimeMs": \d+,\n    "ReadDataTimeMs": \d+,\n    "WriteDataTimeMs": \d+,\n    "CommitAndPublishTimeMs": \d+\n\}$/,
    'load: fields, order and layout');
like($r->{_head}, qr/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/,
    'load: 100 Continue, then 200');
like($r->{_head}, qr/Content-Type: application\/json\r\n/i,
    'load: Content-Type');
is(count(), 3, 'rows visible');
like(scan_csv(), qr/^id,name,score\n1,one,10\n2,two,20\n3,three,30\n$/,
    'rows read back');
my $txn1 = $r->{TxnId};

# the same label again: nothing loaded twice
$r = load($csv, { label => 'l1', column_separator => ',' });
is($r->{Status}, 'Label Already Exists', 'label again: status');
is($r->{ExistingJobStatus}, 'FINISHED', 'label again: ExistingJobStatus');
like($r->{_raw}, qr/"Status": "Label Already Exists",\n    "ExistingJobStatus": "FINISHED",\n    "Message": /,
    'label again: ExistingJobStatus right after Status');
unlike($r->{_head}, qr/100 Continue/, 'label again: no 100 Continue');
is(count(), 3, 'label again: nothing loaded');

# no label: a UUID; TxnIds grow
$r = load(data_file('b.csv', "4,four,40\n"), { column_separator => ',' });
is($r->{Status}, 'Success', 'no label: Success');
like($r->{Label}, qr/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    'no label: a v4 UUID');
ok($r->{TxnId} > $txn1, 'TxnId grows');
is(count(), 4, 'no label: loaded');

# an upsert by key
$r = load(data_file('c.csv', "4,FOUR,44\n"), { label => 'l2',
    column_separator => ',' });
is($r->{NumberLoadedRows}, 1, 'upsert: loaded');
like(scan_csv(), qr/\n4,FOUR,44\n$/, 'upsert: the last row wins');
is(count(), 4, 'upsert: same count');

# an empty body
$r = load(data_file('empty.csv', ''), { label => 'empty' });
is($r->{Status}, 'Success', 'empty body: Success');
is($r->{NumberTotalRows}, 0, 'empty body: no rows');

###############################################################################
# filtered rows, max_filter_ratio, ErrorURL

my $bad = data_file('bad.csv', "5,five,50\nsix,six,60\n7,seven\n8,eight,80\n");
$r = load($bad, { label => 'f1', column_separator => ',' });
is($r->{Status}, 'Fail', 'filtered: Fail');
is($r->{Message}, 'too many filtered rows', 'filtered: message');
is($r->{NumberTotalRows}, 4, 'filtered: total');
is($r->{NumberFilteredRows}, 2, 'filtered: filtered');
like($r->{ErrorURL},
    qr{^http://127\.0\.0\.1:$port/api/_load_error_log\?file=[\w.-]+$},
    'filtered: ErrorURL');
like($r->{_raw}, qr/"CommitAndPublishTimeMs": \d+,\n    "ErrorURL": /,
    'filtered: ErrorURL last');
is(count(), 4, 'filtered: nothing written');

my $log = run_cmd('curl', '-sS', $r->{ErrorURL});
like($log, qr/^Error: .+\. Row: six,six,60$/m, 'error log: bad value');
like($log, qr/^Error: .+\. Row: 7,seven$/m, 'error log: column count');

# the failed label is free again; within the ratio the load succeeds
$r = load($bad, { label => 'f1', column_separator => ',',
    max_filter_ratio => '0.5' });
is($r->{Status}, 'Success', 'ratio 0.5: Success');
is($r->{NumberLoadedRows}, 2, 'ratio 0.5: loaded');
is($r->{NumberFilteredRows}, 2, 'ratio 0.5: filtered');
ok($r->{ErrorURL}, 'ratio 0.5: ErrorURL on success too');
is(count(), 6, 'ratio 0.5: good rows written');

# the error log endpoint takes no paths
like(run_cmd('curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
    "$base/api/_load_error_log?file=../divehttpd.conf"), qr/^404$/,
    'error log: no path traversal');
like(run_cmd('curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
    "$base/api/_load_error_log?file=nope"), qr/^404$/,
    'error log: unknown file');

###############################################################################
# where, columns

$r = load(data_file('w.csv', "10,a,1\n11,b,2\n12,c,3\n"), { label => 'w1',
    column_separator => ',', where => 'score > 1' });
is($r->{NumberTotalRows}, 3, 'where: total');
is($r->{NumberUnselectedRows}, 1, 'where: unselected');
is($r->{NumberLoadedRows}, 2, 'where: loaded');

$r = load(data_file('col.csv', "x|20|name20|99\n"), { label => 'c1',
    column_separator => '|', columns => 'skip,id,name,score' });
is($r->{NumberLoadedRows}, 1, 'columns: skip a source column');
like(scan_csv(), qr/^20,name20,99$/m, 'columns: reordered and skipped');

$r = load(data_file('col2.csv', "name21\t21\n"), { label => 'c2',
    columns => 'name,id' });
is($r->{NumberLoadedRows}, 1, 'columns: nullable column left out');
like(scan_csv(), qr/^21,name21,\\N$/m, 'columns: null for the missing one');

$r = load($csv, { label => 'c3', column_separator => ',',
    where => 'nosuch > 1' });
is($r->{Status}, 'Fail', 'where: unknown column');
like($r->{Message}, qr/nosuch/, 'where: the message names it');

###############################################################################
# bad requests, answered before the body

$r = load($csv, { label => 'x' }, path => '/api/db1/nope/_stream_load');
is($r->{Message}, "Unknown table 'db1.nope'", 'unknown table');
is($r->{Status}, 'Fail', 'unknown table: Fail');
unlike($r->{_head}, qr/100 Continue/, 'unknown table: no 100 Continue');
like($r->{_head}, qr/^HTTP\/1\.1 200 /, 'unknown table: HTTP 200');

$r = load($csv, { label => 'x' }, user => '');
is($r->{Message}, 'no valid Basic authorization', 'no auth: message');
is($r->{TxnId}, -1, 'no auth: TxnId -1');

my @bad = (
    [ { format => 'xml' }, 'unknown data format, format=xml' ],
    [ { timeout => 'abc' }, 'Invalid timeout format' ],
    [ { skip_header => '-1' }, 'skip_header must be equal or greater than 0' ],
    [ { skip_header => 'x' }, 'Invalid csv load skip_header format' ],
    [ { trim_space => 'yes' }, 'Invalid trim space format. Must be bool type' ],
    [ { strict_mode => 'maybe' },
        'Invalid strict mode format. Must be bool type' ],
    [ { load_mem_limit => '-5' },
        'load_mem_limit must be equal or greater than 0' ],
    [ { load_mem_limit => 'x' }, 'Invalid load mem limit format' ],
    [ { exec_mem_limit => '0' }, 'exec_mem_limit must be greater than 0' ],
    [ { load_dop => 'x' }, 'Invalid load_dop format' ],
    [ { log_rejected_record_num => '-2' },
        'log_rejected_record_num must be equal or greater than -1' ],
    [ { log_rejected_record_num => 'x' },
        'Invalid log_rejected_record_num format' ],
    [ { partial_update => 'x' },
        'Invalid partial update flag format. Must be bool type' ],
    [ { compression => 'gzip', 'Content-Encoding' => 'gzip' },
        'Only one of http header content-encoding and compression can be set' ],
    [ { partitions => 'p1', temporary_partitions => 'p2' },
        'Can not specify both partitions and temporary partitions' ],
    [ { enable_merge_commit => 'abc' },
        'Invalid parameter enable_merge_commit. The value must be bool type, '
        . 'but is abc' ],
);

for my $case (@bad) {
    my ($h, $msg) = @$case;
    $r = load($csv, { label => 'bad', %$h });
    is($r->{Message}, $msg, "bad header: $msg");
}

is(count(), 10, 'bad headers: nothing loaded');

# the reply goes out before the body and without 100 Continue: the client
# never sends the body
{
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die $!;
    print $s "PUT /api/db1/t1/_stream_load HTTP/1.1\r\nHost: localhost\r\n"
        . "Authorization: Basic cm9vdDo=\r\nformat: xml\r\n"
        . "Expect: 100-continue\r\nContent-Length: 100000\r\n\r\n";
    local $/;
    my $resp = <$s> // '';
    like($resp, qr/^HTTP\/1\.1 200 OK\r\n.*"Message": "unknown data format, format=xml"/s,
        'early reply: 200 with the message, no 100');
}

# over client_max_body_size: StarRocks' message
$r = load(data_file('big.csv', "9,x,1\n" x 200000), { label => 'big' });
like($r->{Message}, qr/^body size 1200000 exceed limit: 1048576, /,
    'body size over the limit');

# JSON over stream_load_json_max_size unless ignore_json_size
my $js = data_file('j.json', '[' . join(',', map { qq({"id":$_,"name":"n$_"}) }
    30 .. 39) . ']');
$r = load($js, { label => 'js1', format => 'json',
    strip_outer_array => 'true' });
like($r->{Message}, qr/^The size of this batch exceed the max size \[200\]  of json type data  data \[ \d+ \]\. Set ignore_json_size to skip the check/,
    'json size check');
$r = load($js, { label => 'js1', format => 'json', strip_outer_array => 'true',
    ignore_json_size => 'true' });
is($r->{NumberLoadedRows}, 10, 'json size check skipped with ignore_json_size');

# other methods on the path: 404, as on a StarRocks BE
like(run_cmd('curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
    "$base/api/db1/t1/_stream_load"), qr/^404$/, 'GET: 404');

###############################################################################
# the timeout header

{
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die $!;
    print $s "PUT /api/db1/t1/_stream_load HTTP/1.1\r\nHost: localhost\r\n"
        . "Authorization: Basic cm9vdDo=\r\nlabel: slow\r\ntimeout: 1\r\n"
        . "column_separator: ,\r\nContent-Length: 20\r\n\r\n100,a,1\n";
    select undef, undef, undef, 2.5;
    print $s "101,b,2\n1234";
    local $/;
    my $resp = <$s> // '';
    like($resp, qr/"Status": "Fail".*"Message": "load timeout/s,
        'timeout: the load is cancelled');
}
$r = load(data_file('slow.csv', "100,a,1\n"), { label => 'slow',
    column_separator => ',' });
is($r->{Status}, 'Success', 'timeout: the label is free again');

###############################################################################
# auth

$r = load($csv, { label => 'a1', column_separator => ',' },
    path => '/auth/api/db1/t1/_stream_load', user => 'loader:wrong');
is($r->{Message}, "Access denied for user 'loader'", 'wrong password');
like($r->{_head}, qr/^HTTP\/1\.1 200 /, 'wrong password: 200');
unlike($r->{_head}, qr/WWW-Authenticate/i, 'wrong password: no challenge');

$r = load($csv, { label => 'a1', column_separator => ',' },
    path => '/auth/api/db1/t1/_stream_load', user => '');
is($r->{Message}, 'no valid Basic authorization', 'auth: no credentials');

$r = load(data_file('a1.csv', "50,auth,1\n"), { label => 'a1',
    column_separator => ',' }, path => '/auth/api/db1/t1/_stream_load',
    user => 'loader:secret');
is($r->{Status}, 'Success', 'right password: loaded');

$r = load($csv, { label => 'a2' }, path => '/auth401/api/db1/t1/_stream_load',
    user => 'loader:wrong');
like($r->{_head}, qr/^HTTP\/1\.1 401 /, 'auth 401: status');
like($r->{_head}, qr/WWW-Authenticate: Basic realm="loads"/i,
    'auth 401: challenge');
is($r->{Status}, 'Fail', 'auth 401: the JSON reply');

$r = load($csv, { label => 'a2' }, path => '/auth401/api/db1/t1/_stream_load',
    user => '');
like($r->{_head}, qr/^HTTP\/1\.1 401 /, 'auth 401: no credentials');

###############################################################################
# metrics

my $m = run_cmd('curl', '-sS', "$base/metrics");
like($m, qr/^divehttpd_streaming_load_requests_total [1-9]\d*$/m,
    'metrics: requests');
like($m, qr/^divehttpd_streaming_load_bytes [1-9]\d*$/m, 'metrics: bytes');
like($m, qr/^divehttpd_load_rows [1-9]\d*$/m, 'metrics: load_rows');
like($m, qr/^divehttpd_stream_load\{type="load_rows"\} [1-9]\d*$/m,
    'metrics: stream_load{type="load_rows"}');
like($m, qr/^divehttpd_streaming_load_current_processing 0$/m,
    'metrics: nothing in progress');

###############################################################################
