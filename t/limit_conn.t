#!/usr/bin/perl

# Tests for limit_conn: while one request of a client is in progress (held
# by a limit_req delay), a second one over the limit gets 503 (or
# limit_conn_status); the slot is given back when the request ends; other
# keys are not affected (two workers share the zone).

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_limit_conn http_limit_req/)
    ->plan(14);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    limit_conn_zone $binary_remote_addr zone=addr:64k;
    limit_conn_zone $http_x_key zone=var:64k;

    # 30r/m: a request queued behind another waits about 2 s, which holds
    # its limit_conn slot while the test sends the next one
    limit_req_zone $binary_remote_addr zone=slow:64k rate=30r/m;
    limit_req_zone $http_x_key zone=slowvar:64k rate=30r/m;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        root %%TESTDIR%%/html;

        location /prime/ {
            limit_req zone=slow burst=10;
        }

        location /held/ {
            limit_conn addr 1;
            limit_req zone=slow burst=10;
        }

        location /status/ {
            limit_conn zone=addr 1;
            limit_conn_status 429;
            limit_conn_log_level warn;
        }

        location /var/ {
            limit_conn var 1;
            limit_req zone=slowvar burst=10;
        }
    }
}

EOF

for my $d (qw/prime held status var/) {
    $t->write_file("html/$d/index.html", "$d\n");
}

$t->run();

###############################################################################

sub get {
    my ($uri, $h) = @_;
    $h = $h ? "$h\r\n" : '';
    return "GET $uri HTTP/1.0\r\nHost: localhost\r\n$h\r\n";
}

sub code {
    my ($r) = @_;
    return 'none' unless defined $r;
    return $r =~ m!^HTTP/1\.[01] (\d{3})! ? $1 : 'bad';
}

# fill the bucket, then hold a request in /held/ (it waits in limit_req
# after limit_conn has counted it)
is(code(http(get('/prime/'))), 200, 'prime the rate');

my $held = http(get('/held/'), start => 1);
ok(wait_until(sub { $t->count_log(qr/delaying request .* zone "slow"/) >= 1 },
    10), 'first request is held');

is(code(http(get('/held/'))), 503, 'second request while one runs: 503');
is(code(http(get('/status/'))), 429,
    'limit_conn_status 429 (same zone, slot taken)');

my $r = http_end($held);
is(code($r), 200, 'held request is served');
like($r, qr/held\n\z/, 'held request body');

# the slot is back: a new request counts again (and waits in limit_req)
is(code(http(get('/status/'))), 200, 'slot released when the request ended');

# keys by variable: the first request of key b fills its bucket, the
# second is held; a third of key b is over the limit, key c is not
is(code(http(get('/var/', 'X-Key: b'))), 200, 'key b: first');

my $b2 = http(get('/var/', 'X-Key: b'), start => 1);
ok(wait_until(sub {
    $t->count_log(qr/delaying request .* zone "slowvar"/) >= 1 }, 10),
    'key b request held');
is(code(http(get('/var/', 'X-Key: b'))), 503, 'key b: second one 503');
is(code(http(get('/var/', 'X-Key: c'))), 200, 'key c: own slot');
is(code(http(get('/var/'))), 200, 'empty key: not limited');

is(code(http_end($b2)), 200, 'held key b request served');

is($t->count_log(qr/\[warn\].*limiting connections by zone "addr"/), 1,
    'limit_conn_log_level warn');

###############################################################################
