#!/usr/bin/perl

# Tests for the first HTTP responses: return, static files, locations,
# virtual servers, keep-alive, pipelining and basic request errors.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(47);

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
    }
    default_type application/octet-stream;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /hello {
            return 200 "hello";
        }

        location /missing {
            return 404;
        }

        location /moved {
            return 301 /x;
        }

        location = /exact {
            return 200 "exact";
        }

        location /exact {
            return 200 "prefix";
        }

        location /a/ {
            return 200 "short";
        }

        location /a/b/ {
            return 200 "long";
        }

        location /one { return 200 "one"; }
        location /two { return 200 "two"; }
        location /three { return 200 "three"; }

        location / {
            root %%TESTDIR%%/html;
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  one.example;

        location / {
            return 200 "server one";
        }
    }

    server {
        listen       127.0.0.1:8081 default_server;
        server_name  two.example;

        location / {
            return 200 "server two";
        }
    }

    server {
        listen       127.0.0.1:8081;
        server_name  three.example;

        location / {
            return 200 "server three";
        }
    }
}

EOF

$t->write_file('html/index.html', 'INDEX');
$t->write_file('html/page.html', '<p>page</p>');
$t->write_file('html/style.css', 'body {}');
$t->write_file('html/img.png', "\x89PNG\r\n\x1a\n");
$t->write_file('html/file.unknownext', 'data');
$t->write_file('html/dir/index.html', 'DIR INDEX');
$t->write_file('secret.txt', 'SECRET');

$t->run();

###############################################################################

# return with text

my $r = http_get('/hello');
like($r, qr!^HTTP/1\.[01] 200 !, 'return 200 status');
is(http_content($r), 'hello', 'return 200 body');
like($r, qr/^Server: divehttpd/mi, 'Server header');
like($r, qr/^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r$/m,
    'Date header');
like($r, qr/^Content-Length: 5\r$/m, 'Content-Length');
like($r, qr!^Content-Type: application/octet-stream!mi,
    'Content-Type is default_type');

like(http_get('/missing'), qr!^HTTP/1\.[01] 404 !, 'return 404');

$r = http_get('/moved');
like($r, qr!^HTTP/1\.[01] 301 !, 'return 301 status');
like($r, qr!^Location: (?:http://[^/\r\n]+)?/x\r$!m, 'return 301 Location');

# static files

$r = http_get('/page.html');
like($r, qr!^HTTP/1\.[01] 200 !, 'static file');
is(http_content($r), '<p>page</p>', 'static file body');
like($r, qr!^Content-Type: text/html!mi, 'static html type');
like($r, qr/^Content-Length: 11\r$/m, 'static Content-Length');
like(http_get('/style.css'), qr!^Content-Type: text/css!mi,
    'static css type');
like(http_get('/img.png'), qr!^Content-Type: image/png!mi,
    'static png type');
like(http_get('/file.unknownext'),
    qr!^Content-Type: application/octet-stream!mi, 'unknown extension type');

$r = http_get('/');
like($r, qr!^HTTP/1\.[01] 200 !, 'index status');
is(http_content($r), 'INDEX', 'index.html served for /');
is(http_content(http_get('/dir/')), 'DIR INDEX', 'index.html in directory');

like(http_get('/nonexistent.html'), qr!^HTTP/1\.[01] 404 !,
    'missing file 404');

$r = http_get('/dir');
like($r, qr!^HTTP/1\.[01] 301 !, 'directory without slash 301');
like($r, qr!^Location: (?:http://[^/\r\n]+)?/dir/\r$!m,
    'directory redirect Location');

# HEAD

$r = http_head('/page.html');
like($r, qr!^HTTP/1\.[01] 200 !, 'HEAD status');
like($r, qr/^Content-Length: 11\r$/m, 'HEAD Content-Length');
is(http_content($r), '', 'HEAD no body');

# locations

is(http_content(http_get('/exact')), 'exact', 'exact location');
is(http_content(http_get('/exactly')), 'prefix', 'prefix location');
is(http_content(http_get('/a/x')), 'short', 'short prefix');
is(http_content(http_get('/a/b/x')), 'long', 'longest prefix wins');

# virtual servers

is(http_content(host('one.example')), 'server one', 'server_name one');
is(http_content(host('three.example')), 'server three', 'server_name three');
is(http_content(host('unknown.example')), 'server two',
    'unknown host to default_server');

# connection handling

my $s = http_start("GET /hello HTTP/1.0\r\nHost: localhost\r\n\r\n");
my ($resp) = read_response($s);
like($resp, qr!^HTTP/1\.[01] 200 !, 'HTTP/1.0 response');
my (undef, $err) = read_response($s, timeout => 5);
is($err, 'eof', 'HTTP/1.0 closed by default');

my @r = http_keepalive([ map { req11('/hello') } 1 .. 3 ]);
is(scalar(grep { defined && m!^HTTP/1\.1 200 ! } @r), 3,
    'keep-alive: 3 requests on one connection');

@r = http_keepalive([ req11('/one'), req11('/two'), req11('/three') ],
    pipeline => 1);
is(join(',', map { http_content($_) // 'none' } @r), 'one,two,three',
    'pipelined responses in order');

$s = http_start("GET /hello HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
($resp) = read_response($s);
like($resp, qr/^Connection: close\r$/mi, 'Connection: close echoed');
(undef, $err) = read_response($s, timeout => 5);
is($err, 'eof', 'Connection: close honoured');

# request errors

like(http("GET /hello HTTP/1.1\r\n\r\n"), qr!^HTTP/1\.[01] 400 !,
    'HTTP/1.1 without Host 400');
like(http("G\x01T /hello HTTP/1.0\r\n\r\n"), qr!^HTTP/1\.[01] 400 !,
    'bad request line 400');
like(http("GET /hello HTTP/1.0 junk\r\n\r\n"), qr!^HTTP/1\.[01] 400 !,
    'trailing junk in request line 400');
like(http("GET /hello HTTP/2.0\r\nHost: localhost\r\n\r\n"),
    qr!^HTTP/1\.[01] 505 !, 'unsupported version 505');

# root escape

for my $uri ('/../secret.txt', '/dir/../../secret.txt',
    '/%2e%2e/secret.txt', '/dir/%2E%2E/%2e%2e/secret.txt')
{
    my $r = http_get($uri);
    ok(defined $r && $r =~ m!^HTTP/1\.[01] (400|403|404) !
        && $r !~ /SECRET/, "no escape from root: $uri");
}

like(http_get('/hello'), qr!^HTTP/1\.[01] 200 !, 'still serving');

###############################################################################

sub host {
    my ($name) = @_;
    return http("GET / HTTP/1.0\r\nHost: $name\r\n\r\n", port => 8081);
}

sub req11 {
    my ($uri) = @_;
    return "GET $uri HTTP/1.1\r\nHost: localhost\r\n\r\n";
}

###############################################################################
