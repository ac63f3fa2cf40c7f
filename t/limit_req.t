#!/usr/bin/perl

# Tests for limit_req: requests over the burst get 503 (or
# limit_req_status), burst with nodelay, delayed requests are served, keys
# per client address (127.0.0.1 and 127.0.0.2) and per variable, an empty
# key is not limited, dry run, and one zone shared by two workers.
# Rates are 1r/m where a count matters, so nothing drains during the test.

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

my $t = Test::Divehttpd->new()->has(qw/http http_limit_req/)->plan(35);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    limit_req_zone $binary_remote_addr zone=one:64k rate=1r/m;
    limit_req_zone $binary_remote_addr zone=burst:64k rate=1r/m;
    limit_req_zone $binary_remote_addr zone=status:64k rate=1r/m;
    limit_req_zone $binary_remote_addr zone=fast:64k rate=20r/s;
    limit_req_zone $binary_remote_addr zone=dry:64k rate=1r/m;
    limit_req_zone $binary_remote_addr zone=workers:64k rate=1r/m;
    limit_req_zone $http_x_key zone=var:64k rate=1r/m;
    limit_req_zone $binary_remote_addr zone=shut:64k rate=30r/m;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        root %%TESTDIR%%/html;

        location /one/ {
            limit_req zone=one;
        }

        location /burst/ {
            limit_req zone=burst burst=2 nodelay;
        }

        location /status/ {
            limit_req zone=status;
            limit_req_status 429;
            limit_req_log_level warn;
        }

        location /delay/ {
            limit_req zone=fast burst=3;
        }

        location /dry/ {
            limit_req zone=dry;
            limit_req_dry_run on;
        }

        location /workers/ {
            limit_req zone=workers burst=4 nodelay;
        }

        location /var/ {
            limit_req zone=var;
        }

        location /free/ {
        }

        location = /metrics {
            metrics;
        }

        location /shut/ {
            limit_req zone=shut burst=5;
        }
    }
}

EOF

for my $d (qw/one burst status delay dry workers var free shut/) {
    $t->write_file("html/$d/index.html", "$d\n");
}

$t->run();

###############################################################################

sub status {
    my ($uri, %o) = @_;
    my $h = $o{header} ? "$o{header}\r\n" : '';
    my %extra;

    if ($o{from}) {
        $extra{socket} = IO::Socket::INET->new(
            Proto => 'tcp',
            LocalAddr => $o{from},
            PeerAddr => '127.0.0.1:' . port(8080),
        ) or return "no socket from $o{from}: $!";
    }

    my $r = http("GET $uri HTTP/1.0\r\nHost: localhost\r\n$h\r\n", %extra);
    return 'none' unless defined $r;
    return $r =~ m!^HTTP/1\.[01] (\d{3})! ? $1 : 'bad';
}

is(status('/one/'), 200, 'first request passes');
is(status('/one/'), 503, 'second request over the rate: 503');
is(status('/one/'), 503, 'and the next one too');
is(status('/free/'), 200, 'location without limit_req not limited');

# every worker's decisions are counted on /metrics by zone and result
my $m = http_get('/metrics') // '';
like($m, qr/^divehttpd_limit_req_requests_total\{zone="one",result="passed"\} 1$/m,
    'metrics: passed request counted');
like($m, qr/^divehttpd_limit_req_requests_total\{zone="one",result="rejected"\} 2$/m,
    'metrics: rejected requests counted');

SKIP: {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.2', Proto => 'tcp');
    skip 'cannot bind 127.0.0.2', 2 unless $s;
    close $s;

    is(status('/one/', from => '127.0.0.2'), 200, 'another address: own key');
    is(status('/one/', from => '127.0.0.2'), 503,
        'another address: limited in turn');
}

is(join(' ', map { status('/burst/') } 1 .. 4), '200 200 200 503',
    'burst=2 nodelay: three pass at once, the fourth is rejected');

is(status('/status/'), 200, 'limit_req_status: first passes');
is(status('/status/'), 429, 'limit_req_status 429');

# burst=3 without nodelay: the requests above the rate wait and are served
my @s = map { http("GET /delay/ HTTP/1.0\r\nHost: localhost\r\n\r\n",
    start => 1) } 1 .. 3;
my @delayed = map { http_end($_) // '' } @s;
is(scalar(grep { m!^HTTP/1\.[01] 200! } @delayed), 3,
    'delayed requests are served');
like($delayed[2], qr/delay\n\z/, 'delayed response has its body');
ok($t->count_log(qr/delaying request by \d+ ms by zone "fast"/) >= 1,
    'delay logged');

is(status('/dry/'), 200, 'dry run: first');
is(status('/dry/'), 200, 'dry run: over the rate still passes');
is(status('/dry/'), 200, 'dry run: and again');
is($t->count_log(qr/limiting requests, dry run, by zone "dry"/), 2,
    'dry run logged');

# a key from a variable; an empty key is not limited
is(status('/var/', header => 'X-Key: a'), 200, 'variable key a');
is(status('/var/', header => 'X-Key: a'), 503, 'variable key a limited');
is(status('/var/', header => 'X-Key: b'), 200, 'variable key b: own bucket');
is(status('/var/'), 200, 'empty key: not limited');
is(status('/var/'), 200, 'empty key: still not limited');

# two workers: every connection is new, the zone is shared, so exactly
# burst + 1 pass whichever worker takes each one
my %c;
$c{status('/workers/')}++ for 1 .. 10;
is($c{200}, 5, 'two workers: burst + 1 pass in total');
is($c{503}, 5, 'two workers: the rest are rejected');

is($t->count_log(qr/\[error\].*limiting requests, excess over burst by zone "one"/),
    3, 'rejections logged at error');
is($t->count_log(qr/\[warn\].*limiting requests.*zone "status"/), 1,
    'limit_req_log_level warn');

# configuration errors
$t->write_file('bad.conf', "events {\n}\nhttp {\n"
    . "    limit_req_zone \$binary_remote_addr zone=z:64k rate=fast;\n}\n");
my ($rc, undef, $err) = $t->cmd('-c', 'bad.conf', '-t');
isnt($rc, 0, 'invalid rate fails -t');
like($err, qr/invalid rate "rate=fast"/, 'invalid rate message');

$t->write_file('bad2.conf', "events {\n}\nhttp {\n    server {\n"
    . "        listen 127.0.0.1:" . port(8081) . ";\n"
    . "        location / { limit_req zone=nosuch; }\n    }\n}\n");
($rc, undef, $err) = $t->cmd('-c', 'bad2.conf', '-t');
isnt($rc, 0, 'unknown zone fails -t');
like($err, qr/unknown limit_req_zone "nosuch"/, 'unknown zone message');

# a graceful stop lets a delayed request finish (its timer is not
# cancelable; the wait is bounded by burst / rate)
is(status('/shut/'), 200, 'shutdown: first request passes');
my $held = http("GET /shut/ HTTP/1.0\r\nHost: localhost\r\n\r\n",
    start => 1);
ok(wait_until(sub { $t->count_log(qr/delaying request .* zone "shut"/) }),
    'shutdown: second request delayed');
$t->signal('QUIT');
like(http_end($held) // '', qr!^HTTP/1\.[01] 200.*shut\n\z!s,
    'shutdown: delayed request served during a graceful stop');
ok($t->wait_exit(), 'shutdown: server exits after it');

###############################################################################
