#!/usr/bin/perl

# Tests for TLS: "listen ... ssl", certificates, protocols, SNI, session
# resumption through the shared cache and tickets across two workers,
# keep-alive and pipelining, a large file, the handshake timeout, plain
# HTTP on a TLS port, and configuration errors.  Clients are curl and
# openssl s_client; the certificates are made with the openssl CLI.

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

$t->plan(36);

my $d = $t->testdir();

# a CA and two server certificates signed by it
sub sh {
    my ($cmd) = @_;
    system("$cmd >>$d/openssl.log 2>&1") == 0
        or die "failed: $cmd\n";
}

sh("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=Test CA'"
    . " -keyout $d/ca.key -out $d/ca.crt");

for my $n (qw/one two/) {
    $t->write_file("$n.ext", "subjectAltName=DNS:$n.test,DNS:localhost\n");
    sh("openssl req -newkey rsa:2048 -nodes -subj '/CN=$n.test'"
        . " -keyout $d/$n.key -out $d/$n.csr");
    sh("openssl x509 -req -in $d/$n.csr -CA $d/ca.crt -CAkey $d/ca.key"
        . " -CAcreateserial -days 2 -extfile $d/$n.ext -out $d/$n.crt");
}

$t->write_file('html/index.html', "index\n");

my $big = join('', map { pack('N', $_ * 2654435761 % 4294967296) }
    0 .. 262143);
$t->write_file('html/big.bin', $big);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    ssl_session_cache shared:TLS:1m;
    ssl_session_timeout 5m;

    server {
        listen       127.0.0.1:8443 ssl;
        server_name  one.test;

        ssl_certificate      one.crt;
        ssl_certificate_key  one.key;

        location / {
            root %%TESTDIR%%/html;
        }

        location /r {
            return 200 "one";
        }

        location /scheme {
            return 200 "$scheme:$https";
        }
    }

    server {
        listen       127.0.0.1:8080;
        server_name  one.test;

        location / {
            return 308 https://$host$request_uri;
        }

        location /scheme {
            return 200 "$scheme:$https";
        }
    }

    server {
        listen       127.0.0.1:8443;
        server_name  two.test *.two.test;

        ssl_certificate      two.crt;
        ssl_certificate_key  two.key;

        location /r {
            return 200 "two";
        }
    }

    server {
        listen       127.0.0.1:8444 ssl;
        server_name  slow.test;

        ssl_certificate        one.crt;
        ssl_certificate_key    one.key;
        ssl_handshake_timeout  1s;
        ssl_session_cache      off;
        ssl_session_tickets    off;

        location / {
            return 200 "slow";
        }
    }
}

EOF

$t->run();

our $p = port(8443);

