#!/usr/bin/perl

# Tests for Stream Load data formats with curl as StarRocks users run it:
# CSV with every separator form (default tab, multi-byte, \x hex),
# row_delimiter, skip_header, trim_space, enclose/escape; compressed CSV
# (format gzip, bzip2, lz4, zstd, deflate, bodies made with the CLI tools
# and Compress::Zlib); JSON (newline-delimited objects, strip_outer_array,
# jsonpaths, json_root) plain and with compression / Content-Encoding;
# and a corrupt compressed body.

use warnings;
use strict;

use Test::More;

BEGIN { use FindBin; chdir($FindBin::Bin); }

use lib 'lib';
use Test::Divehttpd;

use Compress::Zlib qw/compress/;
use JSON::PP;

###############################################################################

select STDERR; $| = 1;
select STDOUT; $| = 1;

plan(skip_all => 'no curl') unless `curl --version 2>/dev/null` =~ /^curl/;
for my $tool (qw/gzip bzip2 lz4 zstd/) {
    plan(skip_all => "no $tool") unless `$tool --version 2>&1` =~ /\w/
        && $? == 0;
}

my $t = Test::Divehttpd->new()->has(qw/http http_stream_load http_table/)
    ->plan(44);
my $d = $t->testdir();

$t->write_file_expand('divehttpd.conf', <<'EOF');

%%TEST_GLOBALS%%

daemon off;

storage %%TESTDIR%%/data;

table db1.f {
    column id int;
    column name varchar(32);
    column v double null;
    key id;
}

events {
}

