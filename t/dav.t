#!/usr/bin/perl

# Tests for dav_methods PUT DELETE and create_full_put_path.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_dav/)->plan(22);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    client_body_temp_path %%TESTDIR%%/client_body_temp;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /dav/ {
            root %%TESTDIR%%/html;
            dav_methods PUT DELETE;
        }

        location /full/ {
            root %%TESTDIR%%/html;
            dav_methods PUT;
            create_full_put_path on;
        }

        location /ro/ {
            root %%TESTDIR%%/html;
        }
    }
}

EOF

$t->write_file('html/dav/old.txt', 'OLD');
$t->write_file('html/dav/dir/x.txt', 'X');
$t->write_file('html/dav/tree/a/b.txt', 'B');
$t->write_file('html/ro/file.txt', 'RO');

$t->run();

###############################################################################

my $d = $t->testdir();

sub put {
    my ($uri, $body) = @_;
    return http("PUT $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        . "Content-Length: " . length($body) . "\r\n\r\n" . $body);
}

sub del {
    my ($uri) = @_;
    return http("DELETE $uri HTTP/1.1\r\nHost: localhost\r\n"
        . "Connection: close\r\n\r\n");
}

like(put('/dav/new.txt', 'hello world'), qr!^HTTP/1\.1 201 !, 'PUT new: 201');
is($t->read_file('html/dav/new.txt'), 'hello world', 'PUT new: content');
is(http_content(http_get('/dav/new.txt')), 'hello world', 'GET after PUT');
ok(((stat("$d/html/dav/new.txt"))[2] & 0777) == 0644, 'PUT file mode 0644');

like(put('/dav/old.txt', 'NEW'), qr!^HTTP/1\.1 204 !, 'PUT replace: 204');
is($t->read_file('html/dav/old.txt'), 'NEW', 'PUT replace: content');

like(put('/dav/empty.txt', ''), qr!^HTTP/1\.1 201 !, 'PUT empty: 201');
ok(-f "$d/html/dav/empty.txt" && -s _ == 0, 'PUT empty: empty file');

like(put('/dav/no/such/dir.txt', 'x'), qr!^HTTP/1\.1 409 !,
    'PUT without parent: 409');
like(put('/full/a/b/c.txt', 'deep'), qr!^HTTP/1\.1 201 !,
    'create_full_put_path: 201');
is($t->read_file('html/full/a/b/c.txt'), 'deep',
    'create_full_put_path: content');

like(put('/dav/', 'x'), qr!^HTTP/1\.1 409 !, 'PUT to a collection: 409');
like(put('/dav/dir', 'x'), qr!^HTTP/1\.1 409 !, 'PUT over a directory: 409');

my $r = put('/ro/file.txt', 'x');
like($r, qr!^HTTP/1\.1 405 !, 'PUT without dav_methods: 405');
like($r, qr!^Allow: GET, HEAD\r$!m, 'PUT without dav_methods: Allow');
is($t->read_file('html/ro/file.txt'), 'RO', 'PUT without dav_methods: kept');

like(del('/dav/new.txt'), qr!^HTTP/1\.1 204 !, 'DELETE file: 204');
ok(!-e "$d/html/dav/new.txt", 'DELETE file: gone');
like(del('/dav/new.txt'), qr!^HTTP/1\.1 404 !, 'DELETE missing: 404');
like(del('/dav/tree'), qr!^HTTP/1\.1 409 !, 'DELETE dir without slash: 409');
like(del('/dav/tree/'), qr!^HTTP/1\.1 204 !, 'DELETE dir tree: 204');
ok(!-e "$d/html/dav/tree", 'DELETE dir tree: gone');

###############################################################################
