#!/usr/bin/perl

# Tests for Expect: 100-continue: "100 Continue" only when a handler reads
# the body, a final answer without 100 (and a closed connection) when it
# does not, 417 for other expectations, and curl as a real client.

use warnings;
use strict;

use Test::More;
use IO::Select;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_dav/)->plan(12);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /up/ {
            root %%TESTDIR%%/html;
            dav_methods PUT;
            client_max_body_size 10m;
        }

        location /small/ {
            root %%TESTDIR%%/html;
            dav_methods PUT;
            client_max_body_size 10;
        }

        location /denied {
            return 403;
        }
    }
}

EOF

mkdir($t->testdir() . '/html');
mkdir($t->testdir() . "/html/$_") for qw/up small/;

$t->run();

###############################################################################

my $d = $t->testdir();

# the interim response comes before the body is sent

my $s = http_start("PUT /up/e.txt HTTP/1.1\r\nHost: localhost\r\n"
    . "Expect: 100-continue\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
my ($interim) = read_response($s);
like($interim, qr!^HTTP/1\.1 100 Continue\r\n\r\n$!, '100 Continue sent');
$s->syswrite('hello');
my $r = http_end($s);
like($r, qr!^HTTP/1\.1 201 !, 'final answer after the body');
is($t->read_file('html/up/e.txt'), 'hello', 'body stored');

# answered without reading: no 100, the connection closes

$s = http_start("POST /denied HTTP/1.1\r\nHost: localhost\r\n"
    . "Expect: 100-continue\r\nContent-Length: 5\r\n\r\n");
$r = http_end($s);
like($r, qr!^HTTP/1\.1 403 !, 'early answer: final status');
unlike($r, qr!100 Continue!, 'early answer: no 100 Continue');
like($r, qr!^Connection: close\r$!m, 'early answer: connection closes');

# 413 by Content-Length: no 100 either

$s = http_start("PUT /small/x.txt HTTP/1.1\r\nHost: localhost\r\n"
    . "Expect: 100-continue\r\nContent-Length: 50\r\n\r\n");
$r = http_end($s);
like($r, qr!^HTTP/1\.1 413 !, 'too large: 413');
unlike($r, qr!100 Continue!, 'too large: no 100 Continue');

# other expectations

like(http("PUT /up/y.txt HTTP/1.1\r\nHost: localhost\r\n"
    . "Expect: something-else\r\nContent-Length: 1\r\n\r\nx"),
    qr!^HTTP/1\.1 417 !, 'unknown expectation: 417');

# curl sends Expect: 100-continue itself for large uploads

SKIP: {
    skip 'no curl', 3 unless `curl --version 2>/dev/null` =~ /^curl/;

    my $big = 'z' x (2 * 1024 * 1024 + 17);
    $t->write_file('upload.bin', $big);

    my $port = port(8080);
    my $out = `curl -sv -o /dev/null -w '%{http_code}' -H 'Expect: 100-continue' -T $d/upload.bin http://127.0.0.1:$port/up/curl.bin 2>&1`;

    like($out, qr/< HTTP\/1\.1 100 Continue/, 'curl: got 100 Continue');
    like($out, qr/201$/, 'curl: 201');
    ok($t->read_file('html/up/curl.bin') eq $big, 'curl: bytes equal');
}

###############################################################################
