#!/usr/bin/perl

# Tests for regex locations: nginx's search order (exact, longest prefix,
# then regexes in written order unless ^~), ~*, nested locations, numbered
# and named captures, and bad regexes reported with file:line.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/);

plan(skip_all => 'built without PCRE2')
    if $t->version_info() =~ /--without-pcre2/;

$t->plan(20);

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

        location = /exact.php {
            return 200 "exact";
        }

        location / {
            return 200 "root";
        }

        location /static/ {
            return 200 "static prefix";
        }

        location ^~ /noregex/ {
            return 200 "noregex";
        }

        location ~ \.php$ {
            return 200 "php";
        }

        location ~ \.(php|html)$ {
            return 200 "second";
        }

        location ~* \.JPG$ {
            return 200 "jpg";
        }

        location ~ ^/cap/(\w+)/(\d+)$ {
            return 200 "one=$1 two=$2 three=[$3]";
        }

        location ~ ^/named/(?<user>[a-z]+)/(?<id>\d+) {
            return 200 "user=$user id=$id";
        }

        location /outer/ {
            location ~ \.txt$ {
                return 200 "nested regex";
            }

            location /outer/inner/ {
                return 200 "nested prefix";
            }

            return 200 "outer";
        }

        location ~ ^/rx/ {
            location ~ \.css$ {
                return 200 "regex in regex";
            }

            return 200 "rx";
        }
    }
}

EOF

$t->run();

###############################################################################

is(http_content(http_get('/exact.php')), 'exact', 'exact beats regex');
is(http_content(http_get('/a.php')), 'php', 'regex beats prefix /');
is(http_content(http_get('/static/a.php')), 'php',
    'regex beats longer prefix');
is(http_content(http_get('/static/a.css')), 'static prefix',
    'prefix when no regex matches');
is(http_content(http_get('/noregex/a.php')), 'noregex', '^~ stops regexes');
is(http_content(http_get('/a.html')), 'second', 'first matching regex wins');
is(http_content(http_get('/x.php')), 'php', 'written order');
is(http_content(http_get('/a.jpg')), 'jpg', '~* lower-case');
is(http_content(http_get('/a.JpG')), 'jpg', '~* mixed case');
is(http_content(http_get('/a.PHP')), 'root', '~ is case-sensitive');

is(http_content(http_get('/cap/bob/42')), 'one=bob two=42 three=[]',
    'numbered captures');
is(http_content(http_get('/named/alice/7/x')), 'user=alice id=7',
    'named captures');

is(http_content(http_get('/outer/a.txt')), 'nested regex',
    'nested regex in prefix');
is(http_content(http_get('/outer/inner/b')), 'nested prefix',
    'nested prefix');
is(http_content(http_get('/outer/b')), 'outer', 'outer prefix');
is(http_content(http_get('/rx/a.css')), 'regex in regex',
    'nested regex in regex');
is(http_content(http_get('/rx/a')), 'rx', 'regex location');

# a bad regex is a configuration error with file:line

$t->write_file('bad.conf', "events {\n}\nhttp {\n    server {\n"
    . "        location ~ ^/(unclosed {\n            return 200;\n"
    . "        }\n    }\n}\n");
my ($rc, $out, $err) = $t->cmd('-t', '-c', $t->testdir() . '/bad.conf');
is($rc, 1, 'bad regex: exit status 1');
like($err, qr/pcre2_compile\(\) failed: .* at offset \d+ in "\^\/\(unclosed"/,
    'bad regex: message');
like($err, qr/in \S*bad\.conf:5$/m, 'bad regex: file:line');

###############################################################################
