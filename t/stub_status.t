#!/usr/bin/perl

# Tests for stub_status: nginx's plain format and numbers that follow the
# connections and requests made; allow/deny restrict it like any location.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use Time::HiRes qw/sleep/;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_metrics http_access/)->plan(9);

$t->write_file_expand('divehttpd.conf', <<'EOF2');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /status { stub_status; }
        location = /denied { stub_status; deny all; }
        location / { return 200 "ok\n"; }
    }
}

EOF2

$t->run();

###############################################################################

http_get('/') for 1 .. 4;

my $r = http_get('/status');
like($r, qr!^Content-Type: text/plain\r$!m, 'content type');

my $body = http_content($r);
like($body, qr/\AActive connections: \d+ \nserver accepts handled requests\n \d+ \d+ \d+ \nReading: \d+ Writing: \d+ Waiting: \d+ \n\z/,
    'nginx format');

my ($active) = $body =~ /Active connections: (\d+)/;
my ($acc, $hand, $req) = $body =~ /\n (\d+) (\d+) (\d+) \n/;
my ($rd, $wr, $wt) = $body =~ /Reading: (\d+) Writing: (\d+) Waiting: (\d+)/;

is($active, 1, 'active: this one');
is($acc, 5, 'accepts');
is($hand, 5, 'handled');
is($req, 4, 'requests done before this one');
is($wr, 1, 'writing: this one');

like(http_get('/denied'), qr!^HTTP/1\.[01] 403 !, 'deny all');

# an idle keep-alive connection is waiting
my $s = http("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", start => 1);
sleep 0.3;
$body = http_content(http_get('/status'));
like($body, qr/Waiting: 1 /, 'waiting: idle connection');
undef $s;

###############################################################################
