#!/usr/bin/env bash
#
# bench/callgrind-proxy.sh -- instructions per proxied keep-alive request,
# divehttpd's reverse proxy against nginx's, counted by valgrind's
# callgrind (the method of bench/callgrind.sh: wall-clock ratios on a
# shared VM move by more than the differences we look for).
#
# One backend (nginx, "return 200", outside valgrind) serves both.  Each
# proxy runs in one process (master_process off) under callgrind with a
# keep-alive pool to the backend, and answers N1, then (in a second run)
# N2 requests sent one after another over one client connection;
# (Ir(N2) - Ir(N1)) / (N2 - N1) is the cost of one proxied request.
#
# usage: bench/callgrind-proxy.sh [--binary PATH] [--n1 N] [--n2 N] [--keep]

set -euo pipefail

cd "$(dirname "$0")/.."
TOP=$(pwd)

BINARY=$TOP/objs/divehttpd
N1=1000
N2=11000
KEEP=0

while [ $# -gt 0 ]; do
    case "$1" in
        --binary) BINARY=$2; shift 2 ;;
        --n1)     N1=$2; shift 2 ;;
        --n2)     N2=$2; shift 2 ;;
        --keep)   KEEP=1; shift ;;
        *)        echo "unknown option $1" >&2; exit 2 ;;
    esac
done

for cmd in valgrind nginx perl; do
    command -v $cmd >/dev/null || { echo "needs $cmd" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/dh-callgrind-proxy.XXXXXX)
BACKEND_PID=

cleanup() {
    [ -n "$BACKEND_PID" ] && kill -TERM "$BACKEND_PID" 2>/dev/null
    [ -n "$BACKEND_PID" ] && wait "$BACKEND_PID" 2>/dev/null
    [ $KEEP = 1 ] || rm -rf "$TMP"
}
trap cleanup EXIT

free_port() {
    perl -MIO::Socket::INET -e \
        'print IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0")->sockport'
}

USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"

BPORT=$(free_port)
cat > "$TMP/backend.conf" <<CONF
daemon off;
master_process off;
$USER_LINE
pid $TMP/backend.pid;
error_log $TMP/backend-error.log error;
events { worker_connections 64; }
http {
    access_log off;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$BPORT;
        location / { return 200 "hello\\n"; }
    }
}
CONF

nginx -p "$TMP/" -c "$TMP/backend.conf" -e "$TMP/backend-error.log" &
BACKEND_PID=$!

# the two proxies differ only where nginx needs to be told to keep
# backend connections (HTTP/1.1 and an empty Connection header)
conf() {
    local name=$1 port=$2 extra=
    [ "$name" = nginx ] && extra='proxy_http_version 1.1;
            proxy_set_header Connection "";'
    cat <<CONF
daemon             off;
master_process     off;
$USER_LINE
pid                $TMP/$name.pid;
error_log          $TMP/$name-error.log error;

events {
    worker_connections  64;
}

http {
    access_log         off;
    tcp_nodelay        on;
    keepalive_timeout  75s;
    keepalive_requests 1000000;

    upstream backend {
        server 127.0.0.1:$BPORT;
        keepalive 8;
    }

    server {
        listen       127.0.0.1:$port;
        server_name  localhost;

        location / {
            proxy_pass http://backend;
            $extra
        }
    }
}
CONF
}

client() {
    perl -MIO::Socket::INET -e '
        my ($port, $n) = @ARGV;
        my $s;
        for (1 .. 500) {
            $s = IO::Socket::INET->new("127.0.0.1:$port") and last;
            select(undef, undef, undef, 0.1);
        }
        $s or die "connect: $!";
        my $req = "GET /r HTTP/1.1\r\nHost: localhost\r\n\r\n";
        for (1 .. $n) {
            syswrite($s, $req) == length($req) or die "write: $!";
            my $buf = "";
            until ($buf =~ /\r\n\r\n(.*)/s
                   && length($1) >= ($buf =~ /Content-Length: (\d+)/i)[0])
            {
                sysread($s, $buf, 4096, length $buf) or die "read: $!";
            }
            $buf =~ /^HTTP\/1.1 200/ or die "answer: $buf";
        }' "$1" "$2"
}

run() {
    local name=$1 n=$2 port out pid
    port=$(free_port)
    out=$TMP/$name.$n.out
    conf "$name" "$port" > "$TMP/$name.conf"

    if [ "$name" = nginx ]; then
        valgrind --tool=callgrind --callgrind-out-file="$out" \
            nginx -p "$TMP/" -c "$TMP/$name.conf" -e "$TMP/$name-error.log" \
            2>"$TMP/$name.$n.valgrind" &
    else
        valgrind --tool=callgrind --callgrind-out-file="$out" \
            "$BINARY" -p "$TMP/" -c "$TMP/$name.conf" \
            -e "$TMP/$name-error.log" 2>"$TMP/$name.$n.valgrind" &
    fi
    pid=$!

    client "$port" "$n"
    kill -QUIT $pid
    wait $pid || true

    awk '/^summary:/ { print $2 }' "$out"
}

declare -A IR

for name in divehttpd nginx; do
    a=$(run $name $N1)
    b=$(run $name $N2)
    IR[$name]=$(( (b - a) / (N2 - N1) ))
    printf '%-10s %8d instructions per proxied request  (Ir %d at %d, %d at %d)\n' \
        $name ${IR[$name]} "$a" $N1 "$b" $N2
done

printf 'divehttpd / nginx: %s\n' \
    "$(awk -v d=${IR[divehttpd]} -v n=${IR[nginx]} 'BEGIN { printf "%.3f", d / n }')"

if [ $KEEP = 1 ]; then
    echo "profiles: callgrind_annotate $TMP/divehttpd.$N2.out (and nginx.$N2.out)"
fi
