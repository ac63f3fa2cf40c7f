#!/usr/bin/perl

# Tests for reload (HUP): new behaviour, listening sockets kept, a bad
# conf keeps the old one, listen sockets added and removed, port 0 kept.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use Errno qw/ECONNREFUSED/;
use IO::Socket::INET;
use POSIX ();

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(27)
    ->expect_emerg(qr/unknown_directive_xyz/);
my $d = $t->testdir();

write_conf('A');
$t->run();

###############################################################################

is(body(http_get('/')), 'A', 'before reload');
my @old = $t->worker_pids();
ok(@old >= 1, 'workers running');

# a connection opened before the reload, nothing sent yet
my $early = http_start('');
ok($early, 'connection opened before reload');

my $prober = start_prober();

write_conf('B');
ok($t->reload(wait_old => 0), 'reload: new workers started');

# send the request on the early connection right away: whoever holds it
# must answer
my $resp;
$early->syswrite("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n") if $early;
($resp) = read_response($early) if $early;
like($resp // '', qr!^HTTP/1\.[01] 200 !, 'early connection served');
like(body($resp) // '', qr/^[AB]$/, 'early connection body');

ok(Test::Divehttpd::wait_until(
    sub { !grep { $t->alive($_) } @old }, 30), 'old workers exited');
is(body(http_get('/')), 'B', 'after reload');

my %p = stop_prober($prober);
diag("prober during reload: requests $p{requests}, refused $p{refused},"
    . " failed $p{failed}, non-200 $p{non200}");
ok($p{requests} > 0, 'prober made requests');
is($p{refused}, 0, 'no connection refused during reload');
is($p{failed}, 0, 'no failed request during reload');
is($p{non200}, 0, 'all prober responses 200');

# a bad conf keeps the old one

@old = $t->worker_pids();
my $line = write_conf('C', bad => 1);
ok($t->reload(fail => 1), 'bad conf rejected');
like(join("\n", grep { /\[emerg\]/ } split /\n/, $t->read_file('error.log')),
    qr/\[emerg\].*unknown directive "unknown_directive_xyz" in \Q$d\E\/divehttpd\.conf:$line\b/,
    'bad conf logged with file:line');
is(body(http_get('/')), 'B', 'old behaviour kept after bad conf');
is(join(',', $t->worker_pids()), join(',', @old), 'old workers kept');

# add a listen socket, then remove it

write_conf('D', extra => 8081);
ok($t->reload(), 'reload with a new listen');
is(body(http_get('/')), 'D', 'old port after adding one');
is(body(http_get('/', port => 8081)), 'extra', 'new listen port serves');

write_conf('E');
ok($t->reload(), 'reload without the extra listen');
is(body(http_get('/')), 'E', 'old port after removing one');
ok(Test::Divehttpd::wait_until(sub { refused(8081) }, 15),
    'removed listen port refuses connections');

# port 0 keeps its port across a reload (the port is read from /proc)

SKIP: {
    skip 'no /proc listening socket info', 5
        unless $t->listen_ports() && grep { $_ == port(8080) }
            $t->listen_ports();

    write_conf('F', zero => 1);
    ok($t->reload(), 'reload with listen port 0');
    my @zero = grep { $_ != port(8080) } $t->listen_ports();
    is(scalar @zero, 1, 'port 0 got one port') or diag("ports: @zero");

    write_conf('G', zero => 1);
    ok($t->reload(), 'reload again with listen port 0');
    my @zero2 = grep { $_ != port(8080) } $t->listen_ports();
    ok(@zero == 1 && "@zero2" eq "@zero", 'port 0 kept the same port')
        or diag("before: @zero, after: @zero2");
    is(body(http_get('/', PeerAddr => "127.0.0.1:" . ($zero2[0] // 1))),
        'zero', 'port 0 server serves');
}

###############################################################################

# Writes divehttpd.conf answering $text; returns the line of the bad
# directive when bad => 1.
sub write_conf {
    my ($text, %opts) = @_;
    my $extra = '';
    $extra .= <<'EOF' if $opts{extra};
    server {
        listen       127.0.0.1:8081;
        location / {
            return 200 "extra";
        }
    }
EOF
    $extra .= <<'EOF' if $opts{zero};
    server {
        listen       127.0.0.1:0;
        location / {
            return 200 "zero";
        }
    }
EOF
    my $bad = $opts{bad} ? "    unknown_directive_xyz on;\n" : '';

    my $conf = $t->expand(<<"EOF");

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    keepalive_shutdown_grace 10s;
$bad
    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location / {
            return 200 "$text";
        }
    }
$extra
}

EOF
    $t->write_file('divehttpd.conf', $conf);

    my $n = 0;
    for (split /\n/, $conf) {
        $n++;
        return $n if /unknown_directive_xyz/;
    }
    return undef;
}

sub body {
    my ($r) = @_;
    return undef unless defined $r && $r =~ m!^HTTP/1\.[01] 200 !;
    return http_content($r);
}

sub refused {
    my ($p) = @_;
    my $s = IO::Socket::INET->new(Proto => 'tcp',
        PeerAddr => '127.0.0.1:' . port($p));
    return 1 if !$s && $! == ECONNREFUSED;
    close $s if $s;
    return 0;
}

# A child that connects and sends a request over and over, counting
# refused connections and requests without a complete 200 response.
sub start_prober {
    my $file = "$d/prober.out";
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $stop = 0;
        local $SIG{TERM} = sub { $stop = 1 };
        my %c = (requests => 0, refused => 0, failed => 0, non200 => 0);
        until ($stop) {
            my $s = IO::Socket::INET->new(Proto => 'tcp',
                PeerAddr => '127.0.0.1:' . port(8080));
            unless ($s) {
                $c{$! == ECONNREFUSED ? 'refused' : 'failed'}++;
                next;
            }
            $c{requests}++;
            local $SIG{PIPE} = 'IGNORE';
            $s->syswrite("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n");
            my ($r, $err) = read_response($s);
            if (!defined $r || $err) {
                $c{failed}++;
            } elsif ($r !~ m!^HTTP/1\.[01] 200 !) {
                $c{non200}++;
            }
            close $s;
        }
        open my $fh, '>', $file;
        print $fh join("\n", map { "$_=$c{$_}" } sort keys %c), "\n";
        close $fh;
        POSIX::_exit(0);
    }
    $t->add_daemon($pid);
    return $pid;
}

sub stop_prober {
    my ($pid) = @_;
    kill 'TERM', $pid;
    waitpid($pid, 0);
    my %c = (requests => 0, refused => -1, failed => -1, non200 => -1);
    for (split /\n/, $t->read_file('prober.out') // '') {
        $c{$1} = $2 if /^(\w+)=(\d+)$/;
    }
    return %c;
}

###############################################################################
