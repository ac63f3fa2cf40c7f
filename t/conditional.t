#!/usr/bin/perl

# Tests for conditional requests on static files: If-None-Match and
# If-Modified-Since answer 304, If-Match and If-Unmodified-Since 412, with
# the strong and weak entity-tag comparisons and the RFC's precedence.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_not_modified_filter/)
    ->plan(24);

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
    }
}

EOF

$t->write_file('html/f.txt', 'content');
$t->write_file('html/big.txt', 'x' x 100000);

# a fixed, old modification time
utime 1000000000, 1000000000, $t->testdir() . '/html/f.txt';

$t->run();

###############################################################################

sub req {
    my ($method, $uri, @h) = @_;
    my $extra = join '', map { "$_\r\n" } @h;
    return parse_response(http("$method $uri HTTP/1.0\r\nHost: localhost\r\n"
        . $extra . "\r\n"));
}

sub get { req('GET', @_) }

my $r = get('/f.txt');
my $etag = $r->{headers}{etag};
my $lm = $r->{headers}{'last-modified'};
like($etag, qr/^"[0-9a-f]+-[0-9a-f]+"$/, 'ETag');
is($lm, 'Sun, 09 Sep 2001 01:46:40 GMT', 'Last-Modified');

my $older = 'Sat, 08 Sep 2001 01:46:40 GMT';
my $newer = 'Mon, 10 Sep 2001 01:46:40 GMT';

# 304

is(get('/f.txt', "If-None-Match: $etag")->{status}, 304, 'INM match: 304');
is(get('/f.txt', "If-None-Match: W/$etag")->{status}, 304,
    'INM weak comparison');
is(get('/f.txt', qq{If-None-Match: "a", $etag})->{status}, 304,
    'INM in a list');
is(get('/f.txt', 'If-None-Match: *')->{status}, 304, 'INM *');
is(get('/f.txt', 'If-None-Match: "other"')->{status}, 200, 'INM no match');

$r = get('/f.txt', "If-None-Match: $etag");
is($r->{body}, '', '304 without body');
is($r->{headers}{etag}, $etag, '304 keeps ETag');

is(get('/f.txt', "If-Modified-Since: $lm")->{status}, 304, 'IMS same');
is(get('/f.txt', "If-Modified-Since: $newer")->{status}, 304, 'IMS newer');
is(get('/f.txt', "If-Modified-Since: $older")->{status}, 200, 'IMS older');
is(get('/f.txt', 'If-None-Match: "other"', "If-Modified-Since: $lm")
    ->{status}, 200, 'INM takes precedence over IMS');

# 412

is(get('/f.txt', "If-Match: $etag")->{status}, 200, 'IM match');
is(get('/f.txt', 'If-Match: *')->{status}, 200, 'IM *');
$r = get('/f.txt', 'If-Match: "other"');
is($r->{status}, 412, 'IM no match: 412');
is($r->{body}, '', '412 without body');
is(get('/f.txt', "If-Match: W/$etag")->{status}, 412,
    'IM strong comparison');
is(get('/big.txt', 'If-Match: "other"')->{status}, 412, 'IM large file');

is(get('/f.txt', "If-Unmodified-Since: $lm")->{status}, 200, 'IUS same');
is(get('/f.txt', "If-Unmodified-Since: $older")->{status}, 412, 'IUS older');
is(get('/f.txt', "If-Match: $etag", "If-Unmodified-Since: $older")
    ->{status}, 200, 'IM takes precedence over IUS');

is(req('HEAD', '/f.txt', 'If-Match: "x"')->{status}, 412, 'HEAD 412');

# a 412 keeps the connection usable

$r = http("GET /f.txt HTTP/1.1\r\nHost: localhost\r\nIf-Match: \"x\"\r\n\r\n"
    . "GET /f.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
like($r, qr/412.*\r\n\r\nHTTP\/1.1 200.*content$/s, '412 then 200 on one connection');

###############################################################################
