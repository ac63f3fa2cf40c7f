#!/usr/bin/env bash
#
# bench/run-proxy.sh -- divehttpd's reverse proxy against nginx's, on this
# machine, in one run.
#
# One backend (nginx, "return 200", 1 worker) serves both proxies.  Each
# proxy has the same number of workers, no access log, and a keep-alive
# pool to the backend (nginx: proxy_http_version 1.1 and an empty
# Connection header, as its documentation asks).  wrk drives each proxy in
# turn, ROUNDS times, alternating; the best requests/s of each is kept with
# the p99 latency of that run.

set -euo pipefail

usage() {
    cat <<'USAGE'
usage: bench/run-proxy.sh [options]

  --duration SECS   length of each wrk run (default 10)
  --workers N       worker processes of each proxy (default 1)
  --connections N   wrk connections (default 50)
  --rounds N        runs per proxy, alternating, best kept (default 3)
  --binary PATH     divehttpd binary (default objs/divehttpd)
  --keep            keep the temporary directory
  -h, --help        this text

Needs wrk and nginx (sh scripts/install-deps.sh --bench).  Results are
printed and saved to bench/results/proxy-<date>.txt.
USAGE
}

cd "$(dirname "$0")/.."
TOP=$(pwd)

DURATION=10
WORKERS=1
CONNS=50
ROUNDS=3
KEEP=0
BINARY=$TOP/objs/divehttpd

while [ $# -gt 0 ]; do
    case "$1" in
        --duration)     DURATION=$2; shift 2 ;;
        --workers)      WORKERS=$2; shift 2 ;;
        --connections)  CONNS=$2; shift 2 ;;
        --rounds)       ROUNDS=$2; shift 2 ;;
        --binary)       BINARY=$2; shift 2 ;;
        --keep)         KEEP=1; shift ;;
        -h|--help)      usage; exit 0 ;;
        *)              echo "bench/run-proxy.sh: unknown option: $1" >&2
                        usage >&2; exit 2 ;;
    esac
done

die() {
    echo "bench/run-proxy.sh: $*" >&2
    exit 1
}

for n in "$DURATION" "$WORKERS" "$CONNS" "$ROUNDS"; do
    case "$n" in ''|*[!0-9]*|0) die "options want positive numbers" ;; esac
done

WRK=$(command -v wrk || true)
[ -n "$WRK" ] || die "wrk is not installed; run: sh scripts/install-deps.sh --bench"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || die "nginx is not installed; run: sh scripts/install-deps.sh --bench"
[ -x "$BINARY" ] || die "$BINARY not found; build it first: ./configure && make"

TMP=$(mktemp -d /tmp/divehttpd-proxy-bench.XXXXXX)
chmod 755 "$TMP"
mkdir -p "$TMP/backend" "$TMP/nginx" "$TMP/divehttpd"

declare -A MASTER=()

cleanup() {
    local s
    for s in "${!MASTER[@]}"; do
        kill -TERM "${MASTER[$s]}" 2>/dev/null || true
        wait "${MASTER[$s]}" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then
        echo "bench/run-proxy.sh: kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    perl -MIO::Socket::INET -e '
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1",
                                      LocalPort => 0, ReuseAddr => 1) or die;
        print $s->sockport, "\n";'
}

declare -A PORT=()
for s in backend nginx divehttpd; do
    while :; do
        p=$(free_port)
        case " ${PORT[*]:-} " in *" $p "*) ;; *) PORT[$s]=$p; break ;; esac
    done
done

USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"

cat > "$TMP/backend/nginx.conf" <<CONF
daemon off;
$USER_LINE
worker_processes 1;
pid $TMP/backend/nginx.pid;
error_log $TMP/backend/error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:${PORT[backend]};
        location / { return 200 "hello\n"; }
    }
}
CONF

cat > "$TMP/nginx/nginx.conf" <<CONF
daemon off;
$USER_LINE
worker_processes $WORKERS;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000;
    upstream backend {
        server 127.0.0.1:${PORT[backend]};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:${PORT[nginx]};
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
CONF

cat > "$TMP/divehttpd/divehttpd.conf" <<CONF
daemon off;
$USER_LINE
worker_processes $WORKERS;
pid $TMP/divehttpd/divehttpd.pid;
error_log $TMP/divehttpd/error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000;
    upstream backend {
        server 127.0.0.1:${PORT[backend]};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:${PORT[divehttpd]};
        location / {
            proxy_pass http://backend;
        }
    }
}
CONF

