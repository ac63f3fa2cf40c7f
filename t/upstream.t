#!/usr/bin/perl

# Tests for upstream {} blocks (the upstream client): weighted round
# robin, failover to the next server, backup servers, passive health
# (max_fails), keep-alive connection reuse (counted on the backend),
# keepalive_requests, hash and ip_hash stickiness, least_conn, retries on
# a listed 5xx, the $upstream_* variables, the upstream metrics, and the
# configuration errors -t reports with file:line.

use warnings;
use strict;

use Test::More;
use JSON::PP;
use IO::Socket::INET;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;
use Test::Divehttpd::Backend;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_proxy http_metrics/)
    ->plan(36);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 1;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    log_format ups '$uri $upstream_addr|$upstream_status|'
                   '$upstream_response_time|$upstream_connect_time';
    access_log %%TESTDIR%%/ups.log ups;

    upstream weighted {
        server 127.0.0.1:8081 weight=2;
        server 127.0.0.1:8082;
    }

    upstream failover {
        server 127.0.0.1:8084;
        server 127.0.0.1:8081;
    }

    upstream withbackup {
        server 127.0.0.1:8084 max_fails=1 fail_timeout=30s;
        server 127.0.0.1:8083 backup;
    }

    upstream cached {
        server 127.0.0.1:8081;
        keepalive 2;
        keepalive_requests 3;
    }

    upstream hashed {
        hash $arg_k consistent;
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
        server 127.0.0.1:8083;
    }

    upstream iphash {
        ip_hash;
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }

    upstream least {
        least_conn;
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }

    upstream errors {
        server 127.0.0.1:8085;
        server 127.0.0.1:8081;
    }

    upstream only503 {
        server 127.0.0.1:8085;
    }

    upstream interim {
        server 127.0.0.1:8087;
    }

    upstream twolengths {
        server 127.0.0.1:8088;
    }

    upstream closing {
        server 127.0.0.1:8086;
        keepalive 2;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /metrics { metrics; }

        location /w/ { proxy_pass http://weighted; }
        location /f/ { proxy_pass http://failover; }
        location /b/ { proxy_pass http://withbackup; }
        location /k/ { proxy_pass http://cached; }
        location /n/ { proxy_pass http://127.0.0.1:8082; }
        location /h/ { proxy_pass http://hashed; }
        location /i/ { proxy_pass http://iphash; }
        location /l/ { proxy_pass http://least; }

        location /e/ {
            proxy_pass http://errors;
            proxy_next_upstream error timeout http_503;
        }

        location /c/ { proxy_pass http://closing; }
        location /1xx/ { proxy_pass http://interim; }
        location /cl2/ { proxy_pass http://twolengths; }

        location /e1/ {
            proxy_pass http://only503;
            proxy_next_upstream error timeout http_503;
        }
    }
}

EOF

backend($t, id => 'a', port => port(8081));
backend($t, id => 'b', port => port(8082));
backend($t, id => 'c', port => port(8083));
backend($t, id => 'e', port => port(8085), status => '503');
closing_backend(port(8086));
raw_backend(port(8087), "HTTP/1.1 100 Continue\r\n\r\n"
    . "HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
    . "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal");
raw_backend(port(8088), "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
    . "Content-Length: 3\r\n\r\nabc");
$t->run();

# Answers every request with the same bytes, then closes.
sub raw_backend {
    my ($port, $answer) = @_;
    my $ls = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => '127.0.0.1',
        LocalPort => $port, Listen => 16, ReuseAddr => 1)
        or die "can't listen on $port: $!";

    $t->run_daemon(sub {
        while (my $c = $ls->accept()) {
            my $head = '';
            while ($head !~ /\r\n\r\n/) {
                last unless sysread($c, $head, 4096, length $head);
            }
            print $c $answer;
            close $c;
        }
    });
    close $ls;
}

# Answers the first request of a connection as if it kept the connection
# alive (no "Connection: close"), and closes the connection without an
# answer when a second request comes on it: what a backend whose
# keep-alive timeout just ran out does.  The proxy must then retry the
# request on a fresh connection.
sub closing_backend {
    my ($port) = @_;
    my $ls = IO::Socket::INET->new(Proto => 'tcp', LocalAddr => '127.0.0.1',
        LocalPort => $port, Listen => 16, ReuseAddr => 1)
        or die "can't listen on $port: $!";

    $t->run_daemon(sub {
        my $n = 0;
        while (my $c = $ls->accept()) {
            $n++;
            my $head = '';
            while ($head !~ /\r\n\r\n/) {
                last unless sysread($c, $head, 4096, length $head);
            }
            print $c "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
                . "X-Conn: $n\r\n\r\n$n";
            $head = '';
            while ($head !~ /\r\n\r\n/) {
                last unless sysread($c, $head, 4096, length $head);
            }
            close $c;
        }
    });
    close $ls;
}

sub echo {
    my ($uri) = @_;
    my $body = http_content(http_get($uri)) // '';
    return eval { decode_json($body) } || {};
}

sub ids {
    my ($prefix, $n, $arg) = @_;
    return join '', map { echo("$prefix$_" . ($arg // ''))->{backend} // '-' }
        1 .. $n;
}

###############################################################################
# balancing

is(ids('/w/', 6), 'abaaba', 'weighted round robin 2:1, smooth');

is(ids('/f/', 3), 'aaa', 'failover past an unreachable server');

is(ids('/b/', 2), 'cc', 'backup used when the primary is down');

my $h1 = ids('/h/x', 4, '?k=user1');
like($h1, qr/^(.)\1\1\1$/, 'hash: one key sticks to one server');
my %seen = map { (echo("/h/$_?k=key$_")->{backend} // '-') => 1 } 1 .. 30;
ok(keys %seen >= 2, 'hash: keys spread over servers');

like(ids('/i/', 4), qr/^(.)\1\1\1$/, 'ip_hash: one client, one server');

like(ids('/l/', 4), qr/^[ab]{4}$/, 'least_conn answers');

###############################################################################
# retries on a listed status

my $e = echo('/e/x');
is($e->{backend}, 'a', 'http_503 listed: the next server answered');

my $r = http_get('/e1/y');
like($r, qr/^HTTP\/1.1 503/, 'no other server: the 503 is passed on');

###############################################################################
# keep-alive to the backend

my @k = map { echo("/k/$_") } 1 .. 4;
is($k[0]{conn}, $k[1]{conn}, 'keepalive: second request reuses');
is($k[1]{conn}, $k[2]{conn}, 'keepalive: third request reuses');
is($k[2]{req}, 3, 'three requests on one backend connection');
isnt($k[3]{conn}, $k[2]{conn}, 'keepalive_requests 3: a new connection');
is($k[3]{req}, 1, 'the new connection starts over');

my @n = map { echo("/n/$_") } 1 .. 2;
isnt($n[0]{conn}, $n[1]{conn}, 'no keepalive: a connection per request');

my @c = map { http_get("/c/$_") } 1 .. 3;
is(scalar(grep { /^HTTP\/1.1 200/ } @c), 3,
    'a request on a stale cached connection is retried');
my %conns = map { (/X-Conn: (\d+)/)[0] => 1 } @c;
is(scalar(keys %conns), 3, 'each time on a fresh backend connection');

###############################################################################
# response heads

$r = http_get('/1xx/');
like($r, qr/^HTTP\/1.1 200 .*\r\n\r\nfinal$/s,
    'interim 1xx responses skipped, the final one passed');
unlike($r, qr/Early Hints|Link:/, 'nothing of the interim heads');

like(http_get('/cl2/'), qr/^HTTP\/1.1 502/,
    'two different Content-Length values: 502');

###############################################################################
# variables and metrics

my $log = $t->read_file('ups.log');
like($log, qr{^/f/1 127\.0\.0\.1:${\ port(8084)}, 127\.0\.0\.1:${\ port(8081)}\|502, 200\|[\d.]+, [\d.]+\|-, [\d.]+$}m,
    '$upstream_* list every try');
like($log, qr{^/w/1 127\.0\.0\.1:${\ port(8081)}\|200\|\d+\.\d{3}\|\d+\.\d{3}$}m,
    'one try');
like($log, qr{^/e/x 127\.0\.0\.1:${\ port(8085)}, 127\.0\.0\.1:${\ port(8081)}\|503, 200\|}m,
    'a retried 503 is logged');

my $m = http_content(http_get('/metrics')) // '';
like($m, qr/^divehttpd_upstream_requests_total\{upstream="weighted",server="127\.0\.0\.1:${\ port(8081)}",code="2xx"\} 4$/m,
    'requests per server and class');
like($m, qr/^divehttpd_upstream_failures_total\{upstream="failover",server="127\.0\.0\.1:${\ port(8084)}",reason="connect"\} [1-3]$/m,
    'failures per server and reason');
like($m, qr/^divehttpd_upstream_response_seconds_count\{upstream="weighted"\} 6$/m,
    'response time histogram');
like($m, qr/^divehttpd_upstream_connections\{upstream="cached",state="idle"\} 1$/m,
    'idle connections gauge');

my $err = $t->read_file('error.log');
like($err, qr/connect\(\) failed.*upstream: 127\.0\.0\.1:${\ port(8084)}/,
    'connect failure logged with the address');
like($err, qr/cached upstream connection failed, retrying on a new one, upstream: 127\.0\.0\.1:${\ port(8086)}/,
    'the retry is logged');
like($err, qr/upstream server temporarily disabled.*127\.0\.0\.1:${\ port(8084)}/,
    'a failed server is disabled');

$t->stop();

###############################################################################
# configuration errors

sub conf_error {
    my ($body) = @_;
    my $d = $t->testdir();
    $t->write_file_expand('bad.conf', <<"EOF");
events {}
http {
$body
    server { listen 127.0.0.1:8080; location / { proxy_pass http://u; } }
}
EOF
    my ($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-e',
        "$d/cmd-error.log", '-t', '-c', "$d/bad.conf");
    return ($rc, ($out // '') . ($err // ''));
}

my ($rc, $out) = conf_error("    upstream u { }");
ok($rc != 0 && $out =~ /no servers are inside upstream in .*bad\.conf:3/,
    'empty upstream: file:line');

($rc, $out) = conf_error("    upstream u { server 127.0.0.1:1 weight=x; }");
ok($rc != 0 && $out =~ /invalid weight "weight=x" in .*bad\.conf:3/,
    'bad weight: file:line');

($rc, $out) = conf_error("    upstream u { server 127.0.0.1:1; }\n"
    . "    upstream u { server 127.0.0.1:2; }");
ok($rc != 0 && $out =~ /"upstream" directive is duplicate in .*bad\.conf:4/,
    'duplicate upstream');

($rc, $out) = conf_error("    upstream u { ip_hash; least_conn; "
    . "server 127.0.0.1:1; }");
ok($rc != 0 && $out =~ /least_conn.*bad\.conf:3/, 'two balancers');

($rc, $out) = conf_error("    upstream v { server no-such-host.invalid:80; "
    . "}\n    upstream u { server 127.0.0.1:1; }");
ok($rc != 0 && $out =~ /host not found in upstream "no-such-host\.invalid:80" in .*bad\.conf:3/,
    'unknown host: file:line');

($rc, $out) = conf_error("    upstream u { server 127.0.0.1:1; keepalive x; }");
ok($rc != 0 && $out =~ /invalid value "x" in "keepalive" directive in .*bad\.conf:3/,
    'bad keepalive: file:line');

###############################################################################
