#!/usr/bin/perl

# Tests for proxying to a TLS backend: verification on by default with a
# test CA (made here with openssl) as proxy_ssl_trusted_certificate, SNI
# and proxy_ssl_name, a failing verification (unknown CA, wrong name) as
# 502 with a log line, and proxy_ssl_verify off.

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;
use Test::Divehttpd::Backend;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

eval { require IO::Socket::SSL; };
plan(skip_all => 'IO::Socket::SSL not installed') if $@;

my $t = Test::Divehttpd->new()->has(qw/http http_proxy http_upstream_ssl/)
    ->plan(11);

my $d = $t->testdir();

# a CA and a server certificate for "localhost" signed by it
sub openssl {
    my $cmd = "openssl @_ >>$d/openssl.log 2>&1";
    system($cmd) == 0 or die "failed: $cmd\n";
}

openssl("req -x509 -new -newkey rsa:2048 -nodes -days 2 -subj /CN=TestCA"
    . " -keyout $d/ca.key -out $d/ca.pem");
openssl("req -new -newkey rsa:2048 -nodes -subj /CN=localhost"
    . " -keyout $d/server.key -out $d/server.csr");
$t->write_file('ext.cnf', "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
openssl("x509 -req -in $d/server.csr -CA $d/ca.pem -CAkey $d/ca.key"
    . " -CAcreateserial -days 2 -extfile $d/ext.cnf -out $d/server.pem");
# a second CA that signed nothing here
openssl("req -x509 -new -newkey rsa:2048 -nodes -days 2 -subj /CN=OtherCA"
    . " -keyout $d/other.key -out $d/other.pem");

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    # failures here must not take the server out for the other tests
    upstream tlsb {
        server 127.0.0.1:8081 max_fails=0;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /ok/ {
            proxy_pass https://127.0.0.1:8081;
            proxy_ssl_trusted_certificate %%TESTDIR%%/ca.pem;
            proxy_ssl_name localhost;
        }

        location /ip/ {
            proxy_pass https://127.0.0.1:8081;
            proxy_ssl_trusted_certificate %%TESTDIR%%/ca.pem;
        }

        location /wrongca/ {
            proxy_pass https://tlsb;
            proxy_ssl_trusted_certificate %%TESTDIR%%/other.pem;
            proxy_ssl_name localhost;
        }

        location /wrongname/ {
            proxy_pass https://tlsb;
            proxy_ssl_trusted_certificate %%TESTDIR%%/ca.pem;
            proxy_ssl_name example.com;
        }

        location /noverify/ {
            proxy_pass https://127.0.0.1:8081;
            proxy_ssl_verify off;
        }

        location /nosni/ {
            proxy_pass https://127.0.0.1:8081;
            proxy_ssl_verify off;
            proxy_ssl_name localhost;
            proxy_ssl_server_name off;
        }
    }
}

EOF

backend($t, id => 'tls', port => port(8081),
    tls => { cert => "$d/server.pem", key => "$d/server.key" });
$t->run();

###############################################################################

my $r = http_get('/ok/x');
my $ok = $r;
like($r, qr/^HTTP\/1.1 200/, 'verified TLS backend');
like($r, qr/"backend":"tls"/, 'answer came over TLS');
like(http_get('/ip/x'), qr/^HTTP\/1.1 200/, 'verified by IP address');

like(http_get('/wrongca/x'), qr/^HTTP\/1.1 502/, 'unknown CA: 502');
like(http_get('/wrongname/x'), qr/^HTTP\/1.1 502/, 'wrong name: 502');
is($t->count_log(qr/certificate verify error/), 2,
    'each verification failure logged');
like($t->read_file('error.log'),
    qr/TLS handshake, upstream: 127\.0\.0\.1:${\ port(8081)}/,
    'failure logged with the address');

like($ok, qr/"sni":"localhost"/, 'proxy_ssl_name sent as SNI');

$r = http_get('/nosni/x');
like($r, qr/"sni":""/, 'proxy_ssl_server_name off: no SNI');

$r = http_get('/noverify/x');
like($r, qr/^HTTP\/1.1 200/, 'proxy_ssl_verify off');
like($r, qr/"backend":"tls"/, 'noverify answer');

###############################################################################