http {
    %%TEST_GLOBALS_HTTP%%

    server {
        listen 127.0.0.1:8080;
        server_name localhost;

        location /api/ {
            stream_load;
            client_max_body_size 10m;
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
my $n = 0;

sub run_cmd {
    my (@cmd) = @_;
    open my $fh, '-|', @cmd or die "Can't run $cmd[0]: $!";
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

# a fresh id range per load, so each load's rows are found by id
sub load {
    my ($file, $headers) = @_;
    my @cmd = ('curl', '-sS', '--max-time', '30', '--location-trusted',
        '-u', 'root:');
    push @cmd, '-H', "$_:$headers->{$_}" for sort keys %$headers;
    push @cmd, '-T', $file, "$base/api/db1/f/_stream_load";
    my $raw = run_cmd(@cmd);
    my $r = eval { $json->decode($raw) } || { raw => $raw };
    $r->{_raw} = $raw;
    return $r;
}

sub rows {
    my $csv = run_cmd('curl', '-sS', "$base/tables/db1/f/_scan?format=csv");
    return $csv;
}

sub compressed {
    my ($name, $content, @tool) = @_;
    my $plain = data_file($name, $content);
    system("@tool < '$plain' > '$plain.z'") == 0 or die "@tool: $?";
    return "$plain.z";
}

###############################################################################
# CSV

my $r = load(data_file('tab.csv', "1\tone\t1.5\n2\ttwo\t2.5\n"),
    { label => 'tab' });
is($r->{NumberLoadedRows}, 2, 'csv: default tab separator');
like(rows(), qr/^1,one,1\.5\n2,two,2\.5\n/m, 'csv: values');

$r = load(data_file('multi.csv', "3||three||3\n4||four||4\n"),
    { label => 'multi', column_separator => '||' });
is($r->{NumberLoadedRows}, 2, 'csv: multi-byte separator');
like(rows(), qr/^3,three,3\n/m, 'csv: multi-byte values');

$r = load(data_file('hex.csv', "5\x01five\x016\n"),
    { label => 'hex', column_separator => '\x01' });
is($r->{NumberLoadedRows}, 1, 'csv: \x01 separator');
like(rows(), qr/^5,five,6\n/m, 'csv: \x01 values');

$r = load(data_file('crlf.csv', "6,six,1\r\n7,seven,2\r\n"),
    { label => 'crlf', column_separator => ',', row_delimiter => '\x0D0A' });
is($r->{NumberLoadedRows}, 2, 'csv: \x0D0A row delimiter');
like(rows(), qr/^7,seven,2\n/m, 'csv: CRLF rows');

$r = load(data_file('hdr.csv', "id,name,v\n8,eight,8\n"),
    { label => 'hdr', column_separator => ',', skip_header => '1' });
is($r->{NumberTotalRows}, 1, 'csv: skip_header');
like(rows(), qr/^8,eight,8\n/m, 'csv: row after the header');

$r = load(data_file('trim.csv', "9 ,  nine  , 9\n"),
    { label => 'trim', column_separator => ',', trim_space => 'true' });
is($r->{NumberLoadedRows}, 1, 'csv: trim_space');
like(rows(), qr/^9,nine,9\n/m, 'csv: trimmed');

$r = load(data_file('encl.csv', qq(10,"ten, a \\"quote\\"",10\n)),
    { label => 'encl', column_separator => ',', enclose => '"',
      escape => '\\' });
is($r->{NumberLoadedRows}, 1, 'csv: enclose and escape');
like(rows(), qr/^10,"ten, a ""quote""",10\n/m, 'csv: enclosed value');

###############################################################################
# compressed CSV

my %tools = (
    gzip => [ 'gzip', '-c' ],
    bzip2 => [ 'bzip2', '-c' ],
    lz4 => [ 'lz4', '-c' ],
    zstd => [ 'zstd', '-c', '-q' ],
);

my $id = 100;
for my $fmt (sort keys %tools) {
    my $content = join '', map { $id + $_ . ",$fmt$_,$_\n" } 0 .. 999;
    my $file = compressed("$fmt.csv", $content, @{$tools{$fmt}});
    $r = load($file, { label => "c-$fmt", column_separator => ',',
        format => $fmt });
    is($r->{Status}, 'Success', "format $fmt: Success");
    is($r->{NumberLoadedRows}, 1000, "format $fmt: all rows");
    is($r->{LoadBytes}, -s $file, "format $fmt: LoadBytes = body bytes");
    like(rows(), qr/^@{[$id + 999]},${fmt}999,999\n/m, "format $fmt: values");
    $id += 1000;
}

{
    my $content = join '', map { $id + $_ . ",deflate$_,$_\n" } 0 .. 99;
    my $file = data_file('deflate.csv.z', compress($content));
    $r = load($file, { label => 'c-deflate', column_separator => ',',
        format => 'deflate' });
    is($r->{NumberLoadedRows}, 100, 'format deflate: all rows');
    $id += 100;
}

$r = load(data_file('corrupt.gz', "\x1f\x8b\x08\x00garbage" x 10),
    { label => 'corrupt', column_separator => ',', format => 'gzip' });
is($r->{Status}, 'Fail', 'corrupt gzip: Fail');
ok(length $r->{Message}, 'corrupt gzip: a message');

###############################################################################
# JSON

$r = load(data_file('nd.json',
    qq({"id":20,"name":"twenty","v":20}\n{"name":"tw1","id":21}\n)),
    { label => 'nd', format => 'json' });
is($r->{NumberLoadedRows}, 2, 'json: one object a line');
like(rows(), qr/^21,tw1,\\N\n/m, 'json: keys by name, missing is null');

$r = load(data_file('arr.json',
    '[{"id":22,"name":"a","v":1},{"id":23,"name":"b","v":2}]'),
    { label => 'arr', format => 'json', strip_outer_array => 'true' });
is($r->{NumberLoadedRows}, 2, 'json: strip_outer_array');

$r = load(data_file('paths.json',
    '{"data":[{"k":24,"n":{"x":"deep"},"v":3}]}'),
    { label => 'paths', format => 'json', json_root => '$.data',
      strip_outer_array => 'true', jsonpaths => '["$.k","$.n.x","$.v"]' });
is($r->{NumberLoadedRows}, 1, 'json: json_root and jsonpaths');
like(rows(), qr/^24,deep,3\n/m, 'json: values by path');

my $jfile = compressed('gz.json', qq({"id":25,"name":"gz","v":1}\n),
    'gzip', '-c');
$r = load($jfile, { label => 'jgz', format => 'json',
    compression => 'gzip' });
is($r->{NumberLoadedRows}, 1, 'json: compression gzip');

$jfile = compressed('zs.json', qq({"id":26,"name":"zs","v":1}\n),
    'zstd', '-c', '-q');
$r = load($jfile, { label => 'jzs', format => 'json',
    'Content-Encoding' => 'zstd' });
is($r->{NumberLoadedRows}, 1, 'json: Content-Encoding zstd');

$jfile = compressed('lz.json', qq({"id":27,"name":"lz","v":1}\n),
    'lz4', '-c');
$r = load($jfile, { label => 'jlz', format => 'json',
    compression => 'LZ4_FRAME' });
is($r->{NumberLoadedRows}, 1, 'json: compression LZ4_FRAME');

$r = load(data_file('bad.json', qq({"id":28,"name":"ok"}\n{"id":"x"}\n)),
    { label => 'badj', format => 'json', max_filter_ratio => '0.5' });
is($r->{NumberLoadedRows}, 1, 'json: good row loaded');
is($r->{NumberFilteredRows}, 1, 'json: bad row filtered');

$r = load(data_file('x.csv', "1,2,3\n"), { label => 'unk',
    compression => 'snappy' });
is($r->{Message}, 'Unsupported compression type snappy',
    'unknown compression');

###############################################################################
