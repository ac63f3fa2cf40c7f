#!/usr/bin/perl

# Tests for the access log: the default combined format, log_format with
# default/json/none escaping, several logs, access_log off, reopening on
# USR1 and request_id_header.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_log/)->plan(24);
my $d = $t->testdir();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    log_format  short  '$request_method $request_uri $status';
    log_format  js     escape=json
                       '{"ua":"$http_user_agent","x":"$http_x_data",'
                       '"uri":"$uri",'
                       '"status":$status,"id":"$request_id"}';
    log_format  raw    escape=none '$http_x_data';
    log_format  esc    '$http_x_data|$http_x_missing';
    log_format  sent   '$sent_http_content_type|$sent_http_x_request_id|'
                       '$sent_http_content_length|$bytes_sent|'
                       '$body_bytes_sent|$request_length';

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /default {
            return 200 "default";
        }

        location /multi {
            access_log  logs/short.log short;
            access_log  logs/json.log js;
            access_log  logs/raw.log raw;
            access_log  logs/esc.log esc;
            return 200 "multi";
        }

        location /off {
            access_log  off;
            return 200 "off";
        }

        location /rid {
            request_id_header  on;
            access_log  logs/rid.log js;
            access_log  logs/sent.log sent;
            return 200 "$request_id";
        }
    }
}

EOF

$t->run();

###############################################################################

sub wait_log {
    my ($name, $re) = @_;
    my $ok = wait_until(sub { ($t->read_file("logs/$name") // '') =~ $re },
        10);
    return $ok ? $t->read_file("logs/$name") : $t->read_file("logs/$name");
}

# combined, the default

my $r = http("GET /default?q=1 HTTP/1.0\r\nHost: localhost\r\n"
    . "Referer: http://ref.example/\r\nUser-Agent: agent \"q\"\r\n\r\n");
is(http_content($r), 'default', 'request answered');

my $log = wait_log('access.log', qr/default\?q=1/) // '';
like($log, qr!^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /default\?q=1 HTTP/1\.0" 200 7 "http://ref\.example/" "agent \\x22q\\x22"\n!m,
    'combined line shape, quotes escaped');

http("GET /default HTTP/1.0\r\nHost: localhost\r\n"
    . "Authorization: Basic dXNlcjpwYXNz\r\n\r\n");
$log = wait_log('access.log', qr/ - user \[/) // '';
like($log, qr/^127\.0\.0\.1 - user \[.*\] "GET \/default HTTP\/1\.0" 200 7 "-" "-"$/m,
    'combined: $remote_user, missing values are -');

# several logs in one location, custom formats and escaping

# the parser refuses control bytes in headers (but for tab); a decoded
# $uri can hold any byte
http("GET /multi/%01%1F%22 HTTP/1.0\r\nHost: localhost\r\nUser-Agent: ua\r\n"
    . "X-Data: a\"b\\c\td\xc3\xa9\r\n\r\n");

$log = wait_log('short.log', qr/multi/) // '';
is($log, "GET /multi/%01%1F%22 200\n", 'custom format');

$log = wait_log('json.log', qr/multi|ua/) // '';
like($log, qr/^\{"ua":"ua","x":"a\\"b\\\\c\\td\xc3\xa9","uri":"\/multi\/\\u0001\\u001[fF]\\"","status":200,"id":"[0-9a-f]{32}"\}\n$/,
    'json escaping of quotes, backslashes and control bytes');

$log = wait_log('raw.log', qr/a/) // '';
is($log, "a\"b\\c\td\xc3\xa9\n", 'escape=none');

$log = wait_log('esc.log', qr/a/) // '';
is($log, "a\\x22b\\x5Cc\\x09d\\xC3\\xA9|-\n",
    'default escaping, - for missing');

unlike($t->read_file('logs/access.log'), qr/GET \/multi/,
    'a location with its own logs does not inherit the http one');

# off

http_get('/off');
http_get('/default?after-off');
wait_log('access.log', qr/after-off/);
unlike($t->read_file('logs/access.log'), qr/GET \/off/, 'access_log off');

# request_id_header

$r = http("GET /rid HTTP/1.0\r\nHost: localhost\r\n"
    . "X-Request-ID: client-chosen\r\n\r\n");
my ($hid) = $r =~ /^X-Request-ID: ([0-9a-f]+)\r$/m;
ok(defined $hid && length($hid) == 32, 'X-Request-ID sent, 32 hex digits');
is(http_content($r), $hid, 'header is $request_id');
$log = wait_log('rid.log', qr/"id"/) // '';
like($log, qr/"id":"\Q$hid\E"/, 'logged $request_id is the header');
unlike($r, qr/client-chosen/, 'a client X-Request-ID is not reused');

my $req_len = length("GET /rid HTTP/1.0\r\nHost: localhost\r\n"
    . "X-Request-ID: client-chosen\r\n\r\n");
$log = wait_log('sent.log', qr/\|/) // '';
is($log, "text/plain|$hid|32|" . length($r) . "|32|$req_len\n",
    '$sent_http_*, $bytes_sent, $body_bytes_sent, $request_length');
unlike(http_get('/default'), qr/X-Request-ID/i, 'off by default');

my ($id2) = http_get('/rid') =~ /^X-Request-ID: (\S+)\r$/m;
isnt($id2, $hid, 'each request has its own id');

# errors are logged too

http("GET /nosuch HTTP/1.1\r\n\r\n");
$log = wait_log('access.log', qr/nosuch/) // '';
like($log, qr!"GET /nosuch HTTP/1\.1" 400 !, '400 without Host is logged');

# USR1 reopens the logs

rename("$d/logs/access.log", "$d/logs/access.log.old")
    or die "rename: $!";
http_get('/default?before-reopen');
wait_log('access.log.old', qr/before-reopen/);
like($t->read_file('logs/access.log.old'), qr/before-reopen/,
    'moved log is written until USR1');

ok($t->signal('USR1'), 'USR1 sent');
ok($t->waitforfile("$d/logs/access.log", 15), 'access.log created again');

ok(wait_until(sub {
    http_get('/default?after-reopen');
    ($t->read_file('logs/access.log') // '') =~ /after-reopen/
}, 15, 0.2), 'worker writes the reopened file');
unlike($t->read_file('logs/access.log.old'), qr/after-reopen/,
    'old file no longer written');

# unknown format

$t->write_file('bad.conf', "events {\n}\nhttp {\n    server {\n"
    . "        access_log logs/x.log nosuch;\n    }\n}\n");
my ($rc, $out, $err) = $t->cmd('-t', '-c', "$d/bad.conf");
is($rc, 1, 'unknown log format: exit status 1');
like($err, qr/unknown log format "nosuch" in \S*bad\.conf:5/,
    'unknown log format: file:line');

###############################################################################
