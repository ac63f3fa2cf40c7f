#!/usr/bin/perl

# Tests for the reverse proxy: proxy_pass and its URI replacement rules,
# the headers sent both ways (defaults, proxy_set_header, hop-by-hop,
# hidden and passed ones), request bodies (buffered and streamed,
# Content-Length and chunked), re-framing of the response, HEAD, and the
# errors a broken backend gives (502, 504), logged with its address.

use warnings;
use strict;

use Test::More;
use JSON::PP;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;
use Test::Divehttpd::Backend;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_proxy/)->plan(78);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    upstream fragile {
        server 127.0.0.1:8081 max_fails=0;
    }

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location / {
            proxy_pass http://127.0.0.1:8081;
        }

        location /replace/ {
            proxy_pass http://127.0.0.1:8081/new/;
        }

        location = /exact {
            proxy_pass http://127.0.0.1:8081/other;
        }

        location /noslash {
            proxy_pass http://127.0.0.1:8081/ns;
        }

        location ~ ^/re/(.*)$ {
            proxy_pass http://127.0.0.1:8081/captured/$1;
        }

        location /headers/ {
            proxy_pass http://127.0.0.1:8081;
            proxy_set_header Host $host;
            proxy_set_header X-Custom "v-$request_method";
            proxy_set_header X-Real-IP "";
            proxy_hide_header X-Secret;
            proxy_pass_header X-Pad;
        }

        location /v10/ {
            proxy_pass http://127.0.0.1:8081;
            proxy_http_version 1.0;
        }

        location /down/ {
            proxy_pass http://127.0.0.1:8082;
        }

        # failures must not take the one backend out of rotation
        location /broken/ {
            proxy_pass http://fragile/;
            proxy_read_timeout 1s;
        }

        location /stream/ {
            proxy_pass http://127.0.0.1:8081;
            proxy_request_buffering off;
        }
    }

    server {
        listen       127.0.0.1:8084;
        server_name  localhost;

        proxy_set_header X-Level server;
        proxy_set_header X-Server-Only yes;

        location /inherit/ {
            proxy_pass http://127.0.0.1:8081;
        }

        location /own/ {
            proxy_pass http://127.0.0.1:8081;
            proxy_set_header X-Level location;
        }
    }
}

EOF

backend($t, id => 'a', port => port(8081));
$t->run();

# heredoc requests: lines end with CRLF on the wire
sub crlf {
    my ($s) = @_;
    $s =~ s/\n/\r\n/g;
    return $s;
}

sub echo {
    my ($r) = @_;
    my $body = http_content($r) // '';
    return eval { decode_json($body) } || {};
}

###############################################################################
# the basics

my $r = http_get('/a/b?x=1');
like($r, qr/^HTTP\/1.1 200/, 'proxied');
like($r, qr/^Server: divehttpd/m, 'our Server header');
my $e = echo($r);
is($e->{uri}, '/a/b?x=1', 'uri passed as it came');
is($e->{method}, 'GET', 'method');
is($e->{version}, 'HTTP/1.1', 'HTTP/1.1 to the backend');
is($e->{headers}{host}, '127.0.0.1:' . port(8081), 'Host is $proxy_host');
is($e->{headers}{'x-real-ip'}, '127.0.0.1', 'X-Real-IP');
is($e->{headers}{'x-forwarded-for'}, '127.0.0.1', 'X-Forwarded-For');
is($e->{headers}{'x-forwarded-proto'}, 'http', 'X-Forwarded-Proto');
is($e->{headers}{connection}, 'close', 'Connection: close without a pool');

$e = echo(http(crlf(<<EOF)));
GET /xff HTTP/1.1
Host: localhost
X-Forwarded-For: 10.0.0.1
Connection: close

EOF
is($e->{headers}{'x-forwarded-for'}, '10.0.0.1, 127.0.0.1',
    'X-Forwarded-For appended');

$e = echo(http_get('/a%20b/%3Fq'));
is($e->{uri}, '/a%20b/%3Fq', 'escaped uri unchanged');

$e = echo(http("GET http://localhost/abs?x=1 HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n"));
is($e->{uri}, '/abs?x=1', 'absolute-form request: path sent');

###############################################################################
# URI replacement

is(echo(http_get('/replace/x/y?q=1'))->{uri}, '/new/x/y?q=1',
    'location prefix replaced');