# openssl s_client with its input from a file; returns stdout and stderr
sub s_client {
    my ($args, $input) = @_;
    $t->write_file('s_client.in', $input // '');
    my $cmd = "timeout 10 openssl s_client -connect 127.0.0.1:$p $args"
        . " -CAfile $d/ca.crt <$d/s_client.in 2>&1";
    return `$cmd`;
}

sub curl {
    my ($host, $uri, $args) = @_;
    $args //= '';
    my $cmd = "curl -sS --max-time 10 --cacert $d/ca.crt"
        . " --resolve $host:$p:127.0.0.1 $args https://$host:$p$uri 2>&1";
    return `$cmd`;
}

###############################################################################

# requests over TLS, verified against the CA
is(curl('one.test', '/r'), 'one', 'GET over TLS');
is(curl('one.test', '/'), "index\n", 'static file over TLS');
is(curl('two.test', '/r'), 'two', 'second server by SNI and Host');

# the scheme variables, and the HTTP -> HTTPS redirect of the plain port
is(curl('one.test', '/scheme'), 'https:on', '$scheme and $https over TLS');
like(http("GET /scheme HTTP/1.0\r\nHost: one.test\r\n\r\n"),
    qr/\r\n\r\nhttp:$/, '$scheme and $https over plain HTTP');
like(http("GET /a/b?c=d HTTP/1.0\r\nHost: one.test\r\n\r\n"),
    qr/^HTTP\/1\.1 308 .*^Location: https:\/\/one\.test\/a\/b\?c=d\r$/ms,
    'HTTP to HTTPS redirect');

# a 1 MiB file arrives byte-exact (read into memory: no sendfile on TLS)
my $got = curl('one.test', '/big.bin');
ok(length($got) == length($big) && $got eq $big, 'large file byte-exact');

# protocols: TLSv1.2 and TLSv1.3 by default, TLSv1.1 refused
like(s_client('-servername one.test -tls1_2', ''),
    qr/Protocol\s*:\s*TLSv1\.2/, 'TLSv1.2 accepted');
like(s_client('-servername one.test -tls1_3', ''),
    qr/New, TLSv1\.3/, 'TLSv1.3 accepted');
like(s_client('-servername one.test -tls1_1', ''),
    qr/New, \(NONE\), Cipher is \(NONE\)/, 'TLSv1.1 refused');

# SNI picks the certificate of the named server; no SNI: the default one
like(s_client('-servername one.test', ''), qr/subject=CN ?= ?one\.test/,
    'SNI one.test: its certificate');
like(s_client('-servername two.test', ''), qr/subject=CN ?= ?two\.test/,
    'SNI two.test: its certificate');
like(s_client('-servername www.two.test', ''),
    qr/subject=CN ?= ?two\.test/, 'SNI wildcard name: its certificate');
like(s_client('-noservername', ''), qr/subject=CN ?= ?one\.test/,
    'no SNI: default server certificate');
like(s_client('-servername two.test -verify_return_error'
        . ' -verify_hostname two.test', ''),
    qr/Verify return code: 0 \(ok\)/, 'SNI certificate verifies');

# session resumption through the shared cache (TLSv1.2, no tickets): all
# of several new connections, spread over the two workers, resume
unlink "$d/sess12.pem";
like(s_client("-servername one.test -tls1_2 -no_ticket"
        . " -sess_out $d/sess12.pem", ''),
    qr/^New, TLSv1\.2/m, 'TLSv1.2 session: new');

my $reused = 0;
for (1 .. 6) {
    $reused++ if s_client("-servername one.test -tls1_2 -no_ticket"
        . " -sess_in $d/sess12.pem", '') =~ /^Reused, /m;
}
is($reused, 6, 'shared session cache: resumed on every connection');

# the shared zone keeps its sessions across a reload
ok($t->reload(), 'reloaded');
like(s_client("-servername one.test -tls1_2 -no_ticket"
        . " -sess_in $d/sess12.pem", ''),
    qr/^Reused, /m, 'shared session cache survives a reload');

# tickets: keys made in the master before fork, so any worker takes them
unlink "$d/sess13.pem";
like(s_client("-servername one.test -tls1_3 -ign_eof"
        . " -sess_out $d/sess13.pem", "GET /r HTTP/1.0\r\n\r\n"),
    qr/^New, TLSv1\.3/m, 'TLSv1.3 ticket: new');

$reused = 0;
for (1 .. 6) {
    $reused++ if s_client("-servername one.test -tls1_3"
        . " -sess_in $d/sess13.pem", '') =~ /^Reused, /m;
}
is($reused, 6, 'session tickets: resumed on every connection');

unlink "$d/sess12t.pem";
s_client("-servername one.test -tls1_2 -sess_out $d/sess12t.pem", '');
like(s_client("-servername one.test -tls1_2 -sess_in $d/sess12t.pem", ''),
    qr/^Reused, /m, 'TLSv1.2 ticket resumed');

# no cache and no tickets on the other port: nothing resumes
{
    local $p = port(8444);
    unlink "$d/sess-off.pem";
    s_client("-servername slow.test -tls1_2 -sess_out $d/sess-off.pem", '');

    # s_client may not even save a session it cannot resume
    my $out = -e "$d/sess-off.pem"
        ? s_client("-servername slow.test -tls1_2 -sess_in $d/sess-off.pem",
                   '')
        : "New, (no session to offer)\n";
    like($out, qr/^New, /m,
        'ssl_session_cache off, tickets off: no resumption');
}

# keep-alive: two requests on one connection
my $v = curl('one.test', '/r', '-v -o /dev/null -o /dev/null'
    . " https://one.test:$p/r");
like($v, qr/Re-using existing connection/, 'keep-alive over TLS');

# pipelining: three requests in one write, answered in order
my $pipe = s_client('-quiet -ign_eof -servername one.test',
    "GET /r HTTP/1.1\r\nHost: one.test\r\n\r\n"
    . "GET /r HTTP/1.1\r\nHost: two.test\r\n\r\n"
    . "GET /index.html HTTP/1.1\r\nHost: one.test\r\n"
    . "Connection: close\r\n\r\n");
my @bodies = $pipe =~ /\r\n\r\n(one|two|index\n)/g;
is("@bodies", "one two index\n", 'pipelined requests over TLS in order');
is(() = $pipe =~ /HTTP\/1\.1 200 OK/g, 3, 'pipelined: three responses');

# plain HTTP sent to the TLS port: the handshake fails and the connection
# is closed without an HTTP answer
my $plain = http("GET / HTTP/1.0\r\nHost: one.test\r\n\r\n",
    PeerAddr => "127.0.0.1:$p");
ok(defined $plain && $plain !~ /^HTTP/, 'plain HTTP on TLS port: closed');

# handshake timeout: a client that connects and says nothing is closed
my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8444))
    or die "connect: $!";
my $r = http_end($s, timeout => 8);
ok(defined $r && $r eq '', 'silent client closed by ssl_handshake_timeout');

ok(wait_until(sub { $t->count_log(qr/SSL handshake timed out/) }),
    'handshake timeout logged');
ok($t->count_log(qr/\[info\].*SSL_do_handshake\(\) failed.*client: 127/),
    'failed handshake logged at info with the client address');

###############################################################################

# configuration errors name the file and line
sub conf_error {
    my ($name, $server) = @_;
    $t->write_file("$name.conf", <<"EOF");
events {
}
http {
    server {
$server
    }
}
EOF
    my ($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c',
        "$d/$name.conf", '-e', "$d/cmd-error.log", '-t');
    return ($rc, $err);
}

my ($rc, $err) = conf_error('nocert', "        listen 127.0.0.1:"
    . port(8445) . " ssl;\n");
is($rc, 1, 'missing certificate: -t fails');
my $msg = 'no "ssl_certificate" is defined for the listen ... ssl'
    . " directive in $d/nocert.conf:5";
like($err, qr/\Q$msg\E/,
    'missing certificate: message with file:line');

($rc, $err) = conf_error('badkey', "        listen 127.0.0.1:"
    . port(8445) . " ssl;\n        ssl_certificate one.crt;\n"
    . "        ssl_certificate_key nonexistent.key;\n");
is($rc, 1, 'bad key path: -t fails');
like($err, qr/cannot load certificate key "\Q$d\E\/nonexistent\.key"/,
    'bad key path: names the key');
like($err, qr/TLS setup of the server in \Q$d\E\/badkey\.conf:4 failed/,
    'bad key path: file:line of the server');

($rc, $err) = conf_error('badcache', "        ssl_session_cache foo;\n");
like($err, qr/invalid session cache "foo" in \Q$d\E\/badcache\.conf:5/,
    'invalid ssl_session_cache');

###############################################################################
