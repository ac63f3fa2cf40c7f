#!/usr/bin/perl

# Tests for open_file_cache: cached files keep being served, a file
# replaced or deleted on disk is seen once open_file_cache_valid has
# passed, cached errors, eviction with a small max, and large files sent
# with sendfile from a cached descriptor.

use warnings;
use strict;

use Test::More;

use Time::HiRes qw/sleep/;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(14);

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

        open_file_cache max=2 inactive=1h;
        open_file_cache_valid 1s;

        location / {
        }

        location /long/ {
            open_file_cache_valid 1h;
            open_file_cache_errors on;
        }

        location /nocache/ {
            open_file_cache off;
        }
    }
}

EOF

my $d = $t->testdir() . '/html';
my $big = 'x' x 200000;

$t->write_file('html/a.txt', 'A1');
$t->write_file('html/b.txt', 'B');
$t->write_file('html/c.txt', 'C');
$t->write_file('html/big.txt', $big);
$t->write_file('html/long/f.txt', 'LONG1');
$t->write_file('html/nocache/f.txt', 'N1');

$t->run();

###############################################################################

sub replace {
    my ($name, $content) = @_;
    $t->write_file("$name.new", $content);
    rename($t->testdir() . "/$name.new", $t->testdir() . "/$name")
        or die "rename: $!";
}

is(http_content(http_get('/a.txt')), 'A1', 'first request');
is(http_content(http_get('/a.txt')), 'A1', 'from the cache');
is(http_content(http_get('/big.txt')), $big, 'large file from the cache');
is(http_content(http_get('/big.txt')), $big, 'large file again');

# a cached descriptor keeps the old file until the entry is revalidated

is(http_content(http_get('/long/f.txt')), 'LONG1', 'long valid');
replace('html/long/f.txt', 'LONG2');
is(http_content(http_get('/long/f.txt')), 'LONG1', 'old file within valid');

like(http_get('/long/missing'), qr!^HTTP/1\.[01] 404 !, 'error cached');
$t->write_file('html/long/missing', 'NOW HERE');
like(http_get('/long/missing'), qr!^HTTP/1\.[01] 404 !,
    'cached error within valid');

replace('html/a.txt', 'A2');
unlink("$d/b.txt");
http_get('/b.txt');
sleep(1.2);

is(http_content(http_get('/a.txt')), 'A2', 'replaced file after valid');
like(http_get('/b.txt'), qr!^HTTP/1\.[01] 404 !, 'deleted file after valid');

# max=2: a third file evicts the oldest, and all are still right

is(http_content(http_get('/c.txt')), 'C', 'c');
is(http_content(http_get('/a.txt')), 'A2', 'a');
is(http_content(http_get('/big.txt')), $big, 'big after evictions');

replace('html/nocache/f.txt', 'N2');
is(http_content(http_get('/nocache/f.txt')), 'N2', 'open_file_cache off');

###############################################################################
