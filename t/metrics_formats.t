#!/usr/bin/perl

# Tests for the metrics formats: Prometheus text 0.0.4 (HELP/TYPE before
# the samples, families sorted, label values escaped, histogram buckets,
# `promtool check metrics` when promtool is installed), the StarRocks-style
# JSON array (?type=json), the core lines (?type=core), metrics_prefix, and
# the json_summary snapshot.

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
my $d = $t->testdir();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /metrics { metrics; }
        location = /_metrics { metrics json_summary; }

        location /q/ {
            metrics_group "we\"ird\\x";
            return 200 "ok\n";
        }

        location / {
            return 404;
        }
    }

}

EOF

$t->run();

###############################################################################

http_get('/q/') for 1 .. 3;
http_get('/missing');

my $r = http_get('/metrics');
like($r, qr!^Content-Type: text/plain; version=0\.0\.4\r$!m, 'content type');

my $text = http_content($r);

# every sample belongs to the family announced by the last TYPE line, and
# every family has HELP then TYPE
my (@families, $family, $type, $bad);
for my $line (split /\n/, $text) {
    if ($line =~ /^# HELP (\w+) \S/) {
        push @families, $1;
        $family = $1;
        next;
    }
    if ($line =~ /^# TYPE (\w+) (counter|gauge|histogram)$/) {
        $bad .= "TYPE without HELP: $line\n" unless $1 eq $family;
        $type = $2;
        next;
    }
    if ($line =~ /^(\w+)(\{(?:\w+="(?:[^"\\]|\\.)*",?)*\})? (-?[\d.]+|\+Inf)$/) {
        my $name = $1;
        my $ok = $type eq 'histogram'
            ? $name =~ /^\Q$family\E_(bucket|sum|count)$/
            : $name eq $family;
        $bad .= "sample outside its family: $line\n" unless $ok;
        next;
    }
    $bad .= "unparsable: $line\n";
}
is($bad, undef, 'every line parses');
ok(@families > 10, 'families present');
is_deeply(\@families, [sort @families], 'families sorted');
ok(!grep({ !/^divehttpd_/ } @families), 'default prefix');

like($text, qr/^divehttpd_http_requests_total\{server="localhost",group="we\\"ird\\\\x",method="GET",status="2xx"\} 3$/m,
    'label values escaped');
like($text, qr/^divehttpd_http_requests_total\{[^}]*status="4xx"\} 1$/m,
    'status class');
like($text, qr/^divehttpd_http_request_duration_seconds_bucket\{group="we\\"ird\\\\x",le="0.005"\} \d+$/m,
    'bucket with le');
like($text, qr/^divehttpd_http_request_duration_seconds_bucket\{[^}]*le="\+Inf"\} 3$/m,
    '+Inf bucket');
like($text, qr/^divehttpd_connections_accepted_total \d+$/m, 'accepted');
like($text, qr/^divehttpd_process_start_time_seconds \d+$/m, 'start time');
like($text, qr/^divehttpd_process_open_fds\{pid="\d+"\} \d+$/m, 'open fds');

SKIP: {
    my $promtool = `sh -c 'command -v promtool' 2>/dev/null`;
    chomp $promtool;
    skip 'promtool is not installed (apt-get install prometheus)', 1
        unless $promtool;

    $t->write_file('metrics.txt', $text);
    my $out = `$promtool check metrics < $d/metrics.txt 2>&1`;
    my $rc = $? >> 8;

    # Exit 3 means lint findings only.  The Stream Load families keep
    # the names StarRocks gives them (counters without _total, "_ms"),
    # because its users' dashboards query those names; every other
    # family must pass the lint.
    my $starrocks = qr/^divehttpd_(?:transaction_)?(?:streaming_load_\w+|load_rows|load_bytes)\b/;
    my @lint = grep { !/$starrocks/ } grep { /\S/ } split /\n/, $out;
    ok(($rc == 0 || $rc == 3) && !@lint, 'promtool check metrics')
        or diag($out);
}

# JSON
my $json = eval { decode_json(http_content(http_get('/metrics?type=json'))) };
is(ref $json, 'ARRAY', 'json: an array');
my @bad = grep {
    ref $_->{tags} ne 'HASH' || !defined $_->{tags}{metric}
    || !defined $_->{unit} || !defined $_->{value}
    || $_->{tags}{metric} =~ /^divehttpd_/
} @{$json || []};
is(scalar @bad, 0, 'json: tags.metric without prefix, unit, value');
my ($req) = grep {
    $_->{tags}{metric} eq 'http_requests_total'
    && $_->{tags}{group} eq 'we"ird\\x'
} @{$json || []};
is($req && $req->{value}, 3, 'json: labelled value');
is($req && $req->{unit}, 'requests', 'json: unit');

# core
my $core = http_content(http_get('/metrics?type=core'));
like($core, qr/\A(divehttpd_\w+ LONG \d+\n)+\z/, 'core lines');
like($core, qr/^divehttpd_process_open_fds LONG \d+$/m, 'core: open fds');

# the summary
my $s = eval { decode_json(http_content(http_get('/_metrics'))) };
is(ref $s, 'HASH', 'summary: object');
is($s && $s->{status_counts}{404}, 1, 'summary: status counts');
ok($s && $s->{total_requests} >= 4, 'summary: total requests');
is($s && $s->{drain_state}, 'running', 'summary: drain state');
is($s && $s->{requests_by_route}{"GET we\"ird\\x"}, 3,
    'summary: requests by route');
like(http_content(http_get('/_metrics')), qr/^\{"active_connections":/,
    'summary: keys sorted');

###############################################################################
