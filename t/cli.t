#!/usr/bin/perl

# Tests for the command line: -h -? -v -V -t -T -q -p -c -g -e -s and
# usage errors.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->plan(79);
my $d = $t->testdir();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    include extra/inc.conf;

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location / {
            return 200 "ok";
        }
    }
}

EOF

$t->write_file('extra/inc.conf', <<'EOF');
# INCLUDED-FILE-MARKER
default_type text/plain;
EOF

$t->write_file('bad.conf', <<'EOF');
events {
}
bogus_directive on;
EOF

###############################################################################

my ($rc, $out, $err);

# help and version

for my $flag ('-h', '-?') {
    ($rc, $out, $err) = $t->run_divehttpd_cmd($flag);
    is($rc, 0, "$flag exit status");
    like($out . $err, qr/usage/i, "$flag prints usage");
    like($out . $err, qr/-s\b.*(stop|signal)/s, "$flag mentions -s");
}

($rc, $out, $err) = $t->run_divehttpd_cmd('-v');
is($rc, 0, '-v exit status');
like($out . $err, qr!^divehttpd version: divehttpd/0\.1\.0$!m, '-v version');
unlike($out . $err, qr/configure arguments:/, '-v is short');

($rc, $out, $err) = $t->run_divehttpd_cmd('-V');
is($rc, 0, '-V exit status');
like($out . $err, qr!^divehttpd version: divehttpd/0\.1\.0$!m, '-V version');
like($out . $err, qr/^configure arguments:/m, '-V configure arguments');
like($out . $err, qr/modules:.*http/mi, '-V modules');

# -t

($rc, $out, $err) = $t->cmd('-t');
is($rc, 0, '-t ok exit status');
like($out . $err,
    qr/the configuration file \Q$d\E\/divehttpd\.conf syntax is ok/,
    '-t syntax is ok');
like($out . $err,
    qr/configuration file \Q$d\E\/divehttpd\.conf test is successful/,
    '-t test is successful');

($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c', 'bad.conf',
    '-e', "$d/cmd-error.log", '-t');
is($rc, 1, '-t failed exit status');
like($err, qr/\[emerg\] unknown directive "bogus_directive" in \Q$d\E\/bad\.conf:3$/m,
    '-t error with file:line');
like($err, qr/configuration file \Q$d\E\/bad\.conf test failed/,
    '-t test failed');

# -T

($rc, $out, $err) = $t->cmd('-T');
is($rc, 0, '-T exit status');
like($out, qr/configuration file \Q$d\E\/divehttpd\.conf/, '-T names the conf');
like($out, qr/include extra\/inc\.conf;/, '-T dumps the main file');
like($out, qr/configuration file \Q$d\E\/extra\/inc\.conf/,
    '-T names the included file');
like($out, qr/INCLUDED-FILE-MARKER/, '-T dumps the included file');
like($out . $err, qr/test is successful/, '-T also tests');

# -q

($rc, $out, $err) = $t->cmd('-q', '-t');
is($rc, 0, '-q -t exit status');
unlike($out . $err, qr/syntax is ok|successful/, '-q -t is quiet');

($rc, $out, $err) = $t->run_divehttpd_cmd('-q', '-p', "$d/", '-c',
    'bad.conf', '-e', "$d/cmd-error.log", '-t');
is($rc, 1, '-q -t failed exit status');
like($err, qr/unknown directive "bogus_directive"/, '-q -t still prints errors');

# -p: the default conf path is relative to the prefix

$t->write_file('pfx/conf/divehttpd.conf', "events {\n}\n");
mkdir "$d/pfx/logs";

($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/pfx/", '-e',
    "$d/pfx/logs/error.log", '-t');
is($rc, 0, '-p exit status');
like($out . $err, qr/\Q$d\E\/pfx\/conf\/divehttpd\.conf syntax is ok/,
    '-p prefix gives conf path');

# -c absolute, elsewhere

$t->write_file('other/x.conf', "events {\n}\n");
($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c',
    "$d/other/x.conf", '-e', "$d/cmd-error.log", '-t');
is($rc, 0, '-c exit status');
like($out . $err, qr/\Q$d\E\/other\/x\.conf syntax is ok/, '-c file used');

