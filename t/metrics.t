#!/usr/bin/perl

# Tests for the metrics registry: request counters add up across two
# workers, survive a killed (respawned) worker and a reload, `metrics off`
# stops the accounting, and the duration histogram is consistent
# (cumulative buckets, _count, p50 <= p95 <= p99 in the JSON summary).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use JSON::PP;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_metrics/)->plan(25);

write_conf(1);
$t->run();

###############################################################################

ok(wait_until(sub { $t->worker_pids() == 2 }, 20), 'two workers');
my @workers = $t->worker_pids();

api(30);
is(settled('api', 30), 30, 'requests counted');

# every worker has its row: both show up in the per-process families
my $m = metrics();
is(scalar(grep { $m =~ /_resident_memory_bytes\{pid="$_"\} \d+/ } @workers),
    2, 'a slot per worker');

http_get('/off/x') for 1 .. 5;
is(settled('off', 0), 0, 'metrics off: not counted');
like(metrics(), qr/^divehttpd_http_responses_total\{code="200"\} (\d+)$/m,
    'responses by code');

# the counts of a killed worker are kept
kill 'KILL', $workers[0];
ok(wait_until(sub {
    my @now = $t->worker_pids();
    @now == 2 && !grep { $_ == $workers[0] } @now;
}, 20), 'killed worker respawned');

is(settled('api', 30), 30, 'counts kept after a worker died');
like(metrics(), qr/^divehttpd_respawns_total 1$/m, 'respawn counted');

api(10);
is(settled('api', 40), 40, 'counts continue after the respawn');

# reload with the same layout: the zone and its counts are kept
write_conf(2);
ok($t->reload(), 'reloaded');
is(settled('api', 40), 40, 'counts kept across a reload');
like(metrics(), qr/^divehttpd_reloads_total 1$/m, 'reload counted');
like(metrics(), qr/^divehttpd_worker_processes 2$/m, 'worker processes');

api(5);
is(settled('api', 45), 45, 'counts continue after the reload');

# histogram of the group
$m = metrics();
my @buckets = $m =~
    /^divehttpd_http_request_duration_seconds_bucket\{group="api",le="[^"]+"\} (\d+)$/mg;
is(scalar @buckets, 11, 'ten bounds and +Inf');
is_deeply([sort { $a <=> $b } @buckets], \@buckets, 'buckets cumulative');
is($buckets[-1], 45, '+Inf bucket holds every request');
like($m, qr/^divehttpd_http_request_duration_seconds_count\{group="api"\} 45$/m,
    '_count');
like($m, qr/^divehttpd_http_request_duration_seconds_sum\{group="api"\} [\d.]+$/m,
    '_sum');

my $s = decode_json(http_content(http_get('/_metrics')));
my $l = $s->{latency_by_route_ms}{api};
ok($l && $l->{p50} <= $l->{p95} && $l->{p95} <= $l->{p99},
    'p50 <= p95 <= p99');
ok($l && $l->{p99} <= 5, 'fast requests are in the first bucket');
is($s->{requests_by_route}{'GET api'}, 45, 'summary requests by route');

# known latencies: limit_req delays all but the first request by about
# 200 ms (5r/s); delays are lower bounds, so only those are asserted
SKIP: {
    skip 'no limit_req module', 3 unless $t->has_module('http_limit_req');

    # a static file: return would answer before limit_req runs
    $t->write_file('slow/x', "slow\n");
    http_get('/slow/x') for 1 .. 6;
    wait_until(sub { settled_json('slow') }, 5);

    $s = decode_json(http_content(http_get('/_metrics')));
    $l = $s->{latency_by_route_ms}{slow} || {};
    ok(($l->{p50} // 0) >= 100, "slow: p50 >= 100 ms ($l->{p50})");
    ok(($l->{p50} // 0) <= ($l->{p95} // -1)
        && ($l->{p95} // 0) <= ($l->{p99} // -1), 'slow: p50 <= p95 <= p99');
    my ($fast) = metrics() =~
        /^divehttpd_http_request_duration_seconds_bucket\{group="slow",le="0.1"\} (\d+)$/m;
    ok(defined $fast && $fast <= 1, 'slow: at most the first under 100 ms');
}

###############################################################################

sub write_conf {
    my ($gen) = @_;

    $t->write_file_expand('divehttpd.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    limit_req_zone \$binary_remote_addr zone=slow:64k rate=5r/s;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /metrics { metrics; }
        location = /_metrics { metrics json_summary; }

        location /api/ {
            metrics_group api;
            return 200 "gen $gen\\n";
        }

        location /slow/ {
            metrics_group slow;
            limit_req zone=slow burst=20;
        }

        location /off/ {
            metrics off;
            metrics_group off;
            return 200 "off\\n";
        }
    }
}

EOF
}

sub api {
    my ($n) = @_;
    http_get('/api/x') for 1 .. $n;
}

sub metrics {
    return http_content(http_get('/metrics')) // '';
}

# The log phase runs just after a response went out: a count read at once
# may lag one request behind on the other worker, so wait for it a little.
sub settled {
    my ($group, $want) = @_;
    my $n;
    wait_until(sub { ($n = count($group)) == $want }, 5);
    return $n;
}

sub settled_json {
    my ($group) = @_;
    my $s = decode_json(http_content(http_get('/_metrics')));
    return ($s->{requests_by_route}{"GET $group"} // 0) == 6;
}

sub count {
    my ($group) = @_;
    my $total = 0;
    $total += $_ for metrics() =~
        /^divehttpd_http_requests_total\{[^}]*group="\Q$group\E"[^}]*\} (\d+)$/mg;
    return $total;
}

###############################################################################
