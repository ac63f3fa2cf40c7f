#!/usr/bin/perl

# Tests for the gzip filter: Accept-Encoding with q-values and "*",
# gzip_types, gzip_min_length, Vary, HEAD, Range, the exact Content-Length
# of a small body compressed in one go, and streamed (chunked) output for
# large files sent with and without sendfile.

use warnings;
use strict;

use Test::More;

use IO::Uncompress::Gunzip qw/gunzip $GunzipError/;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_gzip_filter/)->plan(36);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    types {
        text/html  html;
        text/css   css;
        image/png  png;
        text/plain txt;
    }
    default_type text/plain;

    gzip on;
    gzip_types text/css text/plain;
    gzip_vary on;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        root %%TESTDIR%%/html;

        location / {
        }

        location /nosf/ {
            sendfile off;
        }

        location /level9/ {
            gzip_comp_level 9;
            gzip_min_length 10k;
        }

        location /off/ {
            gzip off;
        }

        location /ret {
            default_type text/html;
            return 200 "returned text returned text returned text";
        }
    }
}

EOF

my $page = '<html>' . ('hello world ' x 200) . '</html>';
my $big = join '', map { sprintf "line %07d of the big text file\n", $_ }
    0 .. 19999;

$t->write_file('html/page.html', $page);
$t->write_file('html/style.css', 'body { color: red; } ' x 10);
$t->write_file('html/img.png', 'PNG' x 100);
$t->write_file('html/tiny.html', '<p>x</p>');
$t->write_file('html/big.txt', $big);
$t->write_file('html/nosf/big.txt', $big);
$t->write_file('html/level9/page.html', $page);
$t->write_file('html/off/page.html', $page);

$t->run();

###############################################################################

sub req {
    my ($method, $uri, $proto, @h) = @_;
    my $extra = join '', map { "$_\r\n" } @h;
    return parse_response(http("$method $uri $proto\r\nHost: localhost\r\n"
        . "Connection: close\r\n" . $extra . "\r\n"));
}

sub get { my $uri = shift; req('GET', $uri, 'HTTP/1.0', @_) }

sub gunzipped {
    my ($data) = @_;
    my $out;
    gunzip(\$data => \$out) or return "gunzip failed: $GunzipError";
    return $out;
}

my $r = get('/page.html', 'Accept-Encoding: gzip');
is($r->{headers}{'content-encoding'}, 'gzip', 'gzip');
is($r->{headers}{'content-length'}, length $r->{body},
    'small file: exact Content-Length');
ok(length $r->{body} < length $page, 'smaller');
is(gunzipped($r->{body}), $page, 'small file: decompresses');
is($r->{headers}{vary}, 'Accept-Encoding', 'Vary');
ok(!exists $r->{headers}{'accept-ranges'}, 'no Accept-Ranges when gzipped');

$r = get('/page.html');
ok(!exists $r->{headers}{'content-encoding'}, 'no Accept-Encoding: plain');
is($r->{body}, $page, 'no Accept-Encoding: body');
is($r->{headers}{vary}, 'Accept-Encoding', 'Vary on the plain answer too');

# Accept-Encoding parsing

sub enc {
    my $r = get('/page.html', "Accept-Encoding: $_[0]");
    return $r->{headers}{'content-encoding'} // 'identity';
}

is(enc('gzip;q=0'), 'identity', 'gzip;q=0 refuses');
is(enc('gzip; q=0.000'), 'identity', 'gzip; q=0.000 refuses');
is(enc('gzip;q=0.001'), 'gzip', 'gzip;q=0.001 accepts');
is(enc('deflate, br, gzip;q=0.5'), 'gzip', 'gzip among several');
is(enc('br,GZIP'), 'gzip', 'case-insensitive');
is(enc('x-gzip'), 'gzip', 'x-gzip');
is(enc('*'), 'gzip', '*');
is(enc('*;q=0'), 'identity', '*;q=0');
is(enc('gzip;q=0, *'), 'identity', 'gzip refused explicitly beats *');
is(enc('deflate'), 'identity', 'other codings only');
is(enc('gzipx'), 'identity', 'not a prefix match');

# which responses

is(get('/style.css', 'Accept-Encoding: gzip')->{headers}{'content-encoding'},
    'gzip', 'listed type');
ok(!exists get('/img.png', 'Accept-Encoding: gzip')
    ->{headers}{'content-encoding'}, 'unlisted type');
ok(!exists get('/tiny.html', 'Accept-Encoding: gzip')
    ->{headers}{'content-encoding'}, 'below gzip_min_length');
ok(!exists get('/level9/page.html', 'Accept-Encoding: gzip')
    ->{headers}{'content-encoding'}, 'below a larger gzip_min_length');
ok(!exists get('/off/page.html', 'Accept-Encoding: gzip')
    ->{headers}{'content-encoding'}, 'gzip off');

$r = req('HEAD', '/page.html', 'HTTP/1.0', 'Accept-Encoding: gzip');
ok(!exists $r->{headers}{'content-encoding'}, 'HEAD not compressed');

$r = get('/page.html', 'Accept-Encoding: gzip', 'Range: bytes=0-9');
is($r->{status}, 206, 'Range: 206');
is($r->{body}, substr($page, 0, 10), 'Range: not compressed');

my $etag = get('/page.html')->{headers}{etag};
is(get('/page.html', 'Accept-Encoding: gzip', "If-None-Match: $etag")
    ->{status}, 304, '304 untouched');

$r = get('/ret', 'Accept-Encoding: gzip');
is(gunzipped($r->{body}), 'returned text returned text returned text',
    'in-memory body from return');

# streamed

$r = req('GET', '/big.txt', 'HTTP/1.1', 'Accept-Encoding: gzip');
is($r->{headers}{'transfer-encoding'}, 'chunked', 'large file: chunked');
ok(!exists $r->{headers}{'content-length'}, 'large file: no Content-Length');
is(gunzipped($r->{body}), $big, 'large file with sendfile: decompresses');

$r = req('GET', '/nosf/big.txt', 'HTTP/1.1', 'Accept-Encoding: gzip');
is(gunzipped($r->{body}), $big, 'large file without sendfile: decompresses');

$r = get('/big.txt', 'Accept-Encoding: gzip');
is(gunzipped($r->{body}), $big, 'HTTP/1.0: delimited by close');

$r = get('/level9/page.html', 'Accept-Encoding: gzip');
is(length $r->{body}, length $page, 'level 9 location serves plain');

###############################################################################
