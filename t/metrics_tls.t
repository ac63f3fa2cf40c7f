#!/usr/bin/perl

# Tests for the TLS metrics: completed and failed handshakes are counted
# (tls_handshakes_total, tls_handshake_failures_total).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use IO::Socket::INET;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_ssl http_metrics/);

plan(skip_all => 'no openssl or curl command')
    unless `openssl version 2>/dev/null` =~ /^OpenSSL/
    && `curl --version 2>/dev/null` =~ /^curl/;

$t->plan(3);
my $d = $t->testdir();

system("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost"
    . " -keyout $d/k.pem -out $d/c.pem >$d/openssl.log 2>&1") == 0
    or die "openssl req failed";

$t->write_file_expand('divehttpd.conf', <<'EOF2');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8443 ssl;
        server_name  localhost;

        ssl_certificate      c.pem;
        ssl_certificate_key  k.pem;

        location = /metrics { metrics; }
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /metrics { metrics; }
    }
}

EOF2

$t->run();

###############################################################################

my $port = port(8443);
`curl -sk https://127.0.0.1:$port/metrics` for 1 .. 2;

# not TLS at all: a failed handshake
my $s = IO::Socket::INET->new("127.0.0.1:$port") or die "connect: $!";
$s->syswrite("GET / HTTP/1.0\r\n\r\n");
$s->sysread(my $buf, 1024);
undef $s;

my $m = http_content(http_get('/metrics')) // '';
like($m, qr/^divehttpd_tls_handshakes_total 2$/m, 'handshakes');
like($m, qr/^divehttpd_tls_handshake_failures_total 1$/m, 'failures');
like($m, qr/^# TYPE divehttpd_tls_handshakes_total counter$/m, 'type');

###############################################################################
