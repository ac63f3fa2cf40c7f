#!/usr/bin/perl

# Tests for streaming through the proxy: with proxy_buffering off an SSE
# event reaches the client while the backend is still holding the rest
# (the backend waits for a file the test creates only after it read the
# first event), for close-delimited and chunked backend responses; a slow
# client does not stop the worker from serving others and still gets
# every byte (back-pressure); a reload (HUP) while a stream is open lets
# the stream finish.

use warnings;
use strict;

use Test::More;
use IO::Select;

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

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location / {
            proxy_pass http://127.0.0.1:8081;
            proxy_buffering off;
        }

        location /buffered/ {
            proxy_pass http://127.0.0.1:8081/;
        }

        location /gz/ {
            proxy_pass http://127.0.0.1:8081/;
            gzip on;
            gzip_types text/plain;
        }
    }
}

EOF

backend($t, id => 'a', port => port(8081));
$t->run();

my $d = $t->testdir();

# Reads from $s until $re matches what came so far (or 10 s pass).
sub read_until {
    my ($s, $re) = @_;
    my $buf = '';
    my $sel = IO::Select->new($s);
    my $deadline = time() + 10;
    while ($buf !~ $re && time() < $deadline) {
        last unless $sel->can_read(1) || time() < $deadline;
        my $n = sysread($s, $buf, 65536, length $buf);
        last if defined $n && $n == 0;
    }
    return $buf;
}

###############################################################################
# SSE, close-delimited from the backend

my $s = http_start("GET /sse?wait=$d/go1 HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
my $got = read_until($s, qr/data: one\n\n/);
like($got, qr/^HTTP\/1.1 200/, 'sse: head');
like($got, qr/data: one\n\n/, 'sse: first event before the backend ended');
unlike($got, qr/data: two/, 'sse: second event not yet sent');
like($got, qr/^Transfer-Encoding: chunked/mi, 'sse: chunked to the client');
$t->write_file('go1', '');
$got .= read_until($s, qr/0\r\n\r\n$/);
like($got, qr/data: two\n\n\r\n0\r\n\r\n$/, 'sse: the rest and the end');
close $s;

###############################################################################
# SSE, chunked from the backend

$s = http_start("GET /ssechunked?wait=$d/go2 HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
$got = read_until($s, qr/data: one\n\n/);
like($got, qr/data: one\n\n/, 'chunked sse: first event first');
$t->write_file('go2', '');
$got .= read_until($s, qr/0\r\n\r\n$/);
like($got, qr/data: two\n\n\r\n0\r\n\r\n$/, 'chunked sse: the rest');
close $s;

###############################################################################
# a slow client: the backend is read only as fast as the client reads,
# the worker goes on serving others, and nothing is lost

my $size = 8 * 1024 * 1024;
$s = http_start("GET /buffered/big/$size HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
my $head = read_until($s, qr/\r\n\r\n/);
like($head, qr/^HTTP\/1.1 200.*Content-Length: $size/s, 'big: head');

like(http_get('/other'), qr/^HTTP\/1.1 200/,
    'another request served while a client is slow');

my $total = length(($head =~ /\r\n\r\n(.*)$/s)[0] // '');
my $sel = IO::Select->new($s);
while ($total < $size && $sel->can_read(10)) {
    my $n = sysread($s, my $buf, 65536);
    last unless $n;
    $total += $n;
}
is($total, $size, 'big: every byte arrived');
close $s;

# the same compressed on the way: the gzip filter holds on to what it
# was given while the client is slow, and nothing is overwritten

SKIP: {
    eval { require IO::Uncompress::Gunzip; };
    skip 'no IO::Uncompress::Gunzip', 3 if $@;

    $size = 4 * 1024 * 1024;
    $s = http_start("GET /gz/big/$size?type=text/plain HTTP/1.1\r\n"
        . "Host: localhost\r\nAccept-Encoding: gzip\r\n"
        . "Connection: close\r\n\r\n");
    $head = read_until($s, qr/\r\n\r\n/);
    like($head, qr/^Content-Encoding: gzip/mi, 'gzip: compressed');
    # let the worker fill the socket and stall before reading on
    like(http_get('/other'), qr/^HTTP\/1.1 200/, 'gzip: worker not blocked');

    my $raw = $head;
    $sel = IO::Select->new($s);
    while ($sel->can_read(10)) {
        my $n = sysread($s, $raw, 65536, length $raw);
        last unless $n;
    }
    close $s;
    my $body = http_content($raw) // '';
    my $plain;
    IO::Uncompress::Gunzip::gunzip(\$body => \$plain);
    ok(defined $plain && $plain eq 'x' x $size, 'gzip: every byte intact');
}

###############################################################################
# a client leaving in the middle of a stream ends the backend request

$s = http_start("GET /sse?wait=$d/go4 HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
$got = read_until($s, qr/data: one\n\n/);
like($got, qr/data: one/, 'abort: stream open');
close $s;
ok(wait_until(sub {
    $t->count_log(qr/client prematurely closed connection/) }),
    'client gone noticed while the backend was silent');
$t->write_file('go4', '');

###############################################################################
# reload while a stream is open

$s = http_start("GET /sse?wait=$d/go3 HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
$got = read_until($s, qr/data: one\n\n/);
like($got, qr/data: one/, 'reload: stream open');

ok($t->reload(wait_old => 0), 'reload while proxying');
like(http_get('/after'), qr/^HTTP\/1.1 200/, 'new workers proxy');

$t->write_file('go3', '');
$got .= read_until($s, qr/0\r\n\r\n$/);
like($got, qr/data: two\n\n\r\n0\r\n\r\n$/, 'reload: old stream finished');
close $s;

###############################################################################
