#!/usr/bin/perl

# Tests for variables: return with variables in the text and the URL, each
# family of built-in variables, regex captures, and unknown variables.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(36);

my $pcre = $t->version_info() !~ /--without-pcre2/;

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
        root         %%TESTDIR%%/html;

        location /redir {
            return 308 https://$host$request_uri;
        }

        location /addr {
            return 200 "$remote_addr\n";
        }

        location /conn {
            return 200 "remote_port=$remote_port server_addr=$server_addr server_port=$server_port server_name=$server_name";
        }

        location /req {
            return 200 "request=[$request] method=$request_method uri=$uri document_uri=$document_uri args=$args qs=$query_string proto=$server_protocol scheme=$scheme https=[$https]";
        }

        location /argv {
            return 200 "a=[$arg_a] b=[$arg_b] none=[$arg_none]";
        }

        location /hdr {
            return 200 "foo=[$http_x_foo] ua=[$http_user_agent] multi=[$http_x_multi] none=[$http_x_none] ct=[$content_type] cl=[$content_length]";
        }

        location /cookie {
            return 200 "c=[$cookie_c] d=[$cookie_d] none=[$cookie_none]";
        }

        location /braces {
            return 200 "${uri}x";
        }

        location /misc {
            return 200 "pid=$pid conn=$connection reqs=$connection_requests id=$request_id msec=$msec rt=$request_time root=$document_root host=$hostname";
        }

        location /time {
            return 200 "local=$time_local iso=$time_iso8601";
        }

        location /user {
            return 200 "user=[$remote_user]";
        }
    }
}

EOF

$t->run();

###############################################################################

my $r = http("GET /redir/a?b=1 HTTP/1.0\r\nHost: example.com\r\n\r\n");
like($r, qr!^HTTP/1\.[01] 308 !, 'redirect with variables: status');
like($r, qr!^Location: https://example\.com/redir/a\?b=1\r$!m,
    'redirect with variables: Location');

$r = http("GET /redir HTTP/1.0\r\nHost: Example.COM:8080\r\n\r\n");
like($r, qr!^Location: https://example\.com/redir\r$!m,
    '$host is lower-case and without port');

is(http_content(http_get('/addr')), "127.0.0.1\n", 'return text $remote_addr');

my $port = port(8080);
$r = http_content(http_get('/conn'));
like($r, qr/remote_port=\d+ /, '$remote_port');
like($r, qr/server_addr=127\.0\.0\.1 /, '$server_addr');
like($r, qr/server_port=$port /, '$server_port');
like($r, qr/server_name=localhost$/, '$server_name');

$r = http_content(http_get('/req/%61b/../c?x=1&y=2'));
like($r, qr!request=\[GET /req/%61b/\.\./c\?x=1&y=2 HTTP/1\.0\]!, '$request');
like($r, qr/method=GET /, '$request_method');
like($r, qr! uri=/req/c !, '$uri is normalised');
like($r, qr! document_uri=/req/c !, '$document_uri');
like($r, qr/ args=x=1&y=2 /, '$args');
like($r, qr/ qs=x=1&y=2 /, '$query_string');
like($r, qr! proto=HTTP/1\.0 !, '$server_protocol');
like($r, qr/ scheme=http https=\[\]$/, '$scheme and $https');

$r = http_content(http_get('/argv?b=2&a=1&a=3'));
is($r, 'a=[1] b=[2] none=[]', '$arg_NAME: first value, missing empty');

$r = http_content(http("GET /hdr HTTP/1.0\r\nHost: localhost\r\n"
    . "X-Foo: bar\r\nUser-Agent: tester/1\r\nX-Multi: one\r\n"
    . "x-multi: two\r\nContent-Type: text/x\r\nContent-Length: 0\r\n\r\n"));
like($r, qr/foo=\[bar\]/, '$http_NAME with dashes as underscores');
like($r, qr!ua=\[tester/1\]!, '$http_user_agent');
like($r, qr/multi=\[one, two\]/, '$http_NAME joins repeated headers');
like($r, qr/none=\[\]/, '$http_NAME missing is empty');
like($r, qr!ct=\[text/x\] cl=\[0\]!, '$content_type and $content_length');

$r = http_content(http("GET /cookie HTTP/1.0\r\nHost: localhost\r\n"
    . "Cookie: a=1; c=three\r\nCookie: d=4\r\n\r\n"));
is($r, 'c=[three] d=[4] none=[]', '$cookie_NAME');

is(http_content(http_get('/braces')), '/bracesx', '${name} syntax');

$r = http_content(http_get('/misc'));
my ($pid) = $r =~ /pid=(\d+)/;
ok($pid && grep({ $_ == $pid } $t->worker_pids()), '$pid is the worker');
like($r, qr/conn=\d+ reqs=1 /, '$connection and $connection_requests');
like($r, qr/id=[0-9a-f]{32} /, '$request_id is 32 hex digits');
like($r, qr/msec=\d+\.\d{3} rt=\d+\.\d{3} /, '$msec and $request_time');
like($r, qr!root=\S+/html !, '$document_root');
like($r, qr/host=\S+$/, '$hostname');

my ($id2) = http_content(http_get("/misc")) =~ / id=(\w+)/;
my ($id1) = $r =~ / id=(\w+)/;
isnt($id1, $id2, 'request ids differ');

$r = http_content(http_get('/time'));
like($r, qr!local=\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4} !, '$time_local');
like($r, qr/iso=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$/,
    '$time_iso8601');

# "Aladdin:open sesame"
$r = http_content(http("GET /user HTTP/1.0\r\nHost: localhost\r\n"
    . "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n"));
is($r, 'user=[Aladdin]', '$remote_user');

# an unknown variable is a configuration error at the line that names it

$t->write_file('bad.conf', "events {\n}\nhttp {\n    server {\n"
    . "        location / {\n            return 200 \"\$no_such_var\";\n"
    . "        }\n    }\n}\n");
my ($rc, $out, $err) = $t->cmd('-t', '-c', $t->testdir() . '/bad.conf');
is($rc, 1, 'unknown variable: exit status 1');
like($err, qr/unknown "no_such_var" variable in \S*bad\.conf:6/,
    'unknown variable: named with file:line');

###############################################################################
