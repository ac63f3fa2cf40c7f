#!/usr/bin/perl

# Tests for alias: a prefix location's path replaced by another directory,
# exact locations aliased to one file, index files under an alias,
# captures of a regex location in alias (the alias is then the full path),
# variables in alias with ".." segments refused, and conflicts with root.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(17);

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

        location /img/ {
            alias %%TESTDIR%%/pictures/;
        }

        location = /robots.txt {
            alias %%TESTDIR%%/other/robots-file;
        }

        location /docs {
            alias %%TESTDIR%%/documentation;
        }

        location ~ ^/photos/(.+)$ {
            alias %%TESTDIR%%/pictures/$1;
        }

        location ~ ^/named/(?<file>[a-z]+)\.jpg$ {
            alias %%TESTDIR%%/pictures/$file.png;
        }

        location ~ ^/fixed/ {
            alias %%TESTDIR%%/other/robots-file;
        }

        location ~ ^/up(.*)$ {
            alias %%TESTDIR%%/pictures/$1;
        }

        location /arg/ {
            alias %%TESTDIR%%/pictures/$arg_d/;
        }
    }
}

EOF

$t->write_file('html/img/a.png', 'WRONG');
$t->write_file('pictures/a.png', 'PICTURE');
$t->write_file('pictures/sub/index.html', 'SUB INDEX');
$t->write_file('other/robots-file', 'ROBOTS');
$t->write_file('documentation/x.txt', 'DOC');
$t->write_file('html/plain.txt', 'PLAIN');

$t->run();

###############################################################################

is(http_content(http_get('/img/a.png')), 'PICTURE', 'prefix alias');
is(http_content(http_get('/img/sub/')), 'SUB INDEX', 'index under alias');
like(http_get('/img/sub'), qr!^HTTP/1\.[01] 301 !, 'directory 301');
like(http_get('/img/sub'), qr!^Location: /img/sub/\r$!m,
    'redirect keeps the URI');
is(http_content(http_get('/robots.txt')), 'ROBOTS', 'exact alias to a file');
is(http_content(http_get('/docs/x.txt')), 'DOC', 'alias without slashes');
like(http_get('/img/none.png'), qr!^HTTP/1\.[01] 404 !, 'missing: 404');
is(http_content(http_get('/plain.txt')), 'PLAIN', 'root elsewhere');

# alias in regex locations: the full path, with captures

is(http_content(http_get('/photos/a.png')), 'PICTURE', 'regex alias with $1');
is(http_content(http_get('/photos/sub/')), 'SUB INDEX',
    'regex alias with $1: index');
like(http_get('/photos/none.png'), qr!^HTTP/1\.[01] 404 !,
    'regex alias: missing file 404');
is(http_content(http_get('/named/a.jpg')), 'PICTURE',
    'regex alias with a named capture');
is(http_content(http_get('/fixed/anything/here')), 'ROBOTS',
    'regex alias without captures is the full path');
like(http_get('/up..'), qr!^HTTP/1\.[01] 404 !,
    'capture giving a ".." segment: refused');
like(http_get('/photos/../html/plain.txt'), qr!^HTTP/1\.[01] 404 !,
    'URI normalised before the capture is taken');
is(http_content(http_get('/arg/index.html?d=sub')), 'SUB INDEX',
    'prefix alias with a variable: the rest of the URI appended');
like(http_get('/arg/a.png?d=..'), qr!^HTTP/1\.[01] 404 !,
    'variable giving a ".." segment: refused');

###############################################################################
