#!/usr/bin/perl

# Tests for server_name: exact names, leading and trailing wildcards,
# regexes with captures, nginx's precedence between them, and the
# default_server for unknown hosts.

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

$t->plan(16);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  first.test;
        return 200 "first";
    }

    server {
        listen       127.0.0.1:8080 default_server;
        server_name  default.test;
        return 200 "default";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  www.example.com;
        return 200 "exact";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  *.example.com;
        return 200 "short wildcard";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  *.api.example.com;
        return 200 "long wildcard";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  .dot.test;
        return 200 "dot";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  www.example.* mail.*;
        return 200 "trailing";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  ~^(?<sub>[a-z]+)\.regex\.test$;
        return 200 "regex sub=$sub";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  ~^(\w+)\.(\w+)\.example\.(org|net)$;
        return 200 "regex2 $1 $2 $3";
    }

    server {
        listen       127.0.0.1:8080;
        server_name  ~example;
        return 200 "regex last";
    }
}

EOF

$t->run();

###############################################################################

sub get_host {
    my ($host) = @_;
    return http_content(http("GET / HTTP/1.0\r\nHost: $host\r\n\r\n"));
}

is(get_host('first.test'), 'first', 'exact name');
is(get_host('unknown.test'), 'default', 'unknown host: default_server');
is(get_host('www.example.com'), 'exact', 'exact beats leading wildcard');
is(get_host('a.example.com'), 'short wildcard', 'leading wildcard');
is(get_host('a.b.example.com'), 'short wildcard',
    'leading wildcard, deeper name');
is(get_host('x.api.example.com'), 'long wildcard',
    'longest leading wildcard wins');
is(get_host('example.com'), 'regex last',
    '*.example.com does not match example.com');
is(get_host('dot.test'), 'dot', '.name matches the name');
is(get_host('a.dot.test'), 'dot', '.name matches subdomains');
is(get_host('www.example.org'), 'trailing',
    'trailing wildcard beats regex');
is(get_host('mail.example.net'), 'trailing', 'second name of a server');
is(get_host('WWW.Example.COM'), 'exact', 'names are case-insensitive');
is(get_host('foo.regex.test'), 'regex sub=foo', 'regex with named capture');
is(get_host('a.b.example.net'), 'regex2 a b net',
    'regex with numbered captures');
is(get_host('xexamplex.test'), 'regex last', 'regexes in written order');

$t->write_file('bad.conf', "events {\n}\nhttp {\n    server {\n"
    . "        server_name www.*.com;\n    }\n}\n");
my ($rc, $out, $err) = $t->cmd('-t', '-c', $t->testdir() . '/bad.conf');
like($err, qr/invalid server name or wildcard "www\.\*\.com" in \S*bad\.conf:5/,
    'invalid wildcard is an error');

###############################################################################
