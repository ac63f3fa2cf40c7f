#!/usr/bin/perl

# Tests for status_report: the JSON object written when the server is up
# (file, atomic replace; the real port of "listen 127.0.0.1:0"), when the
# listen address is taken (BIND_FAILED) and when the configuration is bad
# (CONF_INVALID), and the fd form (one line ending in CRLF on a pipe).

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use Fcntl qw/F_GETFD F_SETFD FD_CLOEXEC/;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw/WNOHANG/;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(19)
    ->expect_emerg(qr/bind\(\)|unknown directive/);
my $d = $t->testdir();

my $ts = qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/;

# success, port 0

write_conf('status_report file status.json;', 'listen 127.0.0.1:0;');
$t->run();

ok(wait_until(sub { -s "$d/status.json" }, 10), 'report written');
my $raw = $t->read_file('status.json');
unlike($raw, qr/\n\z/, 'file: no trailing newline');
my $r = eval { decode_json($raw) } || {};
is($r->{status}{state}, 'UP', 'state UP');
ok(exists $r->{status}{error_code} && !defined $r->{status}{error_code},
    'error_code null');
is($r->{server}{listen}{ip}, '127.0.0.1', 'listen ip');
like($r->{timestamp} // '', $ts, 'timestamp format');

my $port = $r->{server}{listen}{port} // 0;
ok($port > 0, 'real port reported');
my $s = IO::Socket::INET->new("127.0.0.1:$port");
ok($s, 'reported port accepts');
undef $s;

$t->stop();

# bind failure

my $busy = IO::Socket::INET->new(LocalAddr => '127.0.0.1', Listen => 1,
    ReuseAddr => 1) or die "listen: $!";
my $bport = $busy->sockport();

write_conf('status_report file fail.json;', "listen 127.0.0.1:$bport;");
my ($rc) = run_cmd();
isnt($rc, 0, 'bind failure: exit status not 0');
$r = eval { decode_json($t->read_file('fail.json') // '') } || {};
is($r->{status}{state}, 'FAILED', 'bind failure: FAILED');
is($r->{status}{error_code}, 'BIND_FAILED', 'bind failure: code');
like($r->{status}{last_error} // '', qr/bind\(\)/, 'bind failure: message');
ok(exists $r->{server}{listen}{port} && !defined $r->{server}{listen}{port},
    'bind failure: port null');
undef $busy;

# configuration failure

write_conf("status_report file conf.json;\nunknown_directive_xyz;",
    'listen 127.0.0.1:0;');
($rc) = run_cmd();
isnt($rc, 0, 'bad conf: exit status not 0');
$r = eval { decode_json($t->read_file('conf.json') // '') } || {};
is($r->{status}{error_code}, 'CONF_INVALID', 'bad conf: code');
like($r->{status}{last_error} // '', qr/unknown directive/,
    'bad conf: message');

# fd: a pipe inherited by the server

pipe(my $rd, my $wr) or die "pipe: $!";
fcntl($wr, F_SETFD, fcntl($wr, F_GETFD, 0) & ~FD_CLOEXEC);
my $fd = fileno($wr);

write_conf("status_report fd $fd;", 'listen 127.0.0.1:0;');
$t->run();
close $wr;

my $line = '';
my $sel = IO::Select->new($rd);
while ($line !~ /\n/ && $sel->can_read(10)) {
    sysread($rd, $line, 4096, length $line) or last;
}
like($line, qr/\A\{.*\}\r\n\z/, 'fd: one line with CRLF');
$r = eval { decode_json($line) } || {};
is($r->{status}{state}, 'UP', 'fd: state UP');
ok(($r->{server}{listen}{port} // 0) > 0, 'fd: port');

$t->stop();

###############################################################################

sub write_conf {
    my ($main, $listen) = @_;

    $t->write_file_expand('divehttpd.conf', <<"EOF");

%%TEST_GLOBALS%%

daemon off;
$main

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        $listen
        server_name  localhost;

        location / { return 200 "ok\\n"; }
    }
}

EOF
}

# The server run in the foreground until it gives up; returns its status.
sub run_cmd {
    my $pid = fork();
    die "fork: $!" unless defined $pid;

    if ($pid == 0) {
        open STDERR, '>', "$d/cmd.err";
        open STDOUT, '>', '/dev/null';
        exec($t->binary(), '-p', "$d/", '-c', 'divehttpd.conf',
            '-e', "$d/error.log");
        exit 127;
    }

    my $status;
    wait_until(sub { waitpid($pid, WNOHANG) == $pid and $status = $?;
        defined $status }, 30);
    unless (defined $status) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
        return (-1);
    }
    return ($status >> 8);
}

###############################################################################
