#!/usr/bin/perl

# Tests for CORS: exact origins and "*", credentials (the Origin echoed
# with Vary: Origin), exposed headers, preflight OPTIONS answered 204, the
# header on error responses, and no headers for other origins.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_cors/)->plan(26);

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
            cors_origin https://app.example http://localhost:3000/;
            cors_methods GET POST PUT;
            cors_headers Content-Type X-Token;
            cors_expose_headers X-Request-ID;
            cors_max_age 600;
        }

        location /any/ {
            cors_origin *;
        }

        location /cred/ {
            cors_origin *;
            cors_credentials on;
        }

        location /none/ {
        }
    }
}

EOF

$t->write_file('html/f.txt', 'F');
$t->write_file('html/any/f.txt', 'A');
$t->write_file('html/cred/f.txt', 'C');
$t->write_file('html/none/f.txt', 'N');

$t->run();

###############################################################################

sub req {
    my ($method, $uri, @h) = @_;
    my $extra = join '', map { "$_\r\n" } @h;
    return parse_response(http("$method $uri HTTP/1.0\r\nHost: localhost\r\n"
        . $extra . "\r\n"));
}

my $r = req('GET', '/f.txt', 'Origin: https://app.example');
is($r->{status}, 200, 'simple request');
is($r->{headers}{'access-control-allow-origin'}, 'https://app.example',
    'exact origin echoed');
is($r->{headers}{vary}, 'Origin', 'Vary: Origin');
is($r->{headers}{'access-control-expose-headers'}, 'X-Request-ID',
    'exposed headers');
ok(!exists $r->{headers}{'access-control-allow-credentials'},
    'no credentials by default');

$r = req('GET', '/f.txt', 'Origin: http://localhost:3000');
is($r->{headers}{'access-control-allow-origin'}, 'http://localhost:3000',
    'second origin, written with a slash');

$r = req('GET', '/f.txt', 'Origin: https://evil.example');
is($r->{status}, 200, 'other origin: still served');
ok(!exists $r->{headers}{'access-control-allow-origin'},
    'other origin: no CORS headers');

$r = req('GET', '/f.txt');
ok(!exists $r->{headers}{'access-control-allow-origin'}, 'no Origin');

$r = req('GET', '/nothere', 'Origin: https://app.example');
is($r->{status}, 404, 'error response');
is($r->{headers}{'access-control-allow-origin'}, 'https://app.example',
    'error response has the header');

# preflight

$r = req('OPTIONS', '/f.txt', 'Origin: https://app.example',
    'Access-Control-Request-Method: PUT',
    'Access-Control-Request-Headers: X-Token');
is($r->{status}, 204, 'preflight: 204');
is($r->{headers}{'access-control-allow-origin'}, 'https://app.example',
    'preflight: origin');
is($r->{headers}{'access-control-allow-methods'}, 'GET, POST, PUT',
    'preflight: methods');
is($r->{headers}{'access-control-allow-headers'}, 'Content-Type, X-Token',
    'preflight: headers');
is($r->{headers}{'access-control-max-age'}, '600', 'preflight: max age');
ok(!exists $r->{headers}{'access-control-expose-headers'},
    'preflight: no exposed headers');

$r = req('OPTIONS', '/f.txt', 'Origin: https://evil.example',
    'Access-Control-Request-Method: PUT');
isnt($r->{status}, 204, 'preflight from another origin not answered');
ok(!exists $r->{headers}{'access-control-allow-origin'},
    'preflight from another origin: no headers');

is(req('OPTIONS', '/f.txt', 'Origin: https://app.example')->{status}, 405,
    'OPTIONS without Access-Control-Request-Method is no preflight');

# "*"

$r = req('GET', '/any/f.txt', 'Origin: https://whoever.example');
is($r->{headers}{'access-control-allow-origin'}, '*', '*');
ok(!exists $r->{headers}{vary}, '*: no Vary');

$r = req('OPTIONS', '/any/f.txt', 'Origin: https://whoever.example',
    'Access-Control-Request-Method: POST');
is($r->{headers}{'access-control-allow-methods'}, 'GET, HEAD, POST',
    'default methods');

# "*" with credentials

$r = req('GET', '/cred/f.txt', 'Origin: https://whoever.example');
is($r->{headers}{'access-control-allow-origin'}, 'https://whoever.example',
    'credentials: origin echoed');
is($r->{headers}{'access-control-allow-credentials'}, 'true',
    'credentials: true');

$r = req('GET', '/none/f.txt', 'Origin: https://app.example');
ok(!exists $r->{headers}{'access-control-allow-origin'},
    'location without cors_origin');

###############################################################################
