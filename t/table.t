#!/usr/bin/perl

# Tests for table_api: _schema, _count and _scan (json and csv, limit and
# offset, key order and append order, typed json values, csv quoting,
# nulls), the errors (404 unknown table or operation, 400 bad arguments,
# 405 other methods), auth_basic on the location, and a scan of more rows
# than one batch read by a slow client.  Rows are loaded with Stream Load
# through curl, as a user would.

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
plan(skip_all => 'no openssl') unless `openssl version 2>/dev/null` =~ /SSL/;

my $t = Test::Divehttpd->new()
    ->has(qw/http http_table http_stream_load http_auth_basic/)
    ->log_level('notice')->plan(36);
my $d = $t->testdir();

my $hash = `openssl passwd -6 -salt abcdefgh secret`;
chomp $hash;
$t->write_file('htpasswd', "reader:$hash\n");

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

storage %%TESTDIR%%/data;

table db1.k {
    column id bigint;
    column name varchar(32) null;
    column amount decimal(10,2);
    column ok boolean;
    column day date null;
    column doc json null;
    key id;
}

table db1.a {
    column n int;
    column s string null;
}

table db1.big {
    column id int;
    column pad varchar(64);
    key id;
}

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen 127.0.0.1:8080;
        server_name localhost;

        location /api/ {
            stream_load;
        }

        location /tables/ {
            table_api;
        }

        location /private/ {
            table_api;
            auth_basic "tables";
            auth_basic_user_file htpasswd;
        }
    }
}

EOF

$t->run();

my $port = port(8080);
my $base = "http://127.0.0.1:$port";
my $json = JSON::PP->new->canonical;

###############################################################################

# keyed table: rows out of order, one key twice (the last one wins)
$t->write_file('k.csv', join('', map { "$_\n" }
    '3|c|3.10|true|2024-02-29|{"x":[1,2]}',
    '-5|minus, "quoted"|-0.50|0|\N|\N',
    '10|ten|10|1|2000-01-01|"s"',
    '3|c2|3.25|false|\N|null',
));
like(load('k', 'k.csv', 'column_separator:|'), qr/"Status":\s*"Success"/,
    'rows loaded into the keyed table');

my $r = get('/tables/db1/k/_schema');
like($r, qr!^HTTP/1\.1 200 !, 'schema 200');
my $s = eval { $json->decode(body($r)) } || {};
is(join(',', map { "$_->{name}:$_->{type}" } @{$s->{columns} || []}),
    'id:bigint,name:varchar(32),amount:decimal(10,2),ok:boolean,day:date,'
    . 'doc:json', 'schema columns and types');
is(join(',', @{$s->{key} || []}), 'id', 'schema key');
ok($s->{columns} && !$s->{columns}[0]{nullable} && $s->{columns}[1]{nullable},
    'schema nullability');

is(body(get('/tables/db1/k/_count')), '{"count":3}', 'count after upsert');

$r = get('/tables/db1/k/_scan');
like($r, qr!^Content-Type: application/json!m, 'scan json type');
is(body($r),
    '[{"id":-5,"name":"minus, \"quoted\"","amount":-0.50,"ok":false,'
    . '"day":null,"doc":null},'
    . '{"id":3,"name":"c2","amount":3.25,"ok":false,"day":null,'
    . '"doc":null},'
    . '{"id":10,"name":"ten","amount":10.00,"ok":true,"day":"2000-01-01",'
    . '"doc":"s"}]',
    'scan json: key order, typed values, upsert');
my $rows = eval { JSON::PP->new->decode(body($r)) };
is(ref $rows, 'ARRAY', 'scan json parses');

$r = get('/tables/db1/k/_scan?format=csv');
like($r, qr!^Content-Type: text/csv!m, 'scan csv type');
is(body($r), "id,name,amount,ok,day,doc\n"
    . "-5,\"minus, \"\"quoted\"\"\",-0.50,false,\\N,\\N\n"
    . "3,c2,3.25,false,\\N,null\n"
    . "10,ten,10.00,true,2000-01-01,\"\"\"s\"\"\"\n",
    'scan csv: header, RFC 4180 quoting, nulls');

is(body(get('/tables/db1/k/_scan?limit=1&offset=1&format=csv')),
    "id,name,amount,ok,day,doc\n3,c2,3.25,false,\\N,null\n",
    'limit and offset');
is(body(get('/tables/db1/k/_scan?limit=0')), '[]', 'limit 0');
is(body(get('/tables/db1/k/_scan?offset=99')), '[]', 'offset past the end');

# append table: load order, duplicates kept
$t->write_file('a1.csv', "2,b\n1,a\n");
$t->write_file('a2.csv', "2,b\n3,\\N\n");
load('a', 'a1.csv', 'column_separator:,');
load('a', 'a2.csv', 'column_separator:,');
is(body(get('/tables/db1/a/_count')), '{"count":4}', 'append count');
is(body(get('/tables/db1/a/_scan?format=csv')), "n,s\n2,b\n1,a\n2,b\n3,\\N\n",
    'append table in load order');
