#!/usr/bin/perl

# Tests for byte ranges: 206 with Content-Range for first-last, suffix and
# open-ended ranges, 416 for unsatisfiable ones, several ranges as
# multipart/byteranges (sorted, overlapping ones merged), max_ranges,
# If-Range, and the three ways a static file leaves (in memory, sendfile,
# read and send), and tcp_nopush on (off is the default).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_range_filter/)->plan(71);

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

        location /mr1/ {
            root %%TESTDIR%%/html;
            max_ranges 1;
        }

        location /mr0/ {
            root %%TESTDIR%%/html;
            max_ranges 0;
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
$t->write_file('html/mr1/small.txt', $small);
$t->write_file('html/mr0/small.txt', $small);

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

# several ranges: multipart/byteranges

# the parts of a multipart/byteranges body, each [type, range, data]
sub parts {
    my ($r) = @_;
    my ($b) = ($r->{headers}{'content-type'} // '')
        =~ m{^multipart/byteranges; boundary=(\S+)$} or return;
    my @parts;
    for my $p (split /(?:^|\r\n)--\Q$b\E(?:--)?\r\n/, $r->{body}) {
        next if $p eq '';
        my ($head, $data) = split /\r\n\r\n/, $p, 2;
        my ($type) = $head =~ /^Content-Type: (.*)$/mi;
        my ($range) = $head =~ /^Content-Range: (.*?)\r?$/mi;
        $type =~ s/\r$// if defined $type;
        push @parts, [ $type, $range, $data ];
    }
    return @parts;
}

$r = get('/small.txt', 'Range: bytes=0-1,5-9');
is($r->{status}, 206, 'two ranges: 206');
like($r->{headers}{'content-type'},
    qr{^multipart/byteranges; boundary=\w+$}, 'two ranges: multipart type');
is($r->{headers}{'content-length'}, length $r->{body},
    'two ranges: Content-Length matches the body');
ok(!exists $r->{headers}{'content-range'}, 'two ranges: no Content-Range');
like($r->{body}, qr/--\w+--\r\n\z/, 'two ranges: closing delimiter');
my @p = parts($r);
is(scalar @p, 2, 'two ranges: two parts');
is_deeply($p[0], [ 'text/plain', 'bytes 0-1/1000', substr($small, 0, 2) ],
    'two ranges: first part');
is_deeply($p[1], [ 'text/plain', 'bytes 5-9/1000', substr($small, 5, 5) ],
    'two ranges: second part');

$r = get('/small.txt', 'Range: bytes=990-, -3, 0-0');
@p = parts($r);
is(scalar @p, 2, 'sorted, overlapping suffix merged');
is($p[0][1], 'bytes 0-0/1000', 'sorted: first part');
is_deeply($p[1], [ 'text/plain', 'bytes 990-999/1000', substr($small, 990) ],
    'merged part');

$r = get('/small.txt', 'Range: bytes=0-4, 2-8');
is($r->{status}, 206, 'overlapping ranges: 206');
is($r->{headers}{'content-range'}, 'bytes 0-8/1000',
    'overlapping ranges merged into one');
is($r->{body}, substr($small, 0, 9), 'overlapping ranges: body');

$r = get('/small.txt', 'Range: bytes=0-1, 2-3');
is($r->{headers}{'content-range'}, 'bytes 0-3/1000', 'touching ranges merged');

$r = get('/small.txt', 'Range: ' . join(',', ('bytes=0-') x 1) .
    join('', (',0-') x 200));
is($r->{headers}{'content-range'}, 'bytes 0-999/1000',
    '200 copies of the whole body: sent once');

$r = get('/small.txt', 'Range: bytes=0-1, 2000-3000');
is($r->{status}, 206, 'one satisfiable range of two');
is($r->{headers}{'content-range'}, 'bytes 0-1/1000',
    'one satisfiable range of two: single part');

$r = parse_response(http("HEAD /small.txt HTTP/1.0\r\nHost: localhost\r\n"
    . "Range: bytes=0-1,5-9\r\n\r\n"));
my $g = get('/small.txt', 'Range: bytes=0-1,5-9');
is($r->{status}, 206, 'HEAD two ranges: 206');
is($r->{headers}{'content-length'}, length $g->{body},
    'HEAD two ranges: length of the GET body');
is($r->{body}, '', 'HEAD two ranges: no body');

# max_ranges

$r = get('/mr1/small.txt', 'Range: bytes=0-1,5-9');
is($r->{status}, 200, 'max_ranges 1: two ranges get the whole 200');
is($r->{body}, $small, 'max_ranges 1: whole body');
is(get('/mr1/small.txt', 'Range: bytes=3-4')->{status}, 206,
    'max_ranges 1: one range');
$r = get('/mr0/small.txt', 'Range: bytes=3-4');
is($r->{status}, 200, 'max_ranges 0: ranges off');
ok(!exists $r->{headers}{'accept-ranges'}, 'max_ranges 0: no Accept-Ranges');

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

# several ranges of a large file: file parts (sendfile) and pieces read
# one after another (a range across two pieces, two ranges in one piece)

for my $loc ('', '/nosf') {
    $r = get("$loc/big.txt",
        'Range: bytes=100-199,65530-65545,300000-300007,399999-');
    is($r->{status}, 206, "large$loc: multipart 206");
    is($r->{headers}{'content-length'}, length $r->{body},
        "large$loc: Content-Length");
    is_deeply([ map { $_->[2] } parts($r) ],
        [ substr($big, 100, 100), substr($big, 65530, 16),
          substr($big, 300000, 8), substr($big, 399999) ],
        "large$loc: parts");
    is(join(' ', map { $_->[1] } parts($r)),
        'bytes 100-199/400000 bytes 65530-65545/400000 '
        . 'bytes 300000-300007/400000 bytes 399999-399999/400000',
        "large$loc: Content-Range of each part");
}

# a real client: curl asks for two ranges and gets the multipart body
SKIP: {
    skip 'no curl', 2 unless `curl --version 2>/dev/null` =~ /^curl/;
    my $port = port(8080);
    my $out = `curl -s -D - -r 0-1,5-9 http://127.0.0.1:$port/small.txt`;
    like($out, qr{^HTTP/1.1 206}, 'curl -r 0-1,5-9: 206');
    like($out, qr{Content-Range: bytes 5-9/1000\r\n\r\nfghij\r\n},
        'curl -r 0-1,5-9: second part');
}

is(http_content(http_get('/nopush/big.txt')), $big, 'tcp_nopush on');

# HEAD; responses that are not rangeable

$r = parse_response(http("HEAD /small.txt HTTP/1.0\r\nHost: localhost\r\n"
    . "Range: bytes=0-9\r\n\r\n"));
is($r->{status}, 206, 'HEAD: 206');

$r = get('/ret', 'Range: bytes=0-2');
is($r->{status}, 200, 'return: not rangeable');
ok(!exists $r->{headers}{'accept-ranges'}, 'return: no Accept-Ranges');

###############################################################################
