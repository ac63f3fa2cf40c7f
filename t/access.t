#!/usr/bin/perl

# Tests for allow / deny: addresses, CIDR blocks and "all", first match
# wins, 403 on deny, rules inherited from the server level unless the
# location has its own, IPv6 clients, and bad addresses in -t.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use IO::Socket::IP;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_access/)->plan(22);

my $v6 = IO::Socket::IP->new(LocalHost => '::1', Proto => 'tcp') ? 1 : 0;
my $two = IO::Socket::INET->new(LocalAddr => '127.0.0.2', Proto => 'tcp')
    ? 1 : 0;

my $listen6 = $v6 ? 'listen [::1]:' . port(8081) . ';' : '';

$t->write_file_expand('divehttpd.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:%%PORT_8080%%;
        $listen6
        server_name  localhost;

        root %%TESTDIR%%/html;

        deny 127.0.0.2;

        location /allow_all/ {
            allow all;
        }

        location /deny_all/ {
            deny all;
        }

        location /local/ {
            allow 127.0.0.1;
            deny all;
        }

        location /cidr/ {
            deny 127.0.0.2;
            allow 127.0.0.0/8;
            deny all;
        }

        location /order/ {
            allow 127.0.0.0/8;
            deny 127.0.0.2;
        }

        location /inherit/ {
        }

        location /v6/ {
            allow ::1;
            deny all;
        }

        location /v6net/ {
            deny ::1/128;
            allow all;
        }

        location /v4only/ {
            allow 127.0.0.0/8;
            deny all;
        }
    }
}

EOF

for my $d (qw/allow_all deny_all local cidr order inherit v6 v6net v4only/) {
    $t->write_file("html/$d/index.html", "$d\n");
}

$t->run();

###############################################################################

sub status {
    my ($uri, $from) = @_;
    my %extra;

    if ($from && $from eq '::1') {
        $extra{socket} = IO::Socket::IP->new(
            Proto => 'tcp', PeerHost => '::1', PeerPort => port(8081),
        ) or return "no socket: $!";

    } elsif ($from) {
        $extra{socket} = IO::Socket::INET->new(
            Proto => 'tcp', LocalAddr => $from,
            PeerAddr => '127.0.0.1:' . port(8080),
        ) or return "no socket from $from: $!";
    }

    my $r = http("GET $uri HTTP/1.0\r\nHost: localhost\r\n\r\n", %extra);
    return 'none' unless defined $r;
    return $r =~ m!^HTTP/1\.[01] (\d{3})! ? $1 : 'bad';
}

is(status('/allow_all/'), 200, 'allow all');
is(status('/deny_all/'), 403, 'deny all: 403');
like(http_get('/deny_all/'), qr/403 Forbidden/, 'deny: 403 page');
is(status('/local/'), 200, 'allowed address');
is(status('/cidr/'), 200, 'allowed by CIDR');
is(status('/inherit/'), 200, 'server rules inherited: other address passes');

SKIP: {
    skip 'cannot bind 127.0.0.2', 6 unless $two;

    is(status('/local/', '127.0.0.2'), 403, 'not in allow list: 403');
    is(status('/cidr/', '127.0.0.2'), 403,
        'deny before a matching allow wins');
    is(status('/order/', '127.0.0.2'), 200,
        'allow before a matching deny wins');
    is(status('/inherit/', '127.0.0.2'), 403, 'server-level deny inherited');
    is(status('/allow_all/', '127.0.0.2'), 200,
        'location rules replace the server rules');
    is(status('/deny_all/', '127.0.0.2'), 403, 'deny all for the other too');
}

SKIP: {
    skip 'no IPv6 loopback', 4 unless $v6;

    is(status('/v6/', '::1'), 200, 'IPv6 address allowed');
    is(status('/v6net/', '::1'), 403, 'IPv6 CIDR denied');
    is(status('/v4only/', '::1'), 403, 'IPv4 rules do not match IPv6');
    is(status('/local/', '::1'), 403, 'IPv6 client: deny all');
}

ok($t->count_log(qr/access forbidden by rule/) >= 3, 'denials logged');

# configuration errors
$t->write_file('bad.conf', "events {\n}\nhttp {\n    deny 300.1.2.3;\n}\n");
my ($rc, undef, $err) = $t->cmd('-c', 'bad.conf', '-t');
isnt($rc, 0, 'bad address fails -t');
like($err, qr/invalid parameter "300\.1\.2\.3"/, 'bad address message');

$t->write_file('bits.conf', "events {\n}\nhttp {\n    allow 10.1.2.3/8;\n}\n");
($rc, undef, $err) = $t->cmd('-c', 'bits.conf', '-t');
is($rc, 0, 'host bits set: accepted');
like($err, qr/low address bits of 10\.1\.2\.3\/8 are meaningless/,
    'host bits set: warning');

$t->write_file('cidr.conf', "events {\n}\nhttp {\n    allow 10.0.0.0/33;\n}\n");
($rc, undef, $err) = $t->cmd('-c', 'cidr.conf', '-t');
isnt($rc, 0, 'prefix too long fails -t');

###############################################################################
