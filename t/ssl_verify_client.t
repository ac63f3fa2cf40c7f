#!/usr/bin/perl

# Tests for TLS client certificates: ssl_verify_client on, optional and
# optional_no_ca with ssl_client_certificate and ssl_verify_depth; 400
# "No required SSL certificate was sent" and "The SSL certificate error";
# the $ssl_client_* variables, $ssl_protocol and $ssl_cipher; the check
# made for the server the Host chose; and configuration errors.  The
# client is curl with certificates made by the openssl CLI.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_ssl/);

plan(skip_all => 'no openssl or curl command')
    unless `openssl version 2>/dev/null` =~ /^OpenSSL 3/
        && `curl --version 2>/dev/null` =~ /^curl/;

$t->plan(21);

my $d = $t->testdir();

sub sh {
    my ($cmd) = @_;
    system("$cmd >>$d/openssl.log 2>&1") == 0
        or die "failed: $cmd\n";
}

# a CA with a server and a client certificate, an intermediate CA with a
# client below it (chain depth 2), and a self-signed client
sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=Test CA'"
    . " -keyout $d/ca.key -out $d/ca.crt");

sub issue {
    my ($name, $subj, $ca, $ext) = @_;
    sh("openssl req -newkey rsa:2048 -nodes -subj '$subj'"
        . " -keyout $d/$name.key -out $d/$name.csr");
    sh("openssl x509 -req -in $d/$name.csr -CA $d/$ca.crt -CAkey $d/$ca.key"
        . " -CAcreateserial -days 2 -out $d/$name.crt"
        . ($ext ? " -extfile $d/$ext" : ''));
}

$t->write_file('server.ext', "subjectAltName=DNS:one.test,DNS:two.test,"
    . "DNS:opt.test,DNS:noca.test\n");
$t->write_file('ca.ext', "basicConstraints=critical,CA:true\n");
issue('server', '/CN=one.test', 'ca', 'server.ext');
issue('client', '/O=Dive/CN=alice', 'ca');
issue('inter', '/CN=Intermediate CA', 'ca', 'ca.ext');
issue('deep', '/CN=bob', 'inter');
$t->write_file('deep-chain.crt',
    $t->read_file('deep.crt') . $t->read_file('inter.crt'));
sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=mallory'"
    . " -keyout $d/self.key -out $d/self.crt");

my $fp = lc((`openssl x509 -in $d/client.crt -noout -fingerprint -sha1`
    =~ /=([0-9A-F:]+)/)[0] =~ s/://gr);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    default_type text/plain;
    log_format certs '$ssl_client_verify|$ssl_client_s_dn';

    server {
        listen       127.0.0.1:8443 ssl;
        server_name  one.test;

        ssl_certificate         server.crt;
        ssl_certificate_key     server.key;
        ssl_client_certificate  ca.crt;
        ssl_verify_client       on;

        access_log  logs/certs.log certs;

        location / {
            return 200 "$ssl_client_verify|$ssl_client_s_dn|$ssl_client_i_dn|$ssl_client_fingerprint";
        }

        location /tls {
            return 200 "$ssl_protocol|$ssl_cipher|$ssl_session_reused";
        }
    }

    server {
        listen       127.0.0.1:8443 ssl;
        server_name  two.test;

        ssl_certificate         server.crt;
        ssl_certificate_key     server.key;

        location / {
            return 200 "two $ssl_client_verify";
        }
    }

    server {
        listen       127.0.0.1:8444 ssl;
        server_name  opt.test;

        ssl_certificate         server.crt;
        ssl_certificate_key     server.key;
        ssl_client_certificate  ca.crt;
        ssl_verify_client       optional;
        ssl_verify_depth        0;

        location / {
            return 200 "$ssl_client_verify|$ssl_client_s_dn";
        }
    }

    server {
        listen       127.0.0.1:8445 ssl;
        server_name  noca.test;

        ssl_certificate         server.crt;
        ssl_certificate_key     server.key;
        ssl_verify_client       optional_no_ca;

        location / {
            return 200 "$ssl_client_verify|$ssl_client_s_dn";
        }
    }
}

EOF

$t->run();

###############################################################################

sub curl {
    my ($port, $host, $uri, $args) = @_;
    my $p = port($port);
    return scalar `curl -sS -i --max-time 10 --cacert $d/ca.crt --resolve $host:$p:127.0.0.1 $args https://$host:$p$uri 2>&1`;
}

