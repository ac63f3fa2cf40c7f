#!/usr/bin/perl
#
# idle_conns.pl HOST PORT COUNT [PATH]
#
# Opens COUNT keep-alive connections to HOST:PORT, sends one
# "GET PATH HTTP/1.1" on each, reads the whole response, and leaves the
# connection open and idle.  Then prints one line,
#
#     ready OPEN FAILED NON200
#
# and waits until its standard input is closed (or a line is written to it)
# before closing everything.  bench/run.sh measures the server's memory
# while the connections sit idle.

use strict;
use warnings;

use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);

my ($host, $port, $count, $path) = @ARGV;

die "usage: $0 HOST PORT COUNT [PATH]\n" unless defined $count;
$path = '/r' unless defined $path;

my $request = "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";

$| = 1;

my (@socks, $failed, $non200);

$failed = 0;
$non200 = 0;

# Returns the status code, or undef when the connection broke.
sub read_response {
    my ($s) = @_;
    my ($buf, $n, $len, $status);

    $buf = '';

    while ($buf !~ /\r\n\r\n/) {
        $n = sysread($s, $buf, 4096, length $buf);
        return undef unless $n;
    }

    ($status) = $buf =~ m{^HTTP/1\.[01] (\d{3})};
    ($len) = $buf =~ /^Content-Length:\s*(\d+)\r$/mi;
    $len = 0 unless defined $len;

    my $body = length($buf) - (index($buf, "\r\n\r\n") + 4);

    while ($body < $len) {
        $n = sysread($s, $buf, $len - $body, length $buf);
        return undef unless $n;
        $body += $n;
    }

    return $status;
}

for (1 .. $count) {
    my $s = IO::Socket::INET->new(
        PeerAddr => $host,
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => 5,
    );

    unless ($s) {
        # out of descriptors or ports: report what we have
        $failed = $count - @socks;
        last;
    }

    setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);

    unless (syswrite($s, $request) == length $request) {
        $failed++;
        next;
    }

    my $status = read_response($s);

    unless (defined $status) {
        $failed++;
        next;
    }

    $non200++ if $status ne '200';

    push @socks, $s;
}

print "ready ", scalar(@socks), " $failed $non200\n";

my $line = <STDIN>;

close $_ for @socks;

exit 0;
