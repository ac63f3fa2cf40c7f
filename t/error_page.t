#!/usr/bin/perl

# Tests for error_page: internal redirects with the original status, with
# =CODE and with a bare "=", external redirects, inheritance, and loop
# protection.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(21);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    types {
        text/html  html;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        root %%TESTDIR%%/html;

        error_page 404 /errors/404.html;
        error_page 500 502 503 /errors/50x.html;

        location /errors/ {
        }

        location /fail {
            return 503;
        }

        location /forbidden {
            error_page 403 =200 /errors/ok.html;
            return 403;
        }

        location /gone {
            error_page 410 = /errors/ok.html;
            return 410;
        }

        location /away {
            error_page 404 https://example.com/notfound;
            return 404;
        }

        location /moved {
            error_page 404 =301 http://example.com/new;
            return 404;
        }

        location /loop {
            error_page 404 /loop/missing;
            return 404;
        }

        location /own {
            error_page 404 /errors/404.html?from=own;
        }

        location /none {
            error_page 418 /errors/404.html;
            return 404;
        }

        location /post {
            return 404;
        }
    }
}

EOF

$t->write_file('html/errors/404.html', 'CUSTOM 404');
$t->write_file('html/errors/50x.html', 'CUSTOM 50x');
$t->write_file('html/errors/ok.html', 'OK PAGE');
$t->write_file('html/index.html', 'INDEX');

$t->run();

###############################################################################

my $r = http_get('/no/such/file');
like($r, qr!^HTTP/1\.1 404 !, 'internal redirect: original status');
is(http_content($r), 'CUSTOM 404', 'internal redirect: page body');
like($r, qr!^Content-Type: text/html!mi, 'internal redirect: page type');

$r = http_get('/fail');
like($r, qr!^HTTP/1\.1 503 !, 'several codes: status');
is(http_content($r), 'CUSTOM 50x', 'several codes: body');

$r = http_get('/forbidden');
like($r, qr!^HTTP/1\.1 200 !, '=200: status replaced');
is(http_content($r), 'OK PAGE', '=200: body');

$r = http_get('/gone');
like($r, qr!^HTTP/1\.1 200 !, 'bare =: status of the error page');
is(http_content($r), 'OK PAGE', 'bare =: body');

$r = http_get('/away');
like($r, qr!^HTTP/1\.1 302 !, 'external: 302');
like($r, qr!^Location: https://example\.com/notfound\r$!m, 'external: Location');

$r = http_get('/moved');
like($r, qr!^HTTP/1\.1 301 !, 'external =301: status');
like($r, qr!^Location: http://example\.com/new\r$!m, 'external =301: Location');

$r = http_get('/loop');
like($r, qr!^HTTP/1\.1 404 !, 'loop: status');
like($r, qr!<h1>404 Not Found</h1>!, 'loop: built-in page');

$r = http_get('/own/missing');
is(http_content($r), 'CUSTOM 404', 'location-level list with args');

$r = http_get('/none');
like($r, qr!<h1>404 Not Found</h1>!, 'own list replaces the inherited one');

$r = http("POST /post HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
    . "Content-Length: 3\r\n\r\nabc");
like($r, qr!^HTTP/1\.1 404 !, 'POST: status');
is(http_content($r), 'CUSTOM 404', 'POST: page served as GET');

# the connection goes on after an error page

my @resp = http_keepalive([
    "GET /no/such HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
], pipeline => 1);
is(http_content($resp[0]), 'CUSTOM 404', 'keep-alive: error page');
is(http_content($resp[1]), 'INDEX', 'keep-alive: next request');

###############################################################################