server_cmd() {
    case "$1" in
        backend)   echo "$NGINX -p $TMP/backend/ -c $TMP/backend/nginx.conf -e $TMP/backend/error.log" ;;
        nginx)     echo "$NGINX -p $TMP/nginx/ -c $TMP/nginx/nginx.conf -e $TMP/nginx/error.log" ;;
        divehttpd) echo "$BINARY -p $TMP/divehttpd/ -c $TMP/divehttpd/divehttpd.conf -e $TMP/divehttpd/error.log" ;;
    esac
}

start_server() {
    local s=$1 i
    $(server_cmd "$s") -t >/dev/null 2>&1 || { $(server_cmd "$s") -t; die "$s rejects its configuration"; }
    $(server_cmd "$s") >>"$TMP/$s/stderr.log" 2>&1 &
    MASTER[$s]=$!
    for i in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:${PORT[$s]}/" 2>/dev/null && return 0
        kill -0 "${MASTER[$s]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$TMP/$s/stderr.log" "$TMP/$s/error.log" >&2 2>/dev/null || true
    die "$s did not start on port ${PORT[$s]}"
}

# requests/s and p99 (ms) of one wrk run
run_wrk() {
    local port=$1 out rps p99
    out=$("$WRK" -t1 -c"$CONNS" -d"${DURATION}s" --latency \
          "http://127.0.0.1:$port/" 2>&1)
    echo "$out" > "$TMP/wrk-$port-$(date +%s%N).txt"
    if echo "$out" | grep -q "Non-2xx"; then
        echo "$out" >&2
        die "non-2xx answers from port $port"
    fi
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    p99=$(echo "$out" | awk '$1 == "99%" {
        v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
        if (u == "us") v /= 1000; else if (u == "s") v *= 1000;
        printf "%.2f", v }')
    echo "$rps $p99"
}

start_server backend
start_server nginx
start_server divehttpd

# warm-up: fill both keep-alive pools
"$WRK" -t1 -c"$CONNS" -d1s "http://127.0.0.1:${PORT[nginx]}/" >/dev/null 2>&1
"$WRK" -t1 -c"$CONNS" -d1s "http://127.0.0.1:${PORT[divehttpd]}/" >/dev/null 2>&1

declare -A BEST_RPS=([nginx]=0 [divehttpd]=0) BEST_P99=()
for r in $(seq 1 "$ROUNDS"); do
    for s in divehttpd nginx; do
        read -r rps p99 < <(run_wrk "${PORT[$s]}")
        echo "round $r: $s ${rps} req/s, p99 ${p99} ms"
        if awk -v a="$rps" -v b="${BEST_RPS[$s]}" 'BEGIN { exit !(a > b) }'; then
            BEST_RPS[$s]=$rps
            BEST_P99[$s]=$p99
        fi
    done
done

ratio=$(awk -v a="${BEST_RPS[divehttpd]}" -v b="${BEST_RPS[nginx]}" \
        'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')

mkdir -p bench/results
RESULT=bench/results/proxy-$(date +%Y%m%d-%H%M%S).txt
{
    echo "reverse proxy to one nginx \"return 200\" backend, keep-alive pools"
    echo "$(nproc) CPU, $WORKERS proxy worker(s), wrk -t1 -c$CONNS -d${DURATION}s, best of $ROUNDS"
    echo "$("$NGINX" -v 2>&1)"
    printf "%-10s %12s %10s\n" server "req/s" "p99 ms"
    for s in divehttpd nginx; do
        printf "%-10s %12s %10s\n" "$s" "${BEST_RPS[$s]}" "${BEST_P99[$s]:-?}"
    done
    echo "divehttpd/nginx requests/s: $ratio"
} | tee "$RESULT"

for s in divehttpd nginx; do
    if [ -s "$TMP/$s/error.log" ]; then
        echo "--- $s error.log:" >&2
        head -5 "$TMP/$s/error.log" >&2
    fi
done
