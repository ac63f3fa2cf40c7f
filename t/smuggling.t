#!/usr/bin/perl

# Request smuggling and malformed requests, data driven.  Each case sends
# raw bytes followed by a well-formed pipelined request ("the smuggled
# one").  A rejected case must get exactly one response with the expected
# status and then the connection must close: the pipelined request is
# never answered, so no two parsers can disagree on where it starts.  A
# case marked "serve" is well-formed: its response and the pipelined one
# must both come back, which shows the framing was understood.

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

my $t = Test::Divehttpd->new()->has(qw/http/);

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
            return 200 "ok";
        }

        location /hello {
            return 200 "hello";
        }

        location /static/ {
            root %%TESTDIR%%/html;
        }
    }

    server {
        listen       127.0.0.1:8080;
        server_name  other.test;

        location / {
            return 200 "other";
        }
    }
}

EOF

$t->write_file('html/static/file.txt', 'FILE');
$t->write_file('secret.txt', 'SECRET');

my $H = "Host: localhost\r\n";
my $NEXT = "GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
my $chunked = "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n";
my $long = 'a' x 9000;

# [ name, raw bytes, expected status, optional 'serve' and body regex ]
my @cases = (

    # CL.TE and TE.CL: both framings in one message
    [ 'CL.TE', "POST / HTTP/1.1\r\n${H}Content-Length: 6\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400 ],
    [ 'TE.CL', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n"
        . "Content-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 400 ],

    # TE.TE obfuscations
    [ 'TE xchunked', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked"
        . "\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE chunkedx', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunkedx"
        . "\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE line starting with space', "POST / HTTP/1.1\r\n${H}"
        . " Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE chunked, identity', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: "
        . "chunked, identity\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE identity', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity"
        . "\r\n\r\n", 400 ],
    [ 'TE chunked,chunked', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: "
        . "chunked, chunked\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE gzip, chunked', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: "
        . "gzip, chunked\r\n\r\n0\r\n\r\n", 501 ],
    [ 'TE duplicated', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked"
        . "\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE duplicated, second bogus', "POST / HTTP/1.1\r\n${H}"
        . "Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n"
        . "0\r\n\r\n", 400 ],
    [ 'TE space before colon', "POST / HTTP/1.1\r\n${H}"
        . "Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE tab before colon', "POST / HTTP/1.1\r\n${H}"
        . "Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE obs-fold value', "POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n"
        . " chunked\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE vertical tab', "POST / HTTP/1.1\r\n${H}Transfer-Encoding:"
        . "\x0bchunked\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE in HTTP/1.0', "POST / HTTP/1.0\r\n${H}Transfer-Encoding: chunked"
        . "\r\n\r\n0\r\n\r\n", 400 ],
    [ 'TE tab before value', "POST / HTTP/1.1\r\n${H}Transfer-Encoding:"
        . "\tchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, 'serve' ],
    [ 'TE mixed case', "POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked"
        . "\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 200, 'serve' ],

    # Content-Length
    [ 'CL plus sign', "POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\n"
        . "abc", 400 ],
    [ 'CL minus sign', "POST / HTTP/1.1\r\n${H}Content-Length: -3\r\n\r\n",
        400 ],
    [ 'CL hex', "POST / HTTP/1.1\r\n${H}Content-Length: 0x3\r\n\r\nabc",
        400 ],
    [ 'CL space inside', "POST / HTTP/1.1\r\n${H}Content-Length: 1 2\r\n"
        . "\r\n", 400 ],
    [ 'CL list', "POST / HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc",
        400 ],
    [ 'CL empty', "POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n", 400 ],
    [ 'CL overflow', "POST / HTTP/1.1\r\n${H}Content-Length: "
        . "99999999999999999999999\r\n\r\n", 400 ],
    [ 'CL 2^63', "POST / HTTP/1.1\r\n${H}Content-Length: "
        . "9223372036854775808\r\n\r\n", 400 ],
    [ 'CL duplicate differing', "POST / HTTP/1.1\r\n${H}Content-Length: 3"
        . "\r\nContent-Length: 4\r\n\r\nabcd", 400 ],
    [ 'CL space before colon', "POST / HTTP/1.1\r\n${H}Content-Length : 3"
        . "\r\n\r\nabc", 400 ],
    [ 'CL leading zeros', "POST / HTTP/1.1\r\n${H}Content-Length: 003"
        . "\r\n\r\nabc", 200, 'serve' ],
    [ 'CL with OWS', "POST / HTTP/1.1\r\n${H}Content-Length: \t3 \t\r\n"
        . "\r\nabc", 200, 'serve' ],
    [ 'CL duplicate equal', "POST / HTTP/1.1\r\n${H}Content-Length: 3\r\n"
        . "Content-Length: 3\r\n\r\nabc", 200, 'serve' ],

    # line endings and folding
    [ 'bare LF request line', "GET / HTTP/1.1\n${H}\r\n", 400 ],
    [ 'bare LF header', "GET / HTTP/1.1\r\nHost: localhost\n\r\n", 400 ],
    [ 'bare LF end of headers', "GET / HTTP/1.1\r\n${H}\n", 400 ],
    [ 'all bare LF', "GET / HTTP/1.1\nHost: localhost\n\n", 400 ],
    [ 'bare CR request line', "GET / HTTP/1.1\r${H}\r\n", 400 ],
    [ 'bare CR in value', "GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n", 400 ],
    [ 'obs-fold', "GET / HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n", 400 ],
    [ 'obs-fold with tab', "GET / HTTP/1.1\r\n${H}X-A: a\r\n\tb\r\n\r\n",
        400 ],
    [ 'white space before first header', "GET / HTTP/1.1\r\n ${H}\r\n",
        400 ],

    # NUL and control bytes
    [ 'NUL in name', "GET / HTTP/1.1\r\n${H}X-\0A: a\r\n\r\n", 400 ],
    [ 'NUL in value', "GET / HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n", 400 ],
    [ 'NUL in target', "GET /a\0b HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'NUL in method', "G\0T / HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'CTL in value', "GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n", 400 ],
    [ 'DEL in value', "GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n", 400 ],
    [ 'ESC in name', "GET / HTTP/1.1\r\n${H}X\x1bA: a\r\n\r\n", 400 ],
    [ 'CTL in target', "GET /a\x01b HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'DEL in target', "GET /a\x7fb HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'high byte in target', "GET /a\xffb HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'tab in target', "GET /a\tb HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'fragment in target', "GET /a#b HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'empty header name', "GET / HTTP/1.1\r\n${H}: a\r\n\r\n", 400 ],
    [ 'header without colon', "GET / HTTP/1.1\r\n${H}X-A\r\n\r\n", 400 ],
    [ 'double space in request line', "GET  / HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'space after version', "GET / HTTP/1.1 \r\n${H}\r\n", 400 ],
    [ 'obs-text in value', "GET / HTTP/1.1\r\n${H}X-A: caf\xe9\r\n\r\n",
        200, 'serve' ],

    # chunked framing
    [ 'chunk size overflow', $chunked . "1" . ("0" x 16) . "\r\n", 400 ],
    [ 'chunk size 2^64-1', $chunked . ("f" x 16) . "\r\n", 400 ],
    [ 'chunk extensions 4 KiB', $chunked . "3;" . ("x" x 4096)
        . "\r\nabc\r\n0\r\n\r\n", 400 ],
    [ 'chunk leading zeros 4 KiB', $chunked . ("0" x 4100)
        . "3\r\nabc\r\n0\r\n\r\n", 400 ],
    [ 'chunk size not hex', $chunked . "zz\r\nabc\r\n0\r\n\r\n", 400 ],
    [ 'chunk size negative', $chunked . "-3\r\nabc\r\n0\r\n\r\n", 400 ],
    [ 'chunk size 0x prefix', $chunked . "0x3\r\nabc\r\n0\r\n\r\n", 400 ],
    [ 'chunk size empty', $chunked . "\r\nabc\r\n0\r\n\r\n", 400 ],
    [ 'chunk size with space inside', $chunked . "1 0\r\n"
        . ("a" x 16) . "\r\n0\r\n\r\n", 400 ],
    [ 'chunk missing CRLF after data', $chunked . "3\r\nabcX\r\n0\r\n\r\n",
        400 ],
    [ 'chunk data longer than size', $chunked . "3\r\nabcdef\r\n0\r\n\r\n",
        400 ],
    [ 'chunk bare LF after size', $chunked . "3\nabc\r\n0\r\n\r\n", 400 ],
    [ 'chunk bare LF after data', $chunked . "3\r\nabc\n0\r\n\r\n", 400 ],
    [ 'chunk NUL in extension', $chunked . "3;a=\0\r\nabc\r\n0\r\n\r\n",
        400 ],
    [ 'chunk trailer obs-fold', $chunked . "3\r\nabc\r\n0\r\nX-T: a\r\n"
        . " b\r\n\r\n", 400 ],
    [ 'chunk trailer bare LF', $chunked . "3\r\nabc\r\n0\r\nX-T: a\n\r\n",
        400 ],
    [ 'chunk trailers 9 KiB', $chunked . "3\r\nabc\r\n0\r\n"
        . join('', map { "X-T$_: " . ('t' x 1000) . "\r\n" } 1 .. 9)
        . "\r\n", 400 ],
    [ 'chunked with extension and trailer', $chunked
        . "3;name=value\r\nabc\r\n0\r\nX-T: a\r\n\r\n", 200, 'serve' ],
    [ 'chunked with leading zeros', $chunked . "0003\r\nabc\r\n000\r\n\r\n",
        200, 'serve' ],

    # Host
    [ 'HTTP/1.1 without Host', "GET / HTTP/1.1\r\n\r\n", 400 ],
    [ 'two Host headers', "GET / HTTP/1.1\r\n${H}${H}\r\n", 400 ],
    [ 'two differing Host headers', "GET / HTTP/1.1\r\n${H}"
        . "Host: other.test\r\n\r\n", 400 ],
    [ 'empty Host value', "GET / HTTP/1.1\r\nHost:\r\n\r\n", 400 ],
    [ 'Host with slash', "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400 ],
    [ 'Host with space', "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400 ],
    [ 'Host with ..', "GET / HTTP/1.1\r\nHost: a..b\r\n\r\n", 400 ],
    [ 'Host with bad port', "GET / HTTP/1.1\r\nHost: localhost:8x\r\n\r\n",
        400 ],
    [ 'absolute-form with bad host', "GET http://a..b/ HTTP/1.1\r\n${H}"
        . "\r\n", 400 ],
    [ 'HTTP/1.0 without Host', "GET / HTTP/1.0\r\nConnection: keep-alive"
        . "\r\n\r\n", 200, 'serve' ],
    [ 'absolute-form overrides Host', "GET http://other.test/ HTTP/1.1\r\n"
        . "${H}\r\n", 200, 'serve', qr/other/ ],

    # versions: only 1.0 and 1.1 are served (HTTP/1.2 is 505 too, see
    # README "Protocol strictness")
    [ 'HTTP/2.0', "GET / HTTP/2.0\r\n${H}\r\n", 505 ],
    [ 'HTTP/3.0', "GET / HTTP/3.0\r\n${H}\r\n", 505 ],
    [ 'HTTP/1.2', "GET / HTTP/1.2\r\n${H}\r\n", 505 ],
    [ 'HTTP/0.9 version', "GET / HTTP/0.9\r\n${H}\r\n", 505 ],
    [ 'HTTP/1.10', "GET / HTTP/1.10\r\n${H}\r\n", 400 ],
    [ 'HTTP/01.1', "GET / HTTP/01.1\r\n${H}\r\n", 400 ],
    [ 'lower-case http', "GET / http/1.1\r\n${H}\r\n", 400 ],
    [ 'no version', "GET /\r\n${H}\r\n", 400 ],
    [ 'PRI preface', "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400 ],

    # methods
    [ 'lower-case method', "get / HTTP/1.1\r\n${H}\r\n", 501 ],
    [ 'unknown method', "FOO / HTTP/1.1\r\n${H}\r\n", 501 ],
    [ 'method with separator', "GE(T / HTTP/1.1\r\n${H}\r\n", 400 ],

    # expectations
    [ 'Expect other than 100-continue', "POST / HTTP/1.1\r\n${H}"
        . "Expect: 200-ok\r\nContent-Length: 3\r\n\r\nabc", 417 ],

    # limits (large_client_header_buffers 4 8k)
    [ 'target over the limit', "GET /$long HTTP/1.1\r\n${H}\r\n", 414 ],
    [ 'header over the limit', "GET / HTTP/1.1\r\n${H}X-Long: $long\r\n\r\n",
        431 ],
    [ 'header section over the limit', "GET / HTTP/1.1\r\n${H}"
        . join('', map { "X-H$_: " . ('b' x 7000) . "\r\n" } 1 .. 6)
        . "\r\n", 431 ],

    # URI normalisation and root escapes
    [ '%2e%2e above root', "GET /%2e%2e/secret.txt HTTP/1.1\r\n${H}\r\n",
        400 ],
    [ '.. above root', "GET /static/../../secret.txt HTTP/1.1\r\n${H}\r\n",
        400 ],
    [ '..%2f above root', "GET /static/..%2f..%2fsecret.txt HTTP/1.1\r\n"
        . "${H}\r\n", 400 ],
    [ '%2E%2E upper case', "GET /static/%2E%2E/%2E%2E/secret.txt HTTP/1.1"
        . "\r\n${H}\r\n", 400 ],
    [ '%00 in path', "GET /static/file.txt%00.html HTTP/1.1\r\n${H}\r\n",
        400 ],
    [ 'bad percent escape', "GET /static/%zz HTTP/1.1\r\n${H}\r\n", 400 ],
    [ 'truncated percent escape', "GET /static/%2 HTTP/1.1\r\n${H}\r\n",
        400 ],
    [ 'asterisk-form', "GET * HTTP/1.1\r\n${H}\r\n", 400 ],
    [ '%2e%2e inside root', "GET /x/%2e%2e/hello HTTP/1.1\r\n${H}\r\n",
        200, 'serve', qr/hello/ ],
    [ '// collapses', "GET //hello HTTP/1.1\r\n${H}\r\n", 200, 'serve',
        qr/hello/ ],
    [ '/./ collapses', "GET /./hello HTTP/1.1\r\n${H}\r\n", 200, 'serve',
        qr/hello/ ],
    [ 'static through ..', "GET /static/x/../file.txt HTTP/1.1\r\n${H}"
        . "\r\n", 200, 'serve', qr/FILE/ ],
    [ 'static %2e%2e stays in root', "GET /static/%2e%2e/static/file.txt "
        . "HTTP/1.1\r\n${H}\r\n", 200, 'serve', qr/FILE/ ],
);

$t->plan(3 * scalar @cases);

$t->run();

###############################################################################

for my $c (@cases) {
    my ($name, $raw, $status, $serve, $body) = @$c;

    my ($reply, $closed) = exchange($raw . $NEXT);
    my @statuses = $reply =~ m{HTTP/1\.[01] (\d\d\d) }g;

    is($statuses[0] // 'none', $status, "$name: status $status");

    if ($serve) {
        is(scalar @statuses, 2, "$name: pipelined request answered");
        if ($body) {
            like($reply, $body, "$name: body");
        } else {
            ok($closed, "$name: closed after Connection: close");
        }

    } else {
        is(scalar @statuses, 1, "$name: no second response");
        ok($closed, "$name: connection closed");
    }
}

###############################################################################

# Sends $raw in one write and reads until the server closes, or 5 s pass.
# Returns (reply, closed).  A reset after the response counts as closed.
sub exchange {
    my ($raw) = @_;
    my ($reply, $closed) = ('', 0);

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . port(8080))
        or return ('', 0);

    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        local $SIG{PIPE} = 'IGNORE';
        alarm(5);
        $s->syswrite($raw);
        while (1) {
            my $n = $s->sysread(my $buf, 65536);
            if (!$n) {
                $closed = 1;
                last;
            }
            $reply .= $buf;
        }
        alarm(0);
    };
    alarm(0);
    $s->close();

    return ($reply, $closed);
}

###############################################################################
