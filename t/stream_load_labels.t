#!/usr/bin/perl

# Tests for Stream Load labels: a label in flight is "Label Already
# Exists" with ExistingJobStatus RUNNING, a finished one FINISHED; labels
# are per database; of concurrent loads with one label exactly one loads;
# a client that goes away mid-body frees its label; finished labels
# expire after stream_load_label_keep.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use IO::Socket::INET;
use JSON::PP;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'no curl') unless `curl --version 2>/dev/null` =~ /^curl/;

my $t = Test::Divehttpd->new()->has(qw/http http_stream_load http_table/)
    ->plan(19);
my $d = $t->testdir();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;
worker_processes 2;

storage %%TESTDIR%%/data;

table db1.t {
    column id int;
    column v string;
}

table db2.t {
    column id int;
    column v string;
}

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    stream_load_label_keep 3s;

    server {
        listen 127.0.0.1:8080 reuseport;
        server_name localhost;

        location /api/ {
            stream_load;
            client_max_body_size 100m;
        }

        location /tables/ {
            table_api;
        }
    }
}

EOF

$t->run();

my $port = port(8080);
my $json = JSON::PP->new;
my $base = "http://127.0.0.1:$port";

sub run_cmd {
    my (@cmd) = @_;
    open my $fh, '-|', @cmd or die "Can't run curl: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

sub data_file {
    my ($name, $content) = @_;
    $t->write_file($name, $content);
    return "$d/$name";
}

sub load {
    my ($file, $label, $db) = @_;
    my $raw = run_cmd('curl', '-sS', '--max-time', '30',
        '--location-trusted', '-u', 'root:', '-H', "label:$label",
        '-H', 'column_separator:,', '-T', $file,
        "$base/api/" . ($db // 'db1') . "/t/_stream_load");
    my $r = eval { $json->decode($raw) } || { raw => $raw };
    return $r;
}

sub count {
    my ($db) = @_;
    my $raw = run_cmd('curl', '-sS', "$base/tables/" . ($db // 'db1')
        . "/t/_count");
    return $raw =~ /"count"\s*:\s*(\d+)/ ? $1 : "?$raw";
}

# starts a load by hand and returns once it is begun: the 100 Continue
# comes after the label was taken
sub start_load {
    my ($label, $length) = @_;
    my $s = IO::Socket::INET->new("127.0.0.1:$port") or die $!;
    print $s "PUT /api/db1/t/_stream_load HTTP/1.1\r\nHost: localhost\r\n"
        . "Authorization: Basic cm9vdDo=\r\nlabel: $label\r\n"
        . "column_separator: ,\r\nExpect: 100-continue\r\nConnection: close\r\n"
        . "Content-Length: $length\r\n\r\n";
    my $line = <$s> // '';
    <$s>;
    return ($s, $line);
}

my $one = data_file('one.csv', "1,a\n");

###############################################################################
# in flight: RUNNING

my ($s, $line) = start_load('run1', 8);
like($line, qr/^HTTP\/1\.1 100 Continue/, 'running: 100 Continue after begin');
my $r = load($one, 'run1');
is($r->{Status}, 'Label Already Exists', 'running: refused');
is($r->{ExistingJobStatus}, 'RUNNING', 'running: ExistingJobStatus');
print $s "1,a\n2,b\n";
my $resp = do { local $/; <$s> } // '';
like($resp, qr/"Status": "Success"/, 'running: the first load succeeds');
close $s;
is(count(), 2, 'running: only the first load wrote');

$r = load($one, 'run1');
is($r->{ExistingJobStatus}, 'FINISHED', 'finished: FINISHED');

# per database
$r = load($one, 'run1', 'db2');
is($r->{Status}, 'Success', 'the same label in another db');
is(count('db2'), 1, 'the other db has the row');

###############################################################################
# concurrent loads with one label: exactly one loads

my $mid = data_file('mid.csv', join('', map { "$_,v$_\n" } 1 .. 20000));
my @kids;
for my $i (1 .. 4) {
    my $pid = fork() // die;
    if ($pid == 0) {
        my $raw = run_cmd('curl', '-sS', '--max-time', '60', '-u', 'root:',
            '-H', 'label:same', '-H', 'column_separator:,', '-T', $mid,
            "$base/api/db1/t/_stream_load");
        open my $fh, '>', "$d/same$i.json" or die;
        print $fh $raw;
        close $fh;
        exit 0;
    }
    push @kids, $pid;
}
waitpid($_, 0) for @kids;
my %status;
for my $i (1 .. 4) {
    my $raw = $t->read_file("same$i.json");
    $status{$1}++ if $raw =~ /"Status": "([^"]+)"/;
}
is($status{Success}, 1, 'same label: one Success');
is($status{'Label Already Exists'}, 3, 'same label: the others refused');
is(count(), 2 + 20000, 'same label: rows loaded once');

###############################################################################
# a client gone mid-body frees the label

($s, $line) = start_load('gone', 1000);
like($line, qr/^HTTP\/1\.1 100 Continue/, 'gone: begun');
print $s "5,x\n6,";
close $s;
my $ok = wait_until(sub { load($one, 'gone')->{Status} eq 'Success' }, 10);
ok($ok, 'gone: the label is free again');
is(count(), 2 + 20000 + 1, 'gone: nothing of the broken load');

###############################################################################
# expiry after stream_load_label_keep

$r = load($one, 'exp');
is($r->{Status}, 'Success', 'expiry: loaded');
is(load($one, 'exp')->{ExistingJobStatus}, 'FINISHED',
    'expiry: refused at once');
$ok = wait_until(sub { load($one, 'exp')->{Status} eq 'Success' }, 15);
ok($ok, 'expiry: the label is free after stream_load_label_keep');
is(count(), 2 + 20000 + 1 + 2, 'expiry: loaded twice');
is(load($one, 'exp')->{ExistingJobStatus}, 'FINISHED',
    'expiry: refused again');

###############################################################################
