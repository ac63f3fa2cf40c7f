#!/usr/bin/perl

# Tests for the configuration parser: every error class with its file and
# line and exit status 1, include globs, units, quoting, escapes and
# comments.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

# Each error case: a main conf, optional extra files (relative to the
# conf's directory), the file and line the error must name, and regexes
# that must all match that [emerg] line.

my @errors = (
    {
        name => 'unknown directive',
        conf => "events {\n}\nfoo_bar_baz on;\n",
        line => 3,
        re => [ qr/unknown directive "foo_bar_baz"/ ],
    },
    {
        name => 'unknown directive in location',
        conf => "events {\n}\nhttp {\n    server {\n        location / {\n"
            . "            bogus_in_location 1;\n        }\n    }\n}\n",
        line => 6,
        re => [ qr/unknown directive "bogus_in_location"/ ],
    },
    {
        name => 'listen in main',
        conf => "events {\n}\nlisten 127.0.0.1:8080;\n",
        line => 3,
        re => [ qr/"listen" directive is not allowed here/ ],
    },
    {
        name => 'worker_processes in http',
        conf => "events {\n}\nhttp {\n    worker_processes 2;\n}\n",
        line => 4,
        re => [ qr/"worker_processes" directive is not allowed here/ ],
    },
    {
        name => 'location in http',
        conf => "events {\n}\nhttp {\n    location / {\n    }\n}\n",
        line => 4,
        re => [ qr/"location" directive is not allowed here/ ],
    },
    {
        name => 'too many arguments',
        conf => "events {\n}\nworker_processes 1 2;\n",
        line => 3,
        re => [ qr/invalid number of arguments in "worker_processes"/ ],
    },
    {
        name => 'too few arguments',
        conf => "events {\n}\n\ndaemon;\n",
        line => 4,
        re => [ qr/invalid number of arguments in "daemon"/ ],
    },
    {
        name => 'duplicate in main',
        conf => "events {\n}\nworker_processes 1;\nworker_processes 2;\n",
        line => 4,
        re => [ qr/"worker_processes" directive is duplicate/ ],
    },
    {
        name => 'duplicate root in location',
        conf => "events {\n}\nhttp {\n    server {\n        location / {\n"
            . "            root /a;\n            root /b;\n        }\n"
            . "    }\n}\n",
        line => 7,
        re => [ qr/"root" directive is duplicate/ ],
    },
    {
        name => 'bad size',
        conf => "events {\n}\nhttp {\n    client_header_buffer_size 12x;\n}\n",
        line => 4,
        re => [ qr/invalid/, qr/client_header_buffer_size|12x/ ],
    },
    {
        name => 'bad time',
        conf => "events {\n}\nhttp {\n    keepalive_timeout 10x;\n}\n",
        line => 4,
        re => [ qr/invalid/, qr/keepalive_timeout|10x/ ],
    },
    {
        name => 'bad flag',
        conf => "events {\n}\ndaemon maybe;\n",
        line => 3,
        re => [ qr/invalid/, qr/"daemon"|"maybe"/ ],
    },
    {
        name => 'bad number',
        conf => "events {\n    worker_connections lots;\n}\n",
        line => 2,
        re => [ qr/invalid/, qr/worker_connections|"lots"/ ],
    },
    {
        name => 'bad worker_processes',
        conf => "events {\n}\nworker_processes many;\n",
        line => 3,
        re => [ qr/invalid/, qr/worker_processes|"many"/ ],
    },
    {
        name => 'bad log level',
        conf => "events {\n}\nerror_log %%TESTDIR%%/x.log loud;\n",
        line => 3,
        re => [ qr/invalid/, qr/loud/ ],
    },
    {
        name => 'bad listen port',
        conf => "events {\n}\nhttp {\n    server {\n"
            . "        listen 127.0.0.1:99999;\n    }\n}\n",
        line => 5,
        re => [ qr/invalid/, qr/listen|99999/ ],
    },
    {
        name => 'missing ; before }',
        conf => "events {\n    worker_connections 512\n}\n",
        line => 3,
        re => [ qr/unexpected "}"|not terminated|";"/ ],
    },
    {
        name => 'missing ; before next directive',
        conf => "events {\n}\nworker_processes 1\ndaemon off;\n",
        line => qr/[34]/,
        re => [ qr/worker_processes|not terminated|";"/ ],
    },
    {
        name => 'unexpected }',
        conf => "events {\n}\n}\n",
        line => 3,
        re => [ qr/unexpected "}"/ ],
    },
    {
        name => 'unexpected end of file in block',
        conf => "events {\n}\nhttp {\n    server {\n",
        line => qr/[45]/,
        re => [ qr/unexpected end of file/, qr/"}"/ ],
    },
    {
        name => 'unexpected end of file in directive',
        conf => "events {\n}\nworker_processes 1",
        line => 3,
        re => [ qr/unexpected end of file/ ],
    },
    {
        name => 'unterminated quote',
        conf => "events {\n}\nhttp {\n    default_type \"text/plain;\n}\n",
        line => qr/[4-6]/,
        re => [ qr/unexpected end of file|quote|unterminated/ ],
    },
    {
        name => 'error in included file',
        conf => "events {\n}\ninclude inc/x.conf;\n",
        files => { 'inc/x.conf' => "\nbogus_included 1;\n" },
        file => 'inc/x.conf',
        line => 2,
        re => [ qr/unknown directive "bogus_included"/ ],
    },
    {
        # sorted glob: a.conf is read first, so b.conf holds the duplicate
        name => 'include glob is sorted and relative to the conf dir',
        conf => "events {\n}\ninclude conf.d/*.conf;\n",
        files => {
            'conf.d/b.conf' => "worker_processes 2;\n",
            'conf.d/a.conf' => "\nworker_processes 1;\n",
        },
        file => 'conf.d/b.conf',
        line => 1,
        re => [ qr/"worker_processes" directive is duplicate/ ],
    },
    {
        name => 'include of a missing file',
        conf => "events {\n}\ninclude nothere.conf;\n",
        line => 3,
        re => [ qr/nothere\.conf/ ],
        dir_in_message => 'nothere.conf',
    },
);

