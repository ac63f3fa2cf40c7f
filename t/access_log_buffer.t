#!/usr/bin/perl

# Tests for access_log buffer=, flush= and if=: lines kept in the worker
# until the buffer fills, the flush timer fires, the logs are reopened
# (USR1, to the old file) or the worker exits gracefully; whole lines
# only; one buffer per file; if= skipping empty and "0" values; and the
# configuration errors.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

my $t = Test::Divehttpd->new()->has(qw/http http_log/)->plan(18);
my $d = $t->testdir();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    log_format  short  '$request_uri $status';
    log_format  other  'other $request_uri';

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /held {
            access_log  logs/held.log short buffer=64k;
            return 200 "held";
        }

        location /held2 {
            access_log  logs/held.log other buffer=64k;
            return 200 "held2";
        }

        location /timed {
            access_log  logs/timed.log short flush=1s;
            return 200 "timed";
        }

        location /small {
            access_log  logs/small.log short buffer=1k;
            return 200 "small";
        }

        location /cond {
            access_log  logs/cond.log short if=$arg_log;
            return 200 "cond";
        }
    }
}

EOF

$t->run();

###############################################################################

sub log_text { $t->read_file("logs/$_[0]") // '' }

# buffer= alone: nothing reaches the file until something empties it

http_get('/held?one');
http_get('/held2?two');
is(http_content(http_get('/held?three')), 'held', 'buffered request answered');
is(log_text('held.log'), '', 'buffer: no line written yet');

# flush=: the timer writes the line

http_get('/timed?t1');
ok(wait_until(sub { log_text('timed.log') =~ /t1 200/ }, 10),
    'flush=1s: the line appears');

# a full buffer is written out, in whole lines, before the next line

my $uri = '/small?' . ('x' x 100);
http_get("$uri$_") for 1 .. 20;
my $small = log_text('small.log');
ok(length $small > 0, 'full buffer written');
unlike($small, qr/[^\n]\z/, 'full buffer: whole lines only');
my @lines = split /\n/, $small;
is_deeply([ grep { !/^\/small\?x{100}\d+ 200$/ } @lines ], [],
    'full buffer: lines intact');
ok(@lines < 20, 'full buffer: the last lines are still held');

# if=

http_get('/cond?log=1&n=a');
http_get('/cond?log=0&n=b');
http_get('/cond?n=c');
http_get('/cond?log=yes&n=d');
my $cond;
wait_until(sub { ($cond = log_text('cond.log')) =~ /n=d/ }, 10);
like($cond, qr/n=a 200/, 'if=: logged for "1"');
unlike($cond, qr/n=b/, 'if=: skipped for "0"');
unlike($cond, qr/n=c/, 'if=: skipped when empty');
like($cond, qr/n=d 200/, 'if=: logged for "yes"');

# USR1: what was held goes to the old file before the reopen

rename("$d/logs/held.log", "$d/logs/held.log.old");
$t->signal('USR1');
ok(wait_until(sub { log_text('held.log.old') =~ /three/ }, 10),
    'USR1: the worker wrote what it held');
is(log_text('held.log.old'), "/held?one 200\nother /held2?two\n"
    . "/held?three 200\n", 'USR1: held lines went to the old file, in order');

# graceful stop writes the rest

http_get('/held?four');
http_get("$uri-last");
$t->stop();

is(log_text('held.log'), "/held?four 200\n", 'graceful stop: held line written');
like(log_text('small.log'), qr/x{100}-last 200\n\z/,
    'graceful stop: the rest of a full-size buffer');

# configuration errors name the file and line

sub conf_error {
    my ($name, @lines) = @_;
    $t->write_file("$name.conf", "events {\n}\nhttp {\n"
        . join('', map { "    $_\n" } @lines) . "}\n");
    my ($rc, $out, $err) = $t->cmd('-t', '-c', "$d/$name.conf");
    return $err;
}

like(conf_error('badopt', 'access_log logs/x.log combined bogus=1;'),
    qr/invalid parameter "bogus=1" in \S*badopt\.conf:4$/m,
    'unknown parameter');
like(conf_error('badsize', 'access_log logs/x.log combined buffer=0;'),
    qr/has an invalid buffer size in \S*badsize\.conf:4$/m,
    'invalid buffer size');
like(conf_error('twosizes', 'access_log logs/x.log combined buffer=4k;',
    'access_log logs/x.log combined buffer=8k;'),
    qr/already defined with another buffer size .*twosizes\.conf:5$/m,
    'two buffer sizes for one file');

###############################################################################