$t->write_file('other/y.conf', "events {\n}\nworker_processes 1 2 3;\n");
($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c',
    "$d/other/y.conf", '-e', "$d/cmd-error.log", '-t');
is($rc, 1, '-c bad file exit status');
like($err, qr/in \Q$d\E\/other\/y\.conf:3$/m, '-c bad file line');

($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c',
    "$d/nonexistent.conf", '-e', "$d/cmd-error.log", '-t');
is($rc, 1, '-c missing file exit status');
like($err, qr/nonexistent\.conf/, '-c missing file named');

# -e

($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c', 'bad.conf',
    '-e', "$d/custom-e.log", '-t');
is($rc, 1, '-e file exit status');
like($t->read_file('custom-e.log') // '', qr/unknown directive "bogus_directive"/,
    '-e file gets the startup error');

($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c', 'bad.conf',
    '-e', 'stderr', '-t');
is($rc, 1, '-e stderr exit status');
like($err, qr/unknown directive "bogus_directive"/, '-e stderr');
# nothing has run yet, so a file named "stderr" would come from -e
ok(!-e "$d/stderr", '-e stderr creates no file named stderr');

# -g

($rc, $out, $err) = $t->cmd('-g', 'bogus_global 1;', '-t');
is($rc, 1, 'bad -g exit status');
like($err, qr/bogus_global.*command line/, 'bad -g mentions command line');

($rc, $out, $err) = $t->cmd('-g', 'worker_processes 2;', '-t');
is($rc, 0, '-g -t exit status');

$t->run(args => [ '-g', 'worker_processes 2;' ]);
ok(Test::Divehttpd::wait_until(sub { $t->worker_pids() == 2 }, 15),
    '-g worker_processes 2 starts 2 workers');
is(http_content(http_get('/')), 'ok', 'server serves');

# -s against a running server

my @old = $t->worker_pids();
($rc, $out, $err) = $t->cmd('-s', 'reload');
is($rc, 0, '-s reload exit status');
ok($t->wait_reloaded(\@old), '-s reload replaces the workers');
is(http_content(http_get('/')), 'ok', 'serves after -s reload');

rename "$d/error.log", "$d/error.log.moved";
($rc, $out, $err) = $t->cmd('-s', 'reopen');
is($rc, 0, '-s reopen exit status');
ok($t->waitforfile("$d/error.log", 15), '-s reopen recreates error.log');

my $master = $t->master_pid();
($rc, $out, $err) = $t->cmd('-s', 'quit');
is($rc, 0, '-s quit exit status');
ok($t->wait_exit(30), '-s quit stops the server');
ok(!$t->alive($master), 'master gone after -s quit');
ok(!-e $t->pid_file(), 'pid file removed after -s quit');

$t->run();
$master = $t->master_pid();
($rc, $out, $err) = $t->cmd('-s', 'stop');
is($rc, 0, '-s stop exit status');
ok($t->wait_exit(30), '-s stop stops the server');
ok(!$t->alive($master), 'master gone after -s stop');
ok(!-e $t->pid_file(), 'pid file removed after -s stop');

# -s with no server

for my $sig (qw/reload quit/) {
    ($rc, $out, $err) = $t->cmd('-s', $sig);
    is($rc, 1, "-s $sig without server exit status");
    like($err, qr/divehttpd\.pid/, "-s $sig without server names the pid file");
}

# usage errors

($rc, $out, $err) = $t->run_divehttpd_cmd('-Z');
is($rc, 1, 'invalid flag exit status');
like($err, qr/invalid option|unknown option|usage/i, 'invalid flag message');

($rc, $out, $err) = $t->run_divehttpd_cmd('-s', 'bogus');
is($rc, 1, 'invalid signal exit status');
like($err, qr/bogus/, 'invalid signal message');

for my $flag (qw/-c -p -g -e -s/) {
    ($rc, $out, $err) = $t->run_divehttpd_cmd($flag);
    is($rc, 1, "$flag without argument exit status");
    like($err, qr/\Q$flag\E|"\Q${\ substr($flag, 1)}\E"|requires|argument/i,
        "$flag without argument message");
}

($rc, $out, $err) = $t->run_divehttpd_cmd('stray');
is($rc, 1, 'stray argument exit status');

###############################################################################
