#!/usr/bin/perl

# Tests for autoindex: HTML listing with escaped names and links, JSON
# listing, directories first, hidden dot files, sizes, 403 when off, and
# an index file winning over the listing.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

eval { require JSON::PP; };
plan(skip_all => 'JSON::PP not installed') if $@;

my $t = Test::Divehttpd->new()->has(qw/http http_autoindex/)->plan(22);

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

        root %%TESTDIR%%/html;

        location / {
            autoindex on;
        }

        location /json/ {
            autoindex on;
            autoindex_format json;
        }

        location /human/ {
            autoindex on;
            autoindex_exact_size off;
        }

        location /off/ {
        }
    }
}

EOF

$t->write_file('html/b.txt', 'bbb');
$t->write_file('html/a<&>"x.txt', 'weird');
$t->write_file('html/with space.txt', 's');
$t->write_file('html/.hidden', 'h');
$t->write_file('html/zdir/f', 'f');
$t->write_file('html/adir/f', 'f');
$t->write_file('html/withindex/index.html', 'THE INDEX');
$t->write_file('html/json/file.txt', '12345');
$t->write_file('html/json/quo"te', 'q');
$t->write_file('html/json/sub/x', 'x');
$t->write_file('html/human/big', 'x' x 5000);
$t->write_file('html/off/f', 'f');

$t->run();

###############################################################################

my $r = parse_response(http_get('/'));
is($r->{status}, 200, 'listing');
like($r->{headers}{'content-type'}, qr!^text/html!, 'HTML type');
my $body = $r->{body};
is($r->{headers}{'content-length'}, length $body, 'Content-Length');

like($body, qr!<title>Index of /</title>!, 'title');
like($body, qr!<a href="\.\./">\.\./</a>!, 'parent link');
like($body, qr!<a href="adir/">adir/</a>!, 'directory link');
like($body, qr!<a href="b\.txt">b\.txt</a> +\d\d-\w\w\w-\d{4} \d\d:\d\d +3\n!,
    'file line with date and size');
like($body, qr!<a href="a%3C%26%3E%22x\.txt">a&lt;&amp;&gt;&quot;x\.txt</a>!,
    'name escaped in link and text');
like($body, qr!<a href="with%20space\.txt">with space\.txt</a>!,
    'space encoded');
unlike($body, qr/hidden/, 'dot files hidden');

my @names = $body =~ /<a href="([^"]+)">/g;
is_deeply(\@names, ['../', 'adir/', 'human/', 'json/', 'off/', 'withindex/',
    'zdir/',
    'a%3C%26%3E%22x.txt', 'b.txt', 'with%20space.txt'],
    'directories first, then names');

is(http_content(http_get('/withindex/')), 'THE INDEX', 'index file wins');

like(http_get('/adir'), qr!^HTTP/1\.[01] 301 !, 'no slash: 301');

is(parse_response(http_get('/nothere/'))->{status}, 404, 'missing: 404');
is(parse_response(http_get('/off/'))->{status}, 403, 'autoindex off: 403');

# JSON

$r = parse_response(http_get('/json/'));
is($r->{headers}{'content-type'}, 'application/json', 'JSON type');
my $list = eval { JSON::PP::decode_json($r->{body}) };
ok($list, 'valid JSON') or diag($r->{body});
$list ||= [];
is_deeply([map { $_->{name} } @$list], ['sub', 'file.txt', 'quo"te'],
    'JSON names');
is_deeply([map { $_->{type} } @$list], ['directory', 'file', 'file'],
    'JSON types');
is($list->[1]{size}, 5, 'JSON size');
like($list->[1]{mtime} // '', qr/^\w{3}, \d\d \w{3} \d{4} [\d:]{8} GMT$/,
    'JSON mtime');

# human sizes

like(http_content(http_get('/human/')), qr!>big</a> .* +5K\n!,
    'autoindex_exact_size off');

###############################################################################
