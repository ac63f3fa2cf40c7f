#!/usr/bin/perl

# Tests for the trailer fields of a chunked request body: after a handler
# read the body (here a WebDAV PUT) they are $trailer_NAME, seen by the
# access log; several fields, repeated ones joined, white space around
# values trimmed, a section split across reads, no trailers and bodies
# sent with Content-Length give "-", and a discarded body's trailers are
# not kept.

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

my $t = Test::Divehttpd->new()->has(qw/http http_dav http_log/)->plan(8);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    log_format  tr  '$request_uri $status sum=$trailer_x_checksum '
                    'tag=$trailer_x_tag';

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        access_log  logs/tr.log tr;

        location /up/ {
            root         %%TESTDIR%%/html;
            dav_methods  PUT;
            create_full_put_path on;
        }

        location /ret {
            return 200 "ignored";
        }
    }
}

EOF

$t->run();

###############################################################################

sub put {
    my ($uri, $body, %opt) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8080))
        or die "connect: $!";
    my $head = "PUT $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . ($opt{cl} ? "Content-Length: " . length($body) . "\r\n"
                    : "Transfer-Encoding: chunked\r\n") . "\r\n";
    for my $piece ($head, @{ $opt{pieces} // [ $body ] }) {
        print $s $piece;
        select(undef, undef, undef, 0.05) if $opt{pieces};
    }
    local $/;
    my $r = <$s>;
    return $r;
}

my $chunks = "5\r\nhello\r\n0\r\n";

like(put('/up/a.txt', $chunks . "X-Checksum: abc123\r\n\r\n"),
    qr/^HTTP\/1.1 20[14] /, 'PUT with a trailer stored');
is($t->read_file('html/up/a.txt'), 'hello', 'body without the trailer');

put('/up/b.txt', $chunks
    . "X-Checksum:   spaced value \t\r\nX-Tag: one\r\nx-tag: two\r\n\r\n");

put('/up/c.txt', undef, pieces => [ "3\r\nabc\r\n0\r\nX-Chec",
    "ksum: split", "ted\r\n", "\r", "\n" ]);

put('/up/d.txt', $chunks . "\r\n");
put('/up/e.txt', 'hello', cl => 1);
put('/ret', $chunks . "X-Checksum: dropped\r\n\r\n");

$t->stop();

my $log = $t->read_file('logs/tr.log');
like($log, qr/^\/up\/a\.txt 20[14] sum=abc123 tag=-$/m, 'one trailer');
like($log, qr/^\/up\/b\.txt 20[14] sum=spaced value tag=one, two$/m,
    'value trimmed, repeated field joined');
like($log, qr/^\/up\/c\.txt 20[14] sum=splitted tag=-$/m,
    'trailer section across several reads');
like($log, qr/^\/up\/d\.txt 20[14] sum=- tag=-$/m, 'no trailers');
like($log, qr/^\/up\/e\.txt 20[14] sum=- tag=-$/m, 'Content-Length body');
like($log, qr/^\/ret 200 sum=- tag=-$/m, 'discarded body: trailers dropped');

###############################################################################
