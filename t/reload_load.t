#!/usr/bin/perl

# Zero resets across 20 reloads: keep-alive clients run sequential
# requests while the server is reloaded 20 times; no connection may be
# refused and no request may go unanswered.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use Errno qw/ECONNREFUSED/;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw/sleep/;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $CLIENTS = 4;
my $RELOADS = 20;

my $t = Test::Divehttpd->new()->has(qw/http/)->log_level('notice')->plan(9);
my $d = $t->testdir();

write_conf('A');
$t->run();

###############################################################################

my @clients = map { start_client($_) } 1 .. $CLIENTS;

# let every client get going before the first reload
Test::Divehttpd::wait_until(sub {
    $CLIENTS == grep { -e "$d/client$_.started" } 1 .. $CLIENTS
}, 15);

my $reloaded = 0;
for my $i (1 .. $RELOADS) {
    write_conf($i % 2 ? 'B' : 'A');
    if ($t->reload(timeout => 30)) {
        $reloaded++;
    } else {
        diag("reload $i did not complete");
    }
}

my %sum;
for my $pid (@clients) {
    kill 'TERM', $pid;
}
for my $i (1 .. $CLIENTS) {
    waitpid($clients[$i - 1], 0);
    my %c = read_counts("$d/client$i.out");
    for my $k (keys %c) {
        if ($k eq 'errors') {
            $sum{errors} .= $c{errors};
        } else {
            $sum{$k} += $c{$k};
        }
    }
}
$sum{$_} //= 0 for qw/requests ok non200 refused connect_errors
    midrequest write_failed reconnects body_A body_B reports/;

diag(sprintf("%d clients, %d/%d reloads: %d requests, %d ok, %d non-200,"
    . " %d refused, %d other connect errors, %d unanswered requests"
    . " (%d of them failed writes), %d reconnects after Connection: close,"
    . " bodies A %d / B %d",
    $CLIENTS, $reloaded, $RELOADS, @sum{qw/requests ok non200 refused
    connect_errors midrequest write_failed reconnects body_A body_B/}));
diag("unanswered request errors: $sum{errors}") if $sum{errors};

is($reloaded, $RELOADS, 'all reloads completed');
is($sum{reports}, $CLIENTS, 'all clients reported');
ok($sum{requests} > $RELOADS, 'clients made requests');
is($sum{refused}, 0, 'no connection refused');
is($sum{connect_errors}, 0, 'no other connect errors');
is($sum{midrequest}, 0, 'no request without a complete response');
is($sum{non200}, 0, 'all responses 200');
is($sum{ok}, $sum{requests}, 'every request answered 200');
ok($sum{body_A} && $sum{body_B}, 'reloads took effect under load');

###############################################################################

sub write_conf {
    my ($text) = @_;
    $t->write_file_expand('divehttpd.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    keepalive_requests 100;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location / {
            return 200 "$text";
        }
    }
}

EOF
}

# A client: sequential keep-alive requests on one connection; it
# reconnects only when the server says "Connection: close" (or after a
# failure, which is counted).  TERM makes it finish the current request
# and write its counts.
sub start_client {
    my ($n) = @_;
    my $pid = fork();
    die "fork: $!" unless defined $pid;
    if ($pid) {
        $t->add_daemon($pid);
        return $pid;
    }

    my $stop = 0;
    $SIG{TERM} = sub { $stop = 1 };
    $SIG{PIPE} = 'IGNORE';

    my %c = map { $_ => 0 } qw/requests ok non200 refused connect_errors
        midrequest write_failed reconnects body_A body_B/;
    my %errors;
    my $req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $s;

    open my $fh, '>', "$d/client$n.started";
    close $fh;

    until ($stop) {
        unless ($s) {
            $s = IO::Socket::INET->new(Proto => 'tcp',
                PeerAddr => '127.0.0.1:' . port(8080));
            unless ($s) {
                $c{$! == ECONNREFUSED ? 'refused' : 'connect_errors'}++;
                $errors{"connect: $!"}++;
                sleep 0.01;
                next;
            }
        }

        $c{requests}++;
        unless (defined $s->syswrite($req)) {
            $c{midrequest}++;
            $c{write_failed}++;
            $errors{"write: $!"}++;
            close $s;
            undef $s;
            next;
        }

        my ($r, $err) = read_response($s, timeout => 15);
        if (!defined $r || $err) {
            $c{midrequest}++;
            $errors{$err // 'none'}++;
            close $s;
            undef $s;
            next;
        }

        if ($r =~ m!^HTTP/1\.1 200 !) {
            $c{ok}++;
            my $body = http_content($r) // '';
            $c{"body_$body"}++ if $body =~ /^[AB]$/;
        } else {
            $c{non200}++;
        }

        if ($r =~ /^Connection: close\r$/mi) {
            $c{reconnects}++;
            close $s;
            undef $s;
        }
    }

    open $fh, '>', "$d/client$n.out";
    print $fh "$_=$c{$_}\n" for sort keys %c;
    print $fh "reports=1\n";
    print $fh "error=$_ x$errors{$_}\n" for sort keys %errors;
    close $fh;
    POSIX::_exit(0);
}

sub read_counts {
    my ($file) = @_;
    my %c;
    open my $fh, '<', $file or return ();
    while (<$fh>) {
        chomp;
        if (/^(\w+)=(\d+)$/) {
            $c{$1} = $2;
        } elsif (/^error=(.*)$/) {
            $c{errors} .= "$1; ";
        }
    }
    close $fh;
    return %c;
}

###############################################################################
