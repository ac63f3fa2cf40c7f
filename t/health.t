#!/usr/bin/perl

# Tests for health: liveness {"status":"OK"}; readiness ("health ready")
# answers 200 while serving and 503 once the worker drains (graceful stop:
# a keep-alive connection still answered during the grace period).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use IO::Socket::INET;
use Time::HiRes qw/sleep/;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_metrics/)->plan(8);

$t->write_file_expand('divehttpd.conf', <<'EOF2');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    keepalive_shutdown_grace 5s;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /health { health; }
        location = /ready { health ready; }
    }
}

EOF2

$t->run();

###############################################################################

my $r = http_get('/health');
like($r, qr!^HTTP/1\.[01] 200 !, 'liveness 200');
like($r, qr!^Content-Type: application/json\r$!m, 'json');
is(http_content($r), '{"status":"OK"}', 'liveness body');

$r = http_get('/ready');
like($r, qr!^HTTP/1\.[01] 200 !, 'ready 200');
is(http_content($r), '{"status":"OK"}', 'ready body');

like(http("POST /health HTTP/1.0\r\nHost: localhost\r\n"
    . "Content-Length: 0\r\n\r\n"), qr!^HTTP/1\.[01] 405 !, 'POST 405');

# draining: ask on a keep-alive connection opened before the stop
my $s = IO::Socket::INET->new('127.0.0.1:' . port(8080)) or die "$!";
$s->syswrite("GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n");
my ($first) = read_response($s);
like($first // '', qr!^HTTP/1\.1 200 !, 'ready before the stop');

$t->signal('QUIT');
sleep 0.5;

$s->syswrite("GET /ready HTTP/1.1\r\nHost: localhost\r\n\r\n");
my ($second) = read_response($s);
like($second // '', qr!^HTTP/1\.1 503 !, 'not ready while draining');

###############################################################################
