#!/usr/bin/perl

# Tests for request bodies: Content-Length and chunked (with trailers)
# read through dav PUT, spilling to the temporary file, client_max_body_size,
# client_body_timeout, broken chunked framing, and discarding a body on a
# keep-alive connection.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_dav/)->plan(28);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    client_body_temp_path %%TESTDIR%%/tmp_body;

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
            client_max_body_size 1k;
        }

        location /slow/ {
            root %%TESTDIR%%/html;
            dav_methods PUT;
            client_body_timeout 1s;
        }

        location /tiny/ {
            root %%TESTDIR%%/html;
            dav_methods PUT;
            client_body_buffer_size 8;
        }

        location /r {
            return 200 "ok";
        }
    }
}

EOF

mkdir($t->testdir() . '/html');
mkdir($t->testdir() . "/html/$_") for qw/up small slow tiny/;

$t->run();

###############################################################################

my $d = $t->testdir();

ok(-d "$d/tmp_body", 'client_body_temp_path created at startup');

sub put_raw {
    my ($uri, $head, $body) = @_;
    return http("PUT $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . $head . "\r\n" . $body);
}

sub chunked {
    my ($data, $size, $trailer) = @_;
    my $out = '';
    while (length $data) {
        my $piece = substr($data, 0, $size, '');
        $out .= sprintf("%x\r\n%s\r\n", length $piece, $piece);
    }
    return $out . "0\r\n" . ($trailer // '') . "\r\n";
}

# Content-Length

my $r = put_raw('/up/cl.txt', "Content-Length: 5\r\n", 'hello');
like($r, qr!^HTTP/1\.1 201 !, 'Content-Length body: 201');
is($t->read_file('html/up/cl.txt'), 'hello', 'Content-Length body: stored');

# chunked, one and many chunks, with trailers and extensions

$r = put_raw('/up/ch.txt', "Transfer-Encoding: chunked\r\n",
    chunked('chunked body data', 4));
like($r, qr!^HTTP/1\.1 201 !, 'chunked body: 201');
is($t->read_file('html/up/ch.txt'), 'chunked body data', 'chunked: stored');

$r = put_raw('/up/tr.txt', "Transfer-Encoding: chunked\r\n",
    "5;ext=1\r\nabcde\r\n3\r\nfgh\r\n0\r\nX-Checksum: 42\r\nX-More: y\r\n\r\n");
like($r, qr!^HTTP/1\.1 201 !, 'chunked with trailers: 201');
is($t->read_file('html/up/tr.txt'), 'abcdefgh', 'chunked with trailers: body');

# larger than client_body_buffer_size: goes through the temporary file

my $big = join '', map { chr(($_ * 7 + ($_ >> 8)) % 256) } 0 .. 300_000;
$r = put_raw('/up/big.bin', "Content-Length: " . length($big) . "\r\n", $big);
like($r, qr!^HTTP/1\.1 201 !, 'large body: 201');
ok($t->read_file('html/up/big.bin') eq $big, 'large body: bytes equal');

$r = put_raw('/up/bigch.bin', "Transfer-Encoding: chunked\r\n",
    chunked($big, 7000));
like($r, qr!^HTTP/1\.1 201 !, 'large chunked body: 201');
ok($t->read_file('html/up/bigch.bin') eq $big, 'large chunked body: equal');

$r = put_raw('/tiny/t.txt', "Content-Length: 20\r\n", '0123456789abcdefghij');
like($r, qr!^HTTP/1\.1 201 !, 'body over tiny buffer: 201');
is($t->read_file('html/tiny/t.txt'), '0123456789abcdefghij',
    'body over tiny buffer: stored');

opendir(my $dh, "$d/tmp_body") or die "$!";
my @left = grep { !/^\./ } readdir($dh);
closedir($dh);
is(scalar @left, 0, 'no temporary files left');

# client_max_body_size: by Content-Length before reading, and by the
# chunked total

$r = put_raw('/small/a.txt', "Content-Length: 2000\r\n", '');
like($r, qr!^HTTP/1\.1 413 !, 'Content-Length over limit: 413 unread');
ok(!-e "$d/html/small/a.txt", 'Content-Length over limit: not stored');

$r = put_raw('/small/b.txt', "Transfer-Encoding: chunked\r\n",
    chunked('x' x 3000, 500));
like($r, qr!^HTTP/1\.1 413 !, 'chunked over limit: 413');
ok(!-e "$d/html/small/b.txt", 'chunked over limit: not stored');

$r = put_raw('/small/c.txt', "Content-Length: 1024\r\n", 'y' x 1024);
like($r, qr!^HTTP/1\.1 201 !, 'body at the limit: 201');

# broken chunked framing

$r = put_raw('/up/bad.txt', "Transfer-Encoding: chunked\r\n",
    "zz\r\nabc\r\n0\r\n\r\n");
like($r, qr!^HTTP/1\.1 400 !, 'invalid chunk size: 400');
ok(!-e "$d/html/up/bad.txt", 'invalid chunk size: not stored');

# client_body_timeout: part of the body, then silence

$r = put_raw('/slow/s.txt', "Content-Length: 100\r\n", 'part');
like($r, qr!^HTTP/1\.1 408 !, 'client_body_timeout: 408');

# a body the handler does not want is discarded and the connection goes on

my @resp = http_keepalive([
    "POST /r HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\n"
        . "hello world",
    "POST /r HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
        . "\r\n" . chunked('abcdef', 2, "X-T: 1\r\n"),
    "GET /r HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
], pipeline => 1);

like($resp[0], qr!^HTTP/1\.1 200 .*ok$!s, 'discarded body: first answer');
like($resp[1], qr!^HTTP/1\.1 200 .*ok$!s, 'discarded chunked: second answer');
like($resp[2], qr!^HTTP/1\.1 200 .*ok$!s, 'pipelined request after bodies');

# a body that was read leaves the pipelined request after it intact

@resp = http_keepalive([
    "PUT /up/p1.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\n"
        . "one",
    "PUT /up/p2.txt HTTP/1.1\r\nHost: localhost\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n" . chunked('two', 1),
    "GET /r HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
], pipeline => 1);

like($resp[1], qr!^HTTP/1\.1 201 !, 'pipelined PUTs answered');
is($t->read_file('html/up/p1.txt') . $t->read_file('html/up/p2.txt'),
    'onetwo', 'pipelined PUTs stored');
like($resp[2], qr!^HTTP/1\.1 200 .*ok$!s, 'pipelined request after PUTs');

###############################################################################