# Accepted units: each is a separate -t run so a failure names the unit.
my @units = (
    [ main => 'worker_shutdown_timeout 10s;' ],
    [ main => 'worker_shutdown_timeout 500ms;' ],
    [ main => 'worker_shutdown_timeout 1h;' ],
    [ http => 'client_header_buffer_size 64k;' ],
    [ http => 'client_header_buffer_size 1m;' ],
    [ http => 'client_header_buffer_size 1024;' ],
    [ http => 'large_client_header_buffers 4 16k;' ],
    [ http => 'keepalive_timeout 10s;' ],
    [ http => 'keepalive_timeout 1h;' ],
    [ http => 'keepalive_timeout 1d;' ],
    [ http => 'keepalive_timeout 30;' ],
    [ http => 'send_timeout 500ms;' ],
    [ http => 'client_header_timeout 2m;' ],
    [ http => 'keepalive_shutdown_grace 3s;' ],
    [ http => 'retry_after 1m;' ],
);

my $t = Test::Divehttpd->new()->has(qw/http/)->plan(3 * @errors + @units + 10);
my $d = $t->testdir();

###############################################################################

my $n = 0;
for my $case (@errors) {
    $n++;
    my $dir = "$d/case$n";
    $t->write_file("case$n/main.conf", $t->expand($case->{conf}));
    for my $f (sort keys %{$case->{files} || {}}) {
        $t->write_file("case$n/$f", $case->{files}{$f});
    }

    my ($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c',
        "$dir/main.conf", '-e', "$d/cmd-error.log", '-t');

    is($rc, 1, "$case->{name}: exit status 1");

    # a missing include must be named by its full path
    my @re = @{$case->{re}};
    push @re, qr/\Q$dir\/$case->{dir_in_message}\E/
        if $case->{dir_in_message};

    my @lines = grep { /\[emerg\]/ } split /\n/, $err;
    my ($line) = grep { my $l = $_; !grep { $l !~ $_ } @re } @lines;
    ok(defined $line, "$case->{name}: message")
        or diag("stderr: $err");

    my $file = "$dir/" . ($case->{file} || 'main.conf');
    my $lre = ref $case->{line} ? $case->{line} : qr/\Q$case->{line}\E/;
    ok(defined $line && $line =~ /(?:^|\s)in \Q$file\E:$lre$/,
        "$case->{name}: in file:line")
        or diag("want in $file:$case->{line}, got: "
            . ($line // join("\n", @lines)));
}

for my $u (@units) {
    my ($ctx, $directive) = @$u;
    my $conf = $ctx eq 'main'
        ? "$directive\nevents {\n}\n"
        : "events {\n}\nhttp {\n    $directive\n}\n";
    $n++;
    $t->write_file("case$n/main.conf", $conf);
    my ($rc, $out, $err) = $t->run_divehttpd_cmd('-p', "$d/", '-c',
        "$d/case$n/main.conf", '-e', "$d/cmd-error.log", '-t');
    is($rc, 0, "unit accepted: $directive") or diag("stderr: $err");
}

# quoting, escapes, comments and include globs in a running server

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;     # a trailing comment

events {
    # a comment with { braces } and ; semicolons
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen       127.0.0.1:8080;
        server_name  localhost;

        location /dq {
            return 200 "a \"quoted\" string";
        }

        location /sq {
            return 200 'single \'quoted\'';
        }

        location /bs {
            return 200 "back\\slash";
        }

        location /esc {
            return 200 "tab\there\nnext";
        }

        location /hash {
            return 200 "not # a comment";
        }

        location /comment {    # { not a block
            return 200 "after comment";   # } not the end
        }

        location "/quoted" {
            return 200 "quoted uri";
        }

        include conf.d/*.conf;
    }
}

EOF

$t->write_file('conf.d/20-second.conf', <<'EOF');
location /second {
    return 200 "second";
}
EOF

$t->write_file('conf.d/10-first.conf', <<'EOF');
location /first {
    return 200 "first";
}
EOF

$t->write_file('conf.d/skip.txt', "this is not included;\n");

$t->run();

is(http_content(http_get('/dq')), 'a "quoted" string', 'escaped double quote');
is(http_content(http_get('/sq')), "single 'quoted'", 'escaped single quote');
is(http_content(http_get('/bs')), 'back\\slash', 'escaped backslash');
is(http_content(http_get('/esc')), "tab\there\nnext", 'tab and newline escapes');
is(http_content(http_get('/hash')), 'not # a comment', 'hash inside quotes');
is(http_content(http_get('/comment')), 'after comment', 'comments ignored');
is(http_content(http_get('/quoted')), 'quoted uri', 'quoted location');
is(http_content(http_get('/first')), 'first', 'include glob first file');
is(http_content(http_get('/second')), 'second', 'include glob second file');
like(http_get('/nothing'), qr!^HTTP/1\.[01] 404 !, 'no other location');

###############################################################################
