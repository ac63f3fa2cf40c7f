#!/usr/bin/perl

# Tests for auth_basic: every supported hash (bcrypt $2b$/$2y$,
# sha512-crypt, sha256-crypt, md5-crypt, apr1, {SHA}), wrong password,
# unknown user, missing and malformed Authorization headers, the realm in
# WWW-Authenticate, plain text refused, a missing file, the file re-read
# after it changed on disk, auth_basic off, and satisfy all / any with
# allow / deny.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use MIME::Base64 qw/encode_base64/;
use Digest::SHA qw/sha1_base64/;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_auth_basic http_access/)
    ->plan(38);

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

        root %%TESTDIR%%/html;

        location /auth/ {
            auth_basic "Restricted \"zone\"";
            auth_basic_user_file htpasswd;

            location /auth/off/ {
                auth_basic off;
            }
        }

        location /nofile/ {
            auth_basic "x";
            auth_basic_user_file %%TESTDIR%%/missing;
        }

        location /any/ {
            satisfy any;
            allow 127.0.0.1;
            deny all;
            auth_basic "any";
            auth_basic_user_file htpasswd;
        }

        location /all/ {
            allow 127.0.0.1;
            deny all;
            auth_basic "all";
            auth_basic_user_file htpasswd;
        }
    }
}

EOF

sub openssl_passwd {
    my ($alg, $salt, $pw) = @_;
    my $h = `openssl passwd -$alg -salt $salt $pw 2>/dev/null`;
    chomp $h;
    return $h;
}

my %users = (
    bcb    => [ 'pw-bcb', crypt('pw-bcb', '$2b$05$abcdefghijklmnopqrstuu') ],
    bcy    => [ 'pw-bcy', crypt('pw-bcy', '$2y$05$abcdefghijklmnopqrstuu') ],
    sha512 => [ 'pw-512', openssl_passwd('6', 'saltsalt', 'pw-512') ],
    sha256 => [ 'pw-256', openssl_passwd('5', 'saltsalt', 'pw-256') ],
    md5    => [ 'pw-md5', openssl_passwd('1', 'salt', 'pw-md5') ],
    apr1   => [ 'pw-apr1', openssl_passwd('apr1', 'saltsalt', 'pw-apr1') ],
    apr1b  => [ 'a much longer password, over sixteen bytes',
        openssl_passwd('apr1', 'x', "'a much longer password, over sixteen bytes'") ],
    sha1   => [ 'pw-sha1', '{SHA}' . sha1_base64('pw-sha1') . '=' ],
);

sub htpasswd {
    my (@names) = @_;
    my $f = "# users for auth_basic.t\n\n";
    $f .= "$_:$users{$_}[1]\n" for @names;
    $f .= "plain:secret\r\n";
    return $f;
}

$t->write_file('htpasswd', htpasswd(sort keys %users));

for my $d (qw{auth auth/off nofile any all}) {
    $t->write_file("html/$d/index.html", "$d\n");
}

$t->run();

###############################################################################

sub get {
    my ($uri, %o) = @_;
    my $h = '';
    $h = "Authorization: $o{auth}\r\n" if defined $o{auth};
    $h = "Authorization: Basic " . encode_base64("$o{user}:$o{pass}", '')
        . "\r\n" if defined $o{user};

    my %extra;
    if ($o{from}) {
        $extra{socket} = IO::Socket::INET->new(
            Proto => 'tcp', LocalAddr => $o{from},
            PeerAddr => '127.0.0.1:' . port(8080),
        ) or return { status => "no socket: $!" };
    }

    my $r = http("GET $uri HTTP/1.0\r\nHost: localhost\r\n$h\r\n", %extra);
    return parse_response($r) // { status => 'none' };
}

sub code { get(@_)->{status} }

my $r = get('/auth/');
is($r->{status}, 401, 'no credentials: 401');
is($r->{headers}{'www-authenticate'}, 'Basic realm="Restricted \"zone\""',
    'WWW-Authenticate with the realm, quotes escaped');

for my $u (sort keys %users) {
    is(code('/auth/', user => $u, pass => $users{$u}[0]), 200,
        "$u: right password");
}

$r = get('/auth/', user => 'sha512', pass => 'wrong');
is($r->{status}, 401, 'sha512: wrong password 401');
ok($r->{headers}{'www-authenticate'}, 'wrong password: challenge sent');
is(code('/auth/', user => 'bcb', pass => 'pw-bcy'), 401,
    'bcrypt: another user\'s password 401');
is(code('/auth/', user => 'apr1', pass => 'pw-apr'), 401,
    'apr1: wrong password 401');
is(code('/auth/', user => 'sha1', pass => ''), 401, 'empty password 401');
is(code('/auth/', user => 'nobody', pass => 'pw-512'), 401,
    'unknown user 401');
is(code('/auth/', user => 'plain', pass => 'secret'), 500,
    'plain-text password refused: 500');

is(code('/auth/', auth => 'Basic !!!!'), 401, 'not base64: 401');
is(code('/auth/', auth => 'Basic ' . encode_base64('nocolon', '')), 401,
    'no colon: 401');
is(code('/auth/', auth => 'Basic ' . encode_base64(':pw-512', '')), 401,
    'empty user: 401');
is(code('/auth/', auth => 'Bearer abc'), 401, 'other scheme: 401');
is(code('/auth/', auth => 'Basic'), 401, 'scheme only: 401');
is(code('/auth/', auth => 'basic  '
    . encode_base64('sha256:pw-256', '')), 200,
    'scheme is case-insensitive, extra spaces allowed');

is(code('/auth/off/'), 200, 'auth_basic off in a nested location');
is(code('/nofile/', user => 'sha512', pass => 'pw-512'), 500,
    'missing user file: 500');

# the file changes on disk: a new user appears, a removed one is refused
delete $users{apr1};
$users{newuser} = [ 'pw-new', openssl_passwd('6', 'newsalt', 'pw-new') ];
$t->write_file('htpasswd', htpasswd(sort keys %users));

is(code('/auth/', user => 'newuser', pass => 'pw-new'), 200,
    'changed file: new user accepted');
is(code('/auth/', user => 'apr1', pass => 'pw-apr1'), 401,
    'changed file: removed user refused');

# satisfy
is(code('/any/'), 200, 'satisfy any: allowed address needs no password');
is(code('/all/'), 401, 'satisfy all: allowed address still needs one');
is(code('/all/', user => 'sha512', pass => 'pw-512'), 200,
    'satisfy all: address and password');

SKIP: {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.2', Proto => 'tcp');
    skip 'cannot bind 127.0.0.2', 5 unless $s;
    close $s;

    $r = get('/any/', from => '127.0.0.2');
    is($r->{status}, 401, 'satisfy any: denied address asked for password');
    is($r->{headers}{'www-authenticate'}, 'Basic realm="any"',
        'satisfy any: challenge');
    is(code('/any/', from => '127.0.0.2', user => 'sha512', pass => 'pw-512'),
        200, 'satisfy any: denied address with password');
    is(code('/any/', from => '127.0.0.2', user => 'sha512', pass => 'bad'),
        401, 'satisfy any: denied address, wrong password');
    is(code('/all/', from => '127.0.0.2', user => 'sha512', pass => 'pw-512'),
        403, 'satisfy all: denied address with password: 403');
}

ok($t->count_log(qr/user "nobody" was not found/) == 1, 'unknown user logged');
ok($t->count_log(qr/user "sha512": password mismatch/) >= 1,
    'mismatch logged');
ok($t->count_log(qr/unsupported password hash of user "plain"/) == 1,
    'plain text logged');

###############################################################################