sub body { (split /\r\n\r\n/, $_[0], 2)[1] // '' }

my $alice = "--cert $d/client.crt --key $d/client.key";

# ssl_verify_client on

my $r = curl(8443, 'one.test', '/', $alice);
like($r, qr/^HTTP\/1.1 200 /, 'on: valid certificate accepted');
is(body($r), "SUCCESS|CN=alice,O=Dive|CN=Test CA|$fp",
    'on: verify, subject, issuer and fingerprint variables');

$r = curl(8443, 'one.test', '/', '');
like($r, qr/^HTTP\/1.1 400 /, 'on: no certificate: 400');
like(body($r), qr/<title>400 No required SSL certificate was sent<\/title>/,
    'on: no certificate: page');
like($r, qr/^Connection: close\r$/m, 'on: no certificate: connection closed');

$r = curl(8443, 'one.test', '/', "--cert $d/self.crt --key $d/self.key");
like($r, qr/^HTTP\/1.1 400 /, 'on: untrusted certificate: 400');
like(body($r), qr/<center>The SSL certificate error<\/center>/,
    'on: untrusted certificate: page');

is(body(curl(8443, 'one.test', '/', "--cert $d/deep-chain.crt --key $d/deep.key")),
    "SUCCESS|CN=bob|CN=Intermediate CA|"
    . lc((`openssl x509 -in $d/deep.crt -noout -fingerprint -sha1`
          =~ /=([0-9A-F:]+)/)[0] =~ s/://gr),
    'on: one intermediate CA within ssl_verify_depth 1');

like(body(curl(8443, 'one.test', '/tls', $alice)),
    qr/^TLSv1\.[23]\|[A-Z0-9_-]+\|\.$/, '$ssl_protocol, $ssl_cipher');

# SNI two.test (no client certificates) but Host one.test: refused

$r = curl(8443, 'two.test', '/', "-H 'Host: one.test'");
like($r, qr/^HTTP\/1.1 400 /, 'Host of a verifying server over another SNI');
is(body(curl(8443, 'two.test', '/', '')), 'two NONE',
    'server without verification');

# optional, with depth 0: only certificates the CA signed itself

is(body(curl(8444, 'opt.test', '/', '')), 'NONE|',
    'optional: no certificate is fine');
is(body(curl(8444, 'opt.test', '/', $alice)), 'SUCCESS|CN=alice,O=Dive',
    'optional: valid certificate');
like(body(curl(8444, 'opt.test', '/',
    "--cert $d/deep-chain.crt --key $d/deep.key")),
    qr/The SSL certificate error/,
    'optional: an intermediate CA is too deep for ssl_verify_depth 0');
like(body(curl(8444, 'opt.test', '/', "--cert $d/self.crt --key $d/self.key")),
    qr/The SSL certificate error/, 'optional: untrusted certificate refused');

# optional_no_ca: an untrusted certificate passes and says so

like(body(curl(8445, 'noca.test', '/', "--cert $d/self.crt --key $d/self.key")),
    qr/^FAILED:.*\|CN=mallory$/, 'optional_no_ca: self-signed accepted');

$t->stop();

like($t->read_file('logs/certs.log'), qr/^SUCCESS\|CN=alice,O=Dive$/m,
    'variables in the access log');

# configuration errors

sub conf_error {
    my ($name, $body) = @_;
    $t->write_file("$name.conf", "events {\n}\nhttp {\n    server {\n"
        . "        listen 127.0.0.1:" . port(8446) . " ssl;\n"
        . "        ssl_certificate server.crt;\n"
        . "        ssl_certificate_key server.key;\n" . $body
        . "    }\n}\n");
    my ($rc, $out, $err) = $t->cmd('-t', '-c', "$d/$name.conf");
    return ($rc, $err);
}

my ($rc, $err) = conf_error('noca', "        ssl_verify_client on;\n");
is($rc, 1, 'verify without CA file: exit 1');
like($err, qr/no "ssl_client_certificate" is defined for "ssl_verify_client"/,
    'verify without CA file: message');

($rc, $err) = conf_error('badmode', "        ssl_verify_client sometimes;\n");
like($err, qr/"sometimes".*badmode\.conf:8$/m, 'bad mode: file:line');

($rc, $err) = conf_error('badca', "        ssl_verify_client on;\n"
    . "        ssl_client_certificate nonexistent.crt;\n");
like($err, qr/nonexistent\.crt/, 'missing CA file named');

###############################################################################