is(echo(http_get('/replace/'))->{uri}, '/new/', 'prefix only');
is(echo(http_get('/replace/a%20b'))->{uri}, '/new/a%20b', 'replaced, escaped');
is(echo(http_get('/exact'))->{uri}, '/other', 'exact location');
is(echo(http_get('/noslash/z'))->{uri}, '/ns/z', 'prefix without slash');
is(echo(http_get('/re/abc/d'))->{uri}, '/captured/abc/d',
    'regex location with a variable URI');

###############################################################################
# headers both ways

$r = http(crlf(<<EOF));
GET /headers/hop HTTP/1.1
Host: localhost
Connection: close, X-Drop
X-Drop: 1
Keep-Alive: 300
TE: trailers
Proxy-Authorization: secret
X-Keep: yes
Upgrade: h2c

EOF
$e = echo($r);
is($e->{headers}{host}, 'localhost', 'proxy_set_header Host $host');
is($e->{headers}{'x-custom'}, 'v-GET', 'proxy_set_header with a variable');
ok(!exists $e->{headers}{'x-real-ip'}, 'empty value removes a header');
is($e->{headers}{'x-keep'}, 'yes', 'end-to-end header passed');
ok(!exists $e->{headers}{'x-drop'}, 'header listed in Connection dropped');
ok(!exists $e->{headers}{'keep-alive'}, 'Keep-Alive dropped');
ok(!exists $e->{headers}{te}, 'TE dropped');
ok(!exists $e->{headers}{'proxy-authorization'}, 'Proxy-* dropped');
ok(!exists $e->{headers}{upgrade}, 'Upgrade dropped without Connection');
is($e->{headers}{connection}, 'close', 'client Connection replaced');

unlike($r, qr/^X-Hop-Listed/mi, 'response header listed in Connection');
unlike($r, qr/^Keep-Alive/mi, 'response Keep-Alive dropped');
unlike($r, qr/^Proxy-Thing/mi, 'response Proxy-* dropped');
like($r, qr/^X-Pad: pad/mi, 'proxy_pass_header X-Pad');
unlike($r, qr/^X-Accel-Redirect/mi, 'X-Accel-* hidden');
like($r, qr/^X-Kept: kept/mi, 'other response header copied');
unlike($r, qr/^X-Secret/mi, 'proxy_hide_header');
unlike($r, qr/1970/, 'backend Date replaced');
unlike($r, qr/^Server: perl/mi, 'backend Server replaced');

$e = echo(http_get('/v10/x'));
is($e->{version}, 'HTTP/1.0', 'proxy_http_version 1.0');
is($e->{headers}{connection}, 'close', 'HTTP/1.0 closes');

# proxy_set_header inherits as a whole
$e = echo(http_get('/inherit/', port => 8084));
is($e->{headers}{'x-level'}, 'server', 'proxy_set_header inherited');
is($e->{headers}{'x-server-only'}, 'yes', 'all of them');
$e = echo(http_get('/own/', port => 8084));
is($e->{headers}{'x-level'}, 'location', 'own proxy_set_header');
ok(!exists $e->{headers}{'x-server-only'}, 'replaces every inherited one');
is($e->{headers}{'x-real-ip'}, '127.0.0.1', 'defaults stay');

###############################################################################
# request bodies

$e = echo(http(crlf(<<EOF)));
POST /body HTTP/1.1
Host: localhost
Content-Length: 11
Connection: close

hello world
EOF
is($e->{body}, 'hello world', 'buffered body');
is($e->{headers}{'content-length'}, 11, 'buffered body length');

my $chunked = "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    . "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";

$e = echo(http("POST /body HTTP/1.1\r\nHost: localhost\r\n$chunked"));
is($e->{body}, 'hello world', 'chunked body, buffered');
is($e->{headers}{'content-length'}, 11, 'chunked body sent with a length');

$e = echo(http("POST /stream/body HTTP/1.1\r\nHost: localhost\r\n$chunked"));
is($e->{body}, 'hello world', 'chunked body, streamed');
like($e->{headers}{'transfer-encoding'} // '', qr/chunked/,
    'streamed chunked body stays chunked');

my $big = 'b' x 300000;
$e = echo(http("POST /stream/big HTTP/1.1\r\nHost: localhost\r\n"
    . "Content-Length: 300000\r\nConnection: close\r\n\r\n", body => $big));
