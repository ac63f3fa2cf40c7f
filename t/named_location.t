#!/usr/bin/perl

# Tests for named locations: "location @name" reached from try_files and
# from error_page (with the original status, "=" and "=CODE"), the URI
# kept, never matched by a request URI, a missing name answering 500, and
# the configuration rules (server level only, nothing nested inside).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_try_files/)->plan(20);

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
            try_files $uri @fallback;
        }

        location @fallback {
            return 200 "fallback uri=$uri args=$args";
        }

        location /err/ {
            error_page 404 @notfound;
        }

        location /eq/ {
            error_page 404 = @answer;
        }

        location /code/ {
            error_page 404 =200 @page;
        }

        location /missing/ {
            try_files $uri @nosuch;
        }

        location /loop/ {
            try_files $uri @loop;
        }

        location @loop {
            try_files $uri @loop;
        }

        location @notfound {
            return 200 "not found: $uri";
        }

        location @answer {
            return 202 "answered";
        }

        location @page {
            root %%TESTDIR%%/pages;
        }
    }
}

EOF

$t->write_file('html/exists.txt', 'exists');
$t->write_file('pages/code/x.txt', 'page x');

$t->run();

###############################################################################

my $r = http_get('/exists.txt');
is(http_content($r), 'exists', 'try_files: file found');

$r = http_get('/none.txt?a=1');
like($r, qr/^HTTP\/1.1 200/, 'try_files @fallback: 200');
is(http_content($r), 'fallback uri=/none.txt args=a=1',
    'try_files @fallback: URI and arguments kept');

like(http_get('/@fallback'), qr/^HTTP\/1.1 200/,
    'a request for /@fallback is served by the prefix location');
is(http_content(http_get('/@fallback')), 'fallback uri=/@fallback args=',
    'a request URI never matches a named location');

$r = http_get('/err/none');
like($r, qr/^HTTP\/1.1 404/, 'error_page @name: original status');
is(http_content($r), 'not found: /err/none', 'error_page @name: body');

$r = http_get('/eq/none');
like($r, qr/^HTTP\/1.1 202/, 'error_page = @name: the location\'s status');
is(http_content($r), 'answered', 'error_page = @name: body');

$r = http_get('/code/x.txt');
like($r, qr/^HTTP\/1.1 200/, 'error_page =200 @name: 200');
is(http_content($r), 'page x', 'error_page =200 @name: served by its root');

like(http_get('/missing/x'), qr/^HTTP\/1.1 500/, 'unknown named location: 500');
like(http_get('/loop/x'), qr/^HTTP\/1.1 500/, 'named location cycle: 500');

$t->stop();

like($t->read_file('error.log'),
    qr/could not find named location "\@nosuch"/, 'unknown name logged');
like($t->read_file('error.log'),
    qr/internal redirection cycle while processing "\@loop"/,
    'cycle logged');

# configuration errors

sub conf_error {
    my ($name, $body) = @_;
    $t->write_file("$name.conf", "events {\n}\nhttp {\n    server {\n"
        . $body . "    }\n}\n");
    my ($rc, $out, $err) = $t->cmd('-t', '-c', $t->testdir() . "/$name.conf");
    return ($rc, $err);
}

my ($rc, $err) = conf_error('nested',
    "        location / {\n            location \@in {\n            }\n"
    . "        }\n");
is($rc, 1, 'named location inside a location: exit 1');
like($err, qr/named location "\@in" can be on the server level only.*nested\.conf:6$/m,
    'named location inside a location: message and line');

($rc, $err) = conf_error('inside',
    "        location \@n {\n            location /x {\n            }\n"
    . "        }\n");
like($err, qr/location "\/x" cannot be inside the named location "\@n".*:6$/m,
    'location inside a named location');

($rc, $err) = conf_error('modifier',
    "        location = \@n {\n        }\n");
like($err, qr/unsupported location "\@n"/, 'named location with a modifier');

($rc, $err) = conf_error('dup',
    "        location \@n {\n        }\n        location \@n {\n        }\n");
like($err, qr/duplicate location "\@n".*dup\.conf:7$/m, 'duplicate named location');

###############################################################################
