#!/usr/bin/perl

# Tests for try_files: the first existing file or directory, a fallback
# URI (internal redirect to another location, with arguments), =CODE,
# try_files under alias, and a redirect cycle ending in 500.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_try_files/)->plan(9);

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

        location / {
            try_files $uri $uri/ /fallback?from=$uri;
        }

        location /fallback {
            return 200 "fallback $arg_from";
        }

        location /code/ {
            try_files $uri =418;
        }

        location /pics/ {
            alias %%TESTDIR%%/pictures/;
            try_files $uri /pics/default.png;
        }

        location /loop/ {
            try_files $uri /loop/again;
        }
    }
}

EOF

$t->write_file('html/file.txt', 'FILE');
$t->write_file('html/dir/index.html', 'DIR INDEX');
$t->write_file('html/code/here.txt', 'HERE');
$t->write_file('pictures/a.png', 'A');
$t->write_file('pictures/default.png', 'DEFAULT');

$t->run();

###############################################################################

is(http_content(http_get('/file.txt')), 'FILE', 'existing file');
is(http_content(http_get('/dir/')), 'DIR INDEX', 'existing directory');
is(http_content(http_get('/nothing')), 'fallback /nothing',
    'fallback URI with arguments');
is(http_content(http_get('/dir')), 'DIR INDEX',
    'a directory does not match $uri, $uri/ finds it');
is(http_content(http_get('/code/here.txt')), 'HERE', '=CODE: existing');
like(http_get('/code/missing'), qr!^HTTP/1\.[01] 418 !, '=CODE');
is(http_content(http_get('/pics/a.png')), 'A', 'under alias');
is(http_content(http_get('/pics/b.png')), 'DEFAULT', 'under alias: fallback');
like(http_get('/loop/x'), qr!^HTTP/1\.[01] 500 !, 'redirect cycle: 500');

###############################################################################