is(length($e->{body} // ''), 300000, 'large body streamed');
is($e->{headers}{'content-length'}, 300000, 'streamed body keeps its length');

###############################################################################
# response framing, HEAD, statuses

$r = http("GET /chunked HTTP/1.1\r\nHost: localhost\r\n"
    . "Connection: close\r\n\r\n");
like($r, qr/^Transfer-Encoding: chunked/mi, 'chunked response re-chunked');
is(http_content($r), 'hello, world', 'chunked body');
unlike($r, qr/X-Trailer/, 'trailers not passed');

$r = http_head('/head');
like($r, qr/^HTTP\/1.1 200.*Content-Length: \d+/ms, 'HEAD has the length');
like($r, qr/\r\n\r\n$/, 'HEAD without body');

$r = http_get('/status/404');
like($r, qr/^HTTP\/1.1 404/, 'backend status passed');
like($r, qr/"uri":"\/status\/404"/, 'backend error body passed');

###############################################################################
# broken backends

like(http_get('/down/x'), qr/^HTTP\/1.1 502/, 'unreachable: 502');
like(http_get('/broken/slowhead/3'), qr/^HTTP\/1.1 504/, 'timeout: 504');
like(http_get('/broken/badstatus'), qr/^HTTP\/1.1 502/, 'invalid status: 502');
like(http_get('/broken/hugeheaders'), qr/^HTTP\/1.1 502/, 'huge headers: 502');

$r = http_get('/broken/closemid');
like($r, qr/^HTTP\/1.1 200/, 'cut response: head sent');
ok(length(($r =~ /\r\n\r\n(.*)$/s)[0] // '') < 100, 'cut response is cut');

my $log = $t->read_file('error.log');
like($log, qr/upstream: 127\.0\.0\.1:${\ port(8082)}/,
    'unreachable backend logged with its address');
like($log, qr/timed out.*upstream: 127\.0\.0\.1:${\ port(8081)}/,
    'timeout logged with the address');

###############################################################################
# a real client

SKIP: {
    skip 'no curl', 2 unless `curl --version 2>/dev/null`;
    my $out = `curl -s -i --max-time 10 http://127.0.0.1:${\ port(8080)}/curl 2>&1`;
    like($out, qr/^HTTP\/1.1 200/, 'curl through the proxy');
    like($out, qr/"uri":"\/curl"/, 'curl got the echo');
}

###############################################################################
# configuration errors

$t->write_file('bad.conf', <<EOF);
daemon off;
events {
}
http {
    server {
        listen 127.0.0.1:${\ port(8083)};
        location ~ ^/x {
            proxy_pass http://127.0.0.1:1/uri;
        }
    }
}
EOF
my ($rc, $out, $err) = $t->cmd('-t', '-c', 'bad.conf');
is($rc, 1, 'URI part in a regex location: -t fails');
like($err, qr/cannot have URI part.*bad\.conf:8/, 'error names file:line');

for my $bad (
    [ 'proxy_pass ftp://127.0.0.1:1;', qr/bad2\.conf:8/, 'bad scheme' ],
    [ 'proxy_pass http://127.0.0.1:1; proxy_http_version 2.0;',
      qr/proxy_http_version.*bad2\.conf:8/, 'bad proxy_http_version' ],
    [ 'proxy_pass http://127.0.0.1:1; proxy_next_upstream sometimes;',
      qr/proxy_next_upstream.*bad2\.conf:8/, 'bad proxy_next_upstream' ],
    [ 'proxy_pass http://127.0.0.1:1; proxy_pass http://127.0.0.1:2;',
      qr/duplicate.*bad2\.conf:8/, 'proxy_pass twice' ],
    [ 'proxy_pass http://$host:1;', qr/variables.*bad2\.conf:8/,
      'variables in the host' ],
) {
    $t->write_file('bad2.conf', <<EOF);
daemon off;
events {
}
http {
    server {
        listen 127.0.0.1:${\ port(8083)};
        location / {
            $bad->[0]
        }
    }
}
EOF
    ($rc, $out, $err) = $t->cmd('-t', '-c', 'bad2.conf');
    ok($rc == 1 && $err =~ $bad->[1], "-t: $bad->[2]")
        or diag($err);
}

# the sample configuration is valid
($rc, $out, $err) = run_divehttpd_cmd('-p', "$FindBin::Bin/../", '-c',
    'conf/proxy.conf', '-e', $t->testdir() . '/sample-error.log', '-t');
is($rc, 0, 'conf/proxy.conf passes -t') or diag($err);

###############################################################################