like(body(get('/tables/db1/a/_schema')), qr/"key":\[\],"append":true/,
    'append table schema');

# errors
$r = get('/tables/db1/nope/_scan');
like($r, qr!^HTTP/1\.1 404 !, 'unknown table 404');
like(body($r), qr/^\{"status":404,"message":"unknown table/, 'json error');
like(get('/tables/nodb/k/_count'), qr!^HTTP/1\.1 404 !, 'unknown db 404');
like(get('/tables/db1/k/_drop'), qr!^HTTP/1\.1 404 !, 'unknown op 404');
like(get('/tables/k'), qr!^HTTP/1\.1 404 !, 'short path 404');
like(get('/tables/db1/k/_scan?limit=-1'), qr!^HTTP/1\.1 400 !,
    'negative limit 400');
like(get('/tables/db1/k/_scan?offset=x'), qr!^HTTP/1\.1 400 !,
    'bad offset 400');
like(get('/tables/db1/k/_scan?format=xml'), qr!^HTTP/1\.1 400 !,
    'bad format 400');
like(http("DELETE /tables/db1/k/_scan HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n"), qr!^HTTP/1\.1 405 !, 'DELETE 405');
like(http_head('/tables/db1/k/_count'), qr!^HTTP/1\.1 200 !, 'HEAD 200');

# auth_basic applies
like(run_cmd('curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}',
    "$base/private/db1/k/_count"), qr/^401/, 'no credentials 401');
is(run_cmd('curl', '-sS', '-u', 'reader:secret',
    "$base/private/db1/k/_count"), '{"count":3}', 'with credentials');

# more rows than a batch, read by a slow client: everything arrives once,
# in order
my $n = 2500;
$t->write_file('big.csv', join('', map { "$_," . ('p' x 60) . "\n" }
    reverse 1 .. $n));
like(load('big', 'big.csv', 'column_separator:,'),
    qr/"NumberLoadedRows":\s*$n/, "$n rows loaded");
is(body(get('/tables/db1/big/_count')), qq({"count":$n}), 'big count');

my $csv = slow_get('/tables/db1/big/_scan?format=csv');
my @lines = split /\n/, $csv;
is(scalar @lines, $n + 1, 'slow client: every row once');
is(join(',', map { (split /,/)[0] } @lines[1 .. 3, -1]), "1,2,3,$n",
    'slow client: key order across batches');

$rows = eval { JSON::PP->new->decode(body(get('/tables/db1/big/_scan'))) };
is(scalar @{$rows || []}, $n, 'json scan across batches parses');
$rows = eval { JSON::PP->new->decode(body(
    get('/tables/db1/big/_scan?offset=1500&limit=1200'))) };
is(scalar @{$rows || []}, 1000, 'offset and limit across batches');

# a client that goes away in the middle of a scan
my $sock = IO::Socket::INET->new("127.0.0.1:$port") or die "$!";
$sock->syswrite("GET /tables/db1/big/_scan HTTP/1.1\r\nHost: localhost\r\n"
    . "\r\n");
my $part;
$sock->sysread($part, 100);
close $sock;
sleep 0.3;
is(body(get('/tables/db1/k/_count')), '{"count":3}',
    'server fine after a client left a scan');

###############################################################################

sub run_cmd {
    my (@cmd) = @_;
    open my $fh, '-|', @cmd or die "Can't run $cmd[0]: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub load {
    my ($table, $file, @headers) = @_;
    return run_cmd('curl', '-sS', '--max-time', '30', '--location-trusted',
        '-u', 'root:', (map { ('-H', $_) } @headers),
        '-T', "$d/$file", "$base/api/db1/$table/_stream_load");
}

sub get {
    my ($uri) = @_;
    return http("GET $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n");
}

# HTTP/1.1 responses here are chunked: the decoded body
sub body {
    my ($r) = @_;
    return undef unless defined $r;
    my ($head, $b) = split /\r\n\r\n/, $r, 2;
    return $b unless $head =~ /^Transfer-Encoding: chunked/mi;
    my $out = '';
    while ($b =~ s/^([0-9a-fA-F]+)\r\n//) {
        my $len = hex $1;
        last if $len == 0;
        $out .= substr($b, 0, $len, '');
        $b =~ s/^\r\n//;
    }
    return $out;
}

# reads 4 KiB at a time with pauses: the server has to wait for it
sub slow_get {
    my ($uri) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "$!";
    setsockopt($s, Socket::SOL_SOCKET(), Socket::SO_RCVBUF(), 4096);
    $s->syswrite("GET $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n");
    my ($all, $buf, $i) = ('', '', 0);
    while ($s->sysread($buf, 4096)) {
        $all .= $buf;
        sleep 0.002 if $i++ < 50;
    }
    return body($all);
}

###############################################################################
