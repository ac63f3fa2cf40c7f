#!/usr/bin/perl

# Tests for lingering_close, lingering_time and lingering_timeout: after
# the response and our half-close, a lingering connection is still open
# (stub_status counts it) until the client closes, lingering_timeout
# passes without data, or lingering_time ends it however much the client
# sends; "off" closes at once, "on" lingers only when the client may
# still be sending (here: a refused body), "always" after every close.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use IO::Select;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_metrics http_dav/)->plan(14);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    default_type text/plain;
    client_max_body_size 10;
    lingering_timeout 60s;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location = /status {
            stub_status;
        }

        location /on/ {
            root %%TESTDIR%%/html;
            dav_methods PUT;
        }

        location /off/ {
            root %%TESTDIR%%/html;
            dav_methods PUT;
            lingering_close off;
        }

        location /always {
            lingering_close always;
            return 200 "always";
        }

        location /timeout {
            lingering_close always;
            lingering_timeout 1s;
            return 200 "timeout";
        }

        location /time {
            lingering_close always;
            lingering_time 1s;
            return 200 "time";
        }
    }
}

EOF

$t->write_file('html/on/f.txt', 'on');
$t->write_file('html/off/f.txt', 'off');

$t->run();

###############################################################################

sub active {
    my ($n) = http_get('/status') =~ /Active connections: (\d+)/;
    return $n;
}

# Sends the request and reads the response up to our half-close (EOF);
# the socket stays open on the client's side.
sub request {
    my ($req) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8080))
        or die "connect: $!";
    print $s $req;
    my ($resp, $buf) = ('');
    my $sel = IO::Select->new($s);
    while ($sel->can_read(10)) {
        my $n = sysread($s, $buf, 4096);
        last unless $n;
        $resp .= $buf;
    }
    return ($s, $resp);
}

sub get { "GET $_[0] HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" }

my $body = "PUT %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n"
    . "\r\n" . ('x' x 100);

# on (the default): a plain close is immediate, a refused body lingers

my ($s, $r) = request(get('/on/f.txt'));
like($r, qr/^HTTP\/1.1 200 .*on\z/s, 'on: response');
is(active(), 1, 'on: closed at once after a plain response');
close $s;

($s, $r) = request(sprintf $body, '/on/new');
like($r, qr/^HTTP\/1.1 413 /, 'on: body refused');
is(active(), 2, 'on: lingering after a refused body');
close $s;
ok(wait_until(sub { active() == 1 }, 10), 'on: closed when the client closes');

# off: no lingering even with a body in flight

($s, $r) = request(sprintf $body, '/off/new');
like($r, qr/^HTTP\/1.1 413 /, 'off: body refused');
is(active(), 1, 'off: closed at once');
close $s;

# always: every close lingers

($s, $r) = request(get('/always'));
like($r, qr/always\z/, 'always: response');
is(active(), 2, 'always: lingering after a plain response');
print $s "more data the server drops\r\n";
is(active(), 2, 'always: data read and dropped, still lingering');
close $s;

# lingering_timeout: no data for that long ends it

($s, $r) = request(get('/timeout'));
like($r, qr/timeout\z/, 'lingering_timeout: response');
ok(wait_until(sub { active() == 1 }, 15), 'lingering_timeout: closed');
close $s;

# lingering_time: ends it even while the client keeps sending

($s, $r) = request(get('/time'));
my $closed = wait_until(sub {
    local $SIG{PIPE} = 'IGNORE';
    syswrite($s, "x" x 10);
    active() == 1;
}, 15);
ok($closed, 'lingering_time: closed while data still comes');
close $s;

# a bad value

$t->write_file('bad.conf', "events {\n}\nhttp {\n    lingering_close maybe;\n}\n");
my ($rc, $out, $err) = $t->cmd('-t', '-c', $t->testdir() . '/bad.conf');
like($err, qr/"maybe".*bad\.conf:4$/m, 'lingering_close bad value: file:line');

###############################################################################
