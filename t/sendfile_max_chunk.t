#!/usr/bin/perl

# Tests for sendfile_max_chunk: with a tiny limit a large file needs many
# rounds of the event loop (each continued by a posted write event rather
# than a socket event, which would never come), and still arrives whole,
# with sendfile and with read-and-send, also as a range and on a
# keep-alive connection that answers the next request afterwards; while
# one connection is being fed, another is answered; bad values at -t.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(9);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    default_type text/plain;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        root %%TESTDIR%%/html;
        sendfile_max_chunk 1k;

        location /nosf/ {
            sendfile off;
        }

        location = /hello {
            return 200 "hello";
        }
    }
}

EOF

my $big = join '', map { sprintf "%07d\n", $_ } 0 .. 24999;   # 200000 bytes
$t->write_file('html/big.txt', $big);
$t->write_file('html/nosf/big.txt', $big);

$t->run();

###############################################################################

is(http_content(http_get('/big.txt')), $big, 'sendfile in 1k steps: whole');
is(http_content(http_get('/nosf/big.txt')), $big,
    'read and send in 1k steps: whole');

my $r = http("GET /big.txt HTTP/1.0\r\nHost: localhost\r\n"
    . "Range: bytes=1000-150999\r\n\r\n");
is(http_content($r), substr($big, 1000, 150000), 'range in 1k steps');

# keep-alive: both responses arrive, the second after the first in full

$r = http("GET /big.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
    . "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
like($r, qr/\r\n\r\n\Q$big\EHTTP\/1.1 200 OK\r\n/,
    'pipelined: the large response, then the next one');
like($r, qr/hello\z/, 'pipelined: second response body');

# a connection that is not read from leaves the worker free for others

my $slow = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8080))
    or die "connect: $!";
print $slow "GET /big.txt HTTP/1.1\r\nHost: localhost\r\n\r\n";
is(http_content(http_get('/hello')), 'hello', 'another client answered');
$slow->close();

# configuration errors

$t->write_file('bad.conf', "events {\n}\nhttp {\n"
    . "    sendfile_max_chunk lots;\n}\n");
my ($rc, $out, $err) = $t->cmd('-t', '-c', $t->testdir() . '/bad.conf');
is($rc, 1, 'bad size: exit 1');
like($err, qr/invalid value "lots" in "sendfile_max_chunk" directive|"sendfile_max_chunk" directive invalid value/,
    'bad size: message');
like($err, qr/bad\.conf:4$/m, 'bad size: file:line');

###############################################################################
