#!/usr/bin/perl

# Tests for byte ranges: 206 with Content-Range for first-last, suffix and
# open-ended ranges, 416 for unsatisfiable ones, several ranges served
# whole, If-Range, and the three ways a static file leaves (in memory,
# sendfile, read and send), and tcp_nopush on (off is the default).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_range_filter/)->plan(38);

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

        location / {
            root %%TESTDIR%%/html;
        }

        location /nosf/ {
            root %%TESTDIR%%/html;
            sendfile off;
        }

        location /nopush/ {
            root %%TESTDIR%%/html;
            tcp_nopush on;
        }

        location /ret {
            return 200 "not rangeable";
        }
    }
}

EOF

my $small = join '', map { chr(ord('a') + $_ % 26) } 0 .. 999;
my $big = join '', map { sprintf "%07d\n", $_ } 0 .. 49999;   # 400000 bytes

$t->write_file('html/small.txt', $small);
$t->write_file('html/big.txt', $big);
$t->write_file('html/nosf/big.txt', $big);
$t->write_file('html/nopush/big.txt', $big);
$t->write_file('html/empty.txt', '');

$t->run();

###############################################################################

sub get {
    my ($uri, @h) = @_;
    my $extra = join '', map { "$_\r\n" } @h;
    return parse_response(http("GET $uri HTTP/1.0\r\nHost: localhost\r\n"
        . $extra . "\r\n"));
}

my $r = get('/small.txt');
is($r->{status}, 200, 'no range: 200');
is($r->{headers}{'accept-ranges'}, 'bytes', 'Accept-Ranges on a static file');

$r = get('/small.txt', 'Range: bytes=0-9');
is($r->{status}, 206, 'first-last: 206');
is($r->{headers}{'content-range'}, 'bytes 0-9/1000', 'first-last: range');
is($r->{headers}{'content-length'}, 10, 'first-last: length');
is($r->{body}, substr($small, 0, 10), 'first-last: body');

$r = get('/small.txt', 'Range: bytes=990-');
is($r->{headers}{'content-range'}, 'bytes 990-999/1000', 'open-ended');
is($r->{body}, substr($small, 990), 'open-ended: body');

$r = get('/small.txt', 'Range: bytes=-5');
is($r->{headers}{'content-range'}, 'bytes 995-999/1000', 'suffix');
is($r->{body}, substr($small, -5), 'suffix: body');

$r = get('/small.txt', 'Range: bytes=-5000');
is($r->{headers}{'content-range'}, 'bytes 0-999/1000', 'suffix over size');

$r = get('/small.txt', 'Range: bytes=500-99999');
is($r->{headers}{'content-range'}, 'bytes 500-999/1000', 'last over size');
is(length $r->{body}, 500, 'last over size: body');

$r = get('/small.txt', 'Range: bytes=1000-');
is($r->{status}, 416, 'start at size: 416');
is($r->{headers}{'content-range'}, 'bytes */1000', '416 Content-Range');
is($r->{body}, '', '416 has no body');

is(get('/empty.txt', 'Range: bytes=0-')->{status}, 416, 'empty file: 416');

$r = get('/small.txt', 'Range: bytes=5-2');
is($r->{status}, 200, 'invalid range ignored');
is($r->{body}, $small, 'invalid range: whole body');

is(get('/small.txt', 'Range: lines=1-2')->{status}, 200, 'other unit: 200');

$r = get('/small.txt', 'Range: bytes=0-1, 5-6');
is($r->{status}, 200, 'several ranges: the whole 200');
is(length $r->{body}, 1000, 'several ranges: whole body');

$r = get('/small.txt', 'Range: bytes=0-1, 2000-3000');
is($r->{status}, 206, 'one satisfiable range of two');

# If-Range

my $etag = get('/small.txt')->{headers}{etag};
my $lm = get('/small.txt')->{headers}{'last-modified'};

is(get('/small.txt', 'Range: bytes=0-0', "If-Range: $etag")->{status}, 206,
    'If-Range matching ETag');
is(get('/small.txt', 'Range: bytes=0-0', 'If-Range: "other"')->{status}, 200,
    'If-Range other ETag');
is(get('/small.txt', 'Range: bytes=0-0', "If-Range: W/$etag")->{status}, 200,
    'If-Range weak ETag never matches');
is(get('/small.txt', 'Range: bytes=0-0', "If-Range: $lm")->{status}, 206,
    'If-Range matching date');
is(get('/small.txt', 'Range: bytes=0-0',
    'If-Range: Thu, 01 Jan 1970 00:00:01 GMT')->{status}, 200,
    'If-Range older date');

# large files: sendfile and read-and-send

$r = get('/big.txt', 'Range: bytes=100000-100015');
is($r->{status}, 206, 'sendfile: 206');
is($r->{body}, substr($big, 100000, 16), 'sendfile: body');

$r = get('/big.txt', 'Range: bytes=-8');
is($r->{body}, substr($big, -8), 'sendfile: suffix body');

$r = get('/nosf/big.txt', 'Range: bytes=65530-65545');
is($r->{headers}{'content-range'}, 'bytes 65530-65545/400000',
    'sendfile off: range');
is($r->{body}, substr($big, 65530, 16), 'sendfile off: across two pieces');

$r = get('/nosf/big.txt', 'Range: bytes=399990-');
is($r->{body}, substr($big, 399990), 'sendfile off: tail');

is(http_content(http_get('/nopush/big.txt')), $big, 'tcp_nopush on');

# HEAD; responses that are not rangeable

$r = parse_response(http("HEAD /small.txt HTTP/1.0\r\nHost: localhost\r\n"
    . "Range: bytes=0-9\r\n\r\n"));
is($r->{status}, 206, 'HEAD: 206');

$r = get('/ret', 'Range: bytes=0-2');
is($r->{status}, 200, 'return: not rangeable');
ok(!exists $r->{headers}{'accept-ranges'}, 'return: no Accept-Ranges');

###############################################################################
