#!/usr/bin/perl

# Slowloris: 1,000 connections that send a request header slowly must not
# stop normal requests from being served, and client_header_timeout (a
# deadline for the whole header, not reset by each trickle) must close
# them.  The slow clients are two forked processes of 500 sockets each,
# so neither needs more than the usual 1,024 descriptors.  No timing
# asserts: normal requests only have to complete within generous limits.

use warnings;
use strict;

use Test::More;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw/time sleep/;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

# info: at debug level the slow clients would fill the log
my $t = Test::Divehttpd->new()->has(qw/http/)->log_level('info')->plan(6);

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 1;
worker_rlimit_nofile 8192;

events {
    worker_connections 4096;
}

http {
    %%TEST_GLOBALS_HTTP%%

    client_header_timeout 2s;

    server {
        listen       127.0.0.1:8080 backlog=2048;
        server_name  localhost;

        location / {
            return 200 "fast";
        }
    }
}

EOF

$t->run();

###############################################################################

my $PER_CHILD = 500;
my $port = port(8080);

my @kids = map { slow_client($_) } 1 .. 2;

# wait until both children hold all their connections open
my $opened = 0;
for my $k (@kids) {
    my $line = read_line($k->{fh}, 30);
    $opened += $1 if defined $line && $line =~ /^open (\d+)/;
}

is($opened, 2 * $PER_CHILD, 'slow connections opened');

# normal requests, on new connections and on a keep-alive one, while the
# slow ones hold the worker's attention
my $served = 0;
for (1 .. 5) {
    my $r = http_get('/', timeout => 10);
    $served++ if defined $r && $r =~ /^HTTP\/1\.[01] 200 .*fast$/s;
}
is($served, 5, 'normal requests served during the attack');

my $r = http("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
    . "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    timeout => 10);
my @ok = ($r // '') =~ m{HTTP/1\.1 200 }g;
is(scalar @ok, 2, 'keep-alive requests served during the attack');

# each child reports how many of its connections the server closed
my ($closed, $early) = (0, 0);
for my $k (@kids) {
    my $line = read_line($k->{fh}, 60);
    if (defined $line && $line =~ /^closed (\d+) early (\d+)/) {
        $closed += $1;
        $early += $2;
    }
    waitpid($k->{pid}, 0);
}

is($closed, 2 * $PER_CHILD, 'client_header_timeout closed every slow one');
is($early, 0, 'none closed before the timeout');

like(http_get('/'), qr/fast$/, 'served after the attack');

###############################################################################

# Forks a client holding $PER_CHILD slow connections.  It says "open N"
# when they are all open, then trickles a header line into each every
# 300 ms until the server closes them (or 20 s pass), then says
# "closed N early M" (M: closed sooner than 1.5 s after opening, i.e.
# before client_header_timeout could have fired).
sub slow_client {
    my ($n) = @_;

    pipe(my $rd, my $wr) or die "pipe: $!";
    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid) {
        close $wr;
        return { pid => $pid, fh => $rd };
    }

    close $rd;
    $wr->autoflush(1);
    $SIG{PIPE} = 'IGNORE';

    my (@socks, %opened_at);
    for (1 .. $PER_CHILD) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
            or last;
        $s->syswrite("GET /slow HTTP/1.1\r\nHost: localhost\r\n");
        $s->blocking(0);
        $opened_at{fileno $s} = time();
        push @socks, $s;
    }

    print $wr "open " . scalar(@socks) . "\n";

    my $sel = IO::Select->new(@socks);
    my ($closed, $early) = (0, 0);
    my $deadline = time() + 20;
    my $next_trickle = time() + 0.3;

    while ($sel->count && time() < $deadline) {
        for my $s ($sel->can_read(0.1)) {
            my $got = $s->sysread(my $buf, 4096);
            next if !defined $got && $!{EAGAIN};
            next if $got;

            # EOF or reset: the server closed it
            $closed++;
            $early++ if time() - $opened_at{fileno $s} < 1.5;
            $sel->remove($s);
            close $s;
        }

        if (time() >= $next_trickle) {
            $_->syswrite("X-Slow: 1\r\n") for $sel->handles;
            $next_trickle = time() + 0.3;
        }
    }

    print $wr "closed $closed early $early\n";
    POSIX::_exit(0);
}

sub read_line {
    my ($fh, $timeout) = @_;
    my $line;
    eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm($timeout);
        $line = <$fh>;
        alarm(0);
    };
    alarm(0);
    return $line;
}

###############################################################################
