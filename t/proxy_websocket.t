#!/usr/bin/perl

# Tests for WebSocket through the proxy: the Upgrade handshake reaches the
# backend with "Connection: upgrade", the client gets 101 with Upgrade
# and Connection: upgrade, frames go both ways as raw bytes (also frames
# sent together with the request head), and the tunnel ends when the
# backend closes.  Without "Connection: upgrade" no upgrade is asked.

use warnings;
use strict;

use Test::More;
use IO::Select;
use MIME::Base64 qw/encode_base64/;
use Digest::SHA qw/sha1/;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;
use Test::Divehttpd::Backend;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_proxy/)->plan(10);

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

        location / {
            proxy_pass http://127.0.0.1:8081;
            proxy_read_timeout 5s;
        }
    }
}

EOF

backend($t, id => 'a', port => port(8081));
$t->run();

my $key = encode_base64('0123456789abcdef', '');
my $accept = encode_base64(
    sha1($key . '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'), '');

sub handshake {
    my ($extra) = @_;
    my $s = http_start("GET /ws HTTP/1.1\r\nHost: localhost\r\n"
        . "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        . "Sec-WebSocket-Key: $key\r\nSec-WebSocket-Version: 13\r\n\r\n"
        . ($extra // ''));
    my $buf = '';
    my $sel = IO::Select->new($s);
    while ($buf !~ /\r\n\r\n/ && $sel->can_read(8)) {
        sysread($s, $buf, 1, length $buf) or last;
    }
    return ($s, $buf);
}

my ($s, $head) = handshake();
like($head, qr/^HTTP\/1.1 101/, '101 Switching Protocols');
like($head, qr/^Upgrade: websocket\r$/mi, 'Upgrade header');
like($head, qr/^Connection: upgrade\r$/mi, 'Connection: upgrade');
like($head, qr/^Sec-WebSocket-Accept: \Q$accept\E\r$/mi, 'accept key passed');

my $buf = '';
print $s ws_frame('hello', 1, 1);
my ($op, $payload) = ws_read_frame($s, \$buf);
is($payload, 'echo: hello', 'frame echoed through the tunnel');

print $s ws_frame('x' x 70000, 1, 1);
($op, $payload) = ws_read_frame($s, \$buf);
is(length($payload // ''), 70006, 'large frame both ways');

print $s ws_frame('', 8, 1);
($op, $payload) = ws_read_frame($s, \$buf);
is($op, 8, 'close frame echoed');
my $n = sysread($s, my $rest, 100);
ok(defined $n && $n == 0, 'tunnel closed when the backend closed');
close $s;

# a frame sent right behind the request head
($s, $head) = handshake(ws_frame('early', 1, 1));
$buf = '';
($op, $payload) = ws_read_frame($s, \$buf);
is($payload, 'echo: early', 'frame sent with the head');
close $s;

# without "Connection: upgrade" the backend sees no upgrade
like(http("GET /plain HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
    . "Connection: close\r\n\r\n"), qr/^HTTP\/1.1 200(?!.*"upgrade")/s,
    'no upgrade without Connection: upgrade');

###############################################################################
