#!/usr/bin/perl

# Tests for proxying to upstream {} groups: round robin and weights,
# failover to the next server and passive health (max_fails), backup
# servers, keep-alive reuse of backend connections (counted by the
# backend), proxy_next_upstream for statuses and its rule for
# non-idempotent requests, and proxy_next_upstream_tries.

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

my $t = Test::Divehttpd->new()->has(qw/http http_proxy/)->plan(19);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 1;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    upstream rr {
        server 127.0.0.1:8081;
        server 127.0.0.1:8082;
    }

    upstream weighted {
        server 127.0.0.1:8081 weight=3;
        server 127.0.0.1:8082;
    }

    upstream failover {
        server 127.0.0.1:8089 max_fails=1 fail_timeout=60s;
        server 127.0.0.1:8081;
    }

    upstream withbackup {
        server 127.0.0.1:8088;
        server 127.0.0.1:8082 backup;
    }

    upstream pooled {
        server 127.0.0.1:8084;
        keepalive 4;
    }

    upstream unpooled {
        server 127.0.0.1:8085;
    }

    upstream deadfirst {
        server 127.0.0.1:8089 max_fails=0;
        server 127.0.0.1:8081;
    }

    upstream flaky {
        server 127.0.0.1:8083 max_fails=0;
        server 127.0.0.1:8081;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /rr/ {
            proxy_pass http://rr;
        }

        location /weighted/ {
            proxy_pass http://weighted;
        }

        location /failover/ {
            proxy_pass http://failover;
        }

        location /backup/ {
            proxy_pass http://withbackup;
        }

        location /pooled/ {
            proxy_pass http://pooled;
        }

        location /unpooled/ {
            proxy_pass http://unpooled;
        }

        location /flaky/ {
            proxy_pass http://flaky;
            proxy_next_upstream error timeout http_503;
        }

        location /deadfirst/ {
            proxy_pass http://deadfirst;
        }

        location /flaky-post/ {
            proxy_pass http://flaky;
            proxy_next_upstream error timeout http_503 non_idempotent;
        }

        location /flaky-off/ {
            proxy_pass http://flaky;
            proxy_next_upstream off;
        }

        location /flaky-once/ {
            proxy_pass http://flaky;
            proxy_next_upstream error timeout http_503;
            proxy_next_upstream_tries 1;
        }
    }
}

EOF

backend($t, id => 'a', port => port(8081));
backend($t, id => 'b', port => port(8082));
backend($t, id => 'busy', port => port(8083), status => 503);
backend($t, id => 'pooled', port => port(8084));
backend($t, id => 'unpooled', port => port(8085));
$t->run();

sub echo {
    my ($r) = @_;
    return eval { decode_json(http_content($r) // '') } || {};
}

sub ids {
    my ($uri, $n, %o) = @_;
    my %seen;
    for (1 .. $n) {
        my $e = echo(http_get($uri));
        $seen{$e->{backend} // 'none'}++;
    }
    return \%seen;
}

###############################################################################

is_deeply(ids('/rr/', 4), { a => 2, b => 2 }, 'round robin');
is_deeply(ids('/weighted/', 8), { a => 6, b => 2 }, 'weights');

# the first server refuses: the request goes on to the next one, and
# the refusing one is then left out for fail_timeout
is_deeply(ids('/failover/', 4), { a => 4 }, 'failover');
is($t->count_log(qr/connect\(\) failed.*upstream: 127\.0\.0\.1:${\ port(8089)}/),
    1, 'failed server tried once (max_fails)');

is_deeply(ids('/backup/', 2), { b => 2 }, 'backup when the primary is down');

# keep-alive: one backend connection serves sequential requests
my %conns;
$conns{echo(http_get('/pooled/'))->{conn}}++ for 1 .. 5;
is(scalar(keys %conns), 1, 'keepalive: one backend connection');
my $e = echo(http_get('/pooled/last'));
is($e->{req}, 6, 'keepalive: sixth request on it');
ok(!exists $e->{headers}{connection}, 'keepalive: no Connection header');

%conns = ();
$conns{echo(http_get('/unpooled/'))->{conn}}++ for 1 .. 3;
is(scalar(keys %conns), 3, 'no keepalive: a connection per request');

# next upstream on a status: GET goes on to the next server
is_deeply(ids('/flaky/', 2), { a => 2 }, 'http_503: next server');

# POST is not retried once sent, unless non_idempotent
my $post = "POST %s HTTP/1.0\r\nHost: localhost\r\nContent-Length: 1\r\n\r\nx";
my %post;
for (1 .. 2) {
    my $r = http(sprintf($post, '/flaky/'));
    my ($code) = $r =~ /^HTTP\/1.1 (\d+)/;
    $post{$code}++;
}
ok($post{503}, 'POST not retried after it was sent');

%post = ();
for (1 .. 2) {
    my $r = http(sprintf($post, '/flaky-post/'));
    my ($code) = $r =~ /^HTTP\/1.1 (\d+)/;
    $post{$code}++;
}
is_deeply(\%post, { 200 => 2 }, 'POST retried with non_idempotent');

# a POST whose server refused the connection was never sent: it goes on
my $refused = $t->count_log(qr/connect\(\) failed/);
%post = ();
for (1 .. 2) {
    my $r = http(sprintf($post, '/deadfirst/'));
    my ($code) = $r =~ /^HTTP\/1.1 (\d+)/;
    $post{$code}++;
}
is_deeply(\%post, { 200 => 2 }, 'POST retried when nothing was sent');
ok($t->count_log(qr/connect\(\) failed/) > $refused,
    'the refusing server was tried');

my %codes;
for (1 .. 2) {
    my ($code) = http_get('/flaky-off/') =~ /^HTTP\/1.1 (\d+)/;
    $codes{$code}++;
}
is_deeply(\%codes, { 200 => 1, 503 => 1 }, 'proxy_next_upstream off');

%codes = ();
for (1 .. 2) {
    my ($code) = http_get('/flaky-once/') =~ /^HTTP\/1.1 (\d+)/;
    $codes{$code}++;
}
is_deeply(\%codes, { 200 => 1, 503 => 1 }, 'proxy_next_upstream_tries 1');

###############################################################################
# the upstream variables and metrics reach the access log and /metrics
# are the upstream client's; here only what the proxy adds: every server
# down gives 502

$t->stop();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 1;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    upstream dead {
        server 127.0.0.1:8086;
        server 127.0.0.1:8087;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location / {
            proxy_pass http://dead;
        }
    }
}

EOF

$t->run();

like(http_get('/'), qr/^HTTP\/1.1 502/, 'every server down: 502');
like(http_get('/'), qr/^HTTP\/1.1 502/, 'still 502 (no live upstreams)');
like($t->read_file('error.log'),
    qr/upstream: 127\.0\.0\.1:${\ port(8087)}/, 'second server tried');

###############################################################################
