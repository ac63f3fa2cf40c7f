#!/usr/bin/env bash
#
# bench/run.sh -- divehttpd against Debian's nginx, on this machine, in one run.
#
# See bench/README.md for what is measured and how the two servers are set up.

set -euo pipefail

usage() {
    cat <<'USAGE'
usage: bench/run.sh [options]

  --duration SECS   length of each wrk run (default 10)
  --workers N       worker processes of both servers (default 1)
  --rounds N        measure each throughput test N times per server,
                    alternating servers, and keep the best (default 1)
  --quick           short run: 3 s wrk runs, no warm-up, 2,000 idle
                    connections, 5 reloads (explicit options still win)
  --idle N          idle keep-alive connections for the memory test
                    (default 10000)
  --reloads N       HUPs sent during the reload test (default 20)
  --only SERVER     run only "divehttpd" or only "nginx"
  --binary PATH     divehttpd binary (default objs/divehttpd)
  --keep            keep the temporary directory (confs, logs, wrk output)
  -h, --help        this text

Needs wrk and nginx (sh scripts/install-deps.sh --bench installs them)
and a built divehttpd (./configure && make).  Results are printed and saved
to bench/results/<date>.txt.
USAGE
}

cd "$(dirname "$0")/.."
TOP=$(pwd)

# empty: the default, which --quick changes
DURATION=
WORKERS=1
IDLE=
RELOADS=
ROUNDS=
ONLY=
KEEP=0
QUICK=0
BINARY=$TOP/objs/divehttpd

while [ $# -gt 0 ]; do
    case "$1" in
        --duration)   DURATION=$2; shift 2 ;;
        --duration=*) DURATION=${1#*=}; shift ;;
        --workers)    WORKERS=$2; shift 2 ;;
        --workers=*)  WORKERS=${1#*=}; shift ;;
        --idle)       IDLE=$2; shift 2 ;;
        --idle=*)     IDLE=${1#*=}; shift ;;
        --reloads)    RELOADS=$2; shift 2 ;;
        --rounds)     ROUNDS=$2; shift 2 ;;
        --rounds=*)   ROUNDS=${1#*=}; shift ;;
        --reloads=*)  RELOADS=${1#*=}; shift ;;
        --only)       ONLY=$2; shift 2 ;;
        --only=*)     ONLY=${1#*=}; shift ;;
        --binary)     BINARY=$2; shift 2 ;;
        --binary=*)   BINARY=${1#*=}; shift ;;
        --quick)      QUICK=1; shift ;;
        --keep)       KEEP=1; shift ;;
        -h|--help)    usage; exit 0 ;;
        *)            echo "bench/run.sh: unknown option: $1" >&2
                      usage >&2; exit 2 ;;
    esac
done

# options given explicitly win over --quick
if [ "$QUICK" = 1 ]; then
    : "${DURATION:=3}" "${IDLE:=2000}" "${RELOADS:=5}" "${ROUNDS:=1}"
else
    : "${DURATION:=10}" "${IDLE:=10000}" "${RELOADS:=20}" "${ROUNDS:=1}"
fi

die() {
    echo "bench/run.sh: $*" >&2
    exit 1
}

isnum() {
    case "$1" in ''|*[!0-9]*) return 1 ;; esac
}

isnum "$DURATION" && [ "$DURATION" -gt 0 ] || die "--duration wants seconds"
isnum "$WORKERS" && [ "$WORKERS" -gt 0 ] || die "--workers wants a number"
isnum "$IDLE" && [ "$IDLE" -gt 0 ] || die "--idle wants a number"
isnum "$RELOADS" || die "--reloads wants a number"
isnum "$ROUNDS" && [ "$ROUNDS" -gt 0 ] || die "--rounds wants a number"

case "$ONLY" in
    '')        SERVERS="divehttpd nginx" ;;
    divehttpd) SERVERS="divehttpd" ;;
    nginx)     SERVERS="nginx" ;;
    *)         die "--only wants divehttpd or nginx" ;;
esac


# --- tools -----------------------------------------------------------------

WRK=$(command -v wrk || true)
[ -n "$WRK" ] || die "wrk is not installed; run: sh scripts/install-deps.sh --bench"

NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || { [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx; } || true
case " $SERVERS " in
    *" nginx "*)
        [ -n "$NGINX" ] || die "nginx is not installed; run: sh scripts/install-deps.sh --bench" ;;
esac

case " $SERVERS " in
    *" divehttpd "*)
        [ -x "$BINARY" ] || die "$BINARY not found; build it first: ./configure && make" ;;
esac

command -v perl >/dev/null || die "perl is not installed"

NCPU=$(nproc 2>/dev/null || echo 1)

# Servers get the first CPUs, wrk the last one, so that the client does not
# steal cycles from the server it measures.  On one CPU nothing is pinned.
if [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
    n=$WORKERS
    [ "$n" -gt $((NCPU - 1)) ] && n=$((NCPU - 1))
    SRV_CPUS=0
    [ "$n" -gt 1 ] && SRV_CPUS="0-$((n - 1))"
    WRK_CPU=$((NCPU - 1))
    SRV_PIN="taskset -c $SRV_CPUS"
    WRK_PIN="taskset -c $WRK_CPU"
    PINNING="servers on CPU $SRV_CPUS, wrk on CPU $WRK_CPU"
else
    SRV_PIN=
    WRK_PIN=
    PINNING="not pinned ($NCPU CPU)"
fi

# 10,000 idle connections need that many descriptors in the client and in
# the server's worker, plus room for the rest.
WANT_FILES=$((IDLE + 4096))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$WANT_FILES" ]; then
    ulimit -n "$WANT_FILES" 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$WANT_FILES" ]; then
    IDLE=$(( $(ulimit -n) - 4096 ))
    [ "$IDLE" -gt 0 ] || die "open file limit $(ulimit -n) is too low"
    echo "bench/run.sh: open file limit is $(ulimit -n); using --idle $IDLE" >&2
fi
WORKER_CONNECTIONS=$((IDLE + 1024))
RLIMIT_NOFILE=$((IDLE + 4096))


# --- temporary tree --------------------------------------------------------

TMP=$(mktemp -d /tmp/divehttpd-bench.XXXXXX)
# Workers run as "nobody" when we are root: they must be able to read the
# document root.
chmod 755 "$TMP"
mkdir -p "$TMP/html" "$TMP/divehttpd" "$TMP/nginx"

# 1 KiB of printable bytes
head -c 1024 /dev/zero | tr '\0' 'x' > "$TMP/html/1k.html"
head -c 102400 /dev/zero | tr '\0' 'x' > "$TMP/html/100k.html"
echo ok > "$TMP/html/index.html"
chmod -R a+rX "$TMP/html"

declare -A MASTER=()

cleanup() {
    local s
    for s in "${!MASTER[@]}"; do
        kill -TERM "${MASTER[$s]}" 2>/dev/null || true
        wait "${MASTER[$s]}" 2>/dev/null || true
    done
    if [ "$KEEP" = 1 ]; then
        echo "bench/run.sh: kept $TMP" >&2
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
PORT[divehttpd]=$(free_port)
PORT[nginx]=$(free_port)
while [ "${PORT[nginx]}" = "${PORT[divehttpd]}" ]; do PORT[nginx]=$(free_port); done


# --- configurations --------------------------------------------------------
#
# Both confs set the same things explicitly, and leave everything else at
# the server's default.  nginx has no open_file_cache (it is off by default),
# and both run without an access log (logging costs the same write on both
# and would only measure the disk).

write_confs() {
    cat > "$TMP/nginx/nginx.conf" <<CONF
daemon             off;
master_process     on;
worker_processes   $WORKERS;
worker_rlimit_nofile  $RLIMIT_NOFILE;
pid                $TMP/nginx/nginx.pid;
error_log          $TMP/nginx/error.log error;

events {
    worker_connections  $WORKER_CONNECTIONS;
}

http {
    access_log         off;
    default_type       application/octet-stream;
    sendfile           on;
    tcp_nodelay        on;
    keepalive_timeout  75s;
    keepalive_requests 1000;

    server {
        listen       127.0.0.1:${PORT[nginx]};
        server_name  localhost;

        location = /r {
            return  200 "hello\n";
        }

        location = /r-nometrics {
            return  200 "hello\n";
        }

        location / {
            root  $TMP/html;
        }
    }
}
CONF

    cat > "$TMP/divehttpd/divehttpd.conf" <<CONF
daemon             off;
master_process     on;
worker_processes   $WORKERS;
worker_rlimit_nofile  $RLIMIT_NOFILE;
pid                $TMP/divehttpd/divehttpd.pid;
error_log          $TMP/divehttpd/error.log error;

events {
    worker_connections  $WORKER_CONNECTIONS;
}

http {
    access_log         off;
    default_type       application/octet-stream;
    sendfile           on;
    tcp_nodelay        on;
    keepalive_timeout  75s;
    keepalive_requests 1000;

    server {
        listen       127.0.0.1:${PORT[divehttpd]};
        server_name  localhost;

        location = /r {
            return  200 "hello\n";
        }

        # the same without per-request metrics: their overhead
        location = /r-nometrics {
            metrics  off;
            return   200 "hello\n";
        }

        location / {
            root  $TMP/html;
        }
    }
}
CONF
}

server_cmd() {
    case "$1" in
        divehttpd)
            echo "$BINARY -p $TMP/divehttpd/ -c $TMP/divehttpd/divehttpd.conf -e $TMP/divehttpd/error.log" ;;
        nginx)
            echo "$NGINX -p $TMP/nginx/ -c $TMP/nginx/nginx.conf -e $TMP/nginx/error.log" ;;
    esac
}

check_conf() {
    local out
    if ! out=$($(server_cmd "$1") -t 2>&1); then
        echo "$out" >&2
        die "$1 rejects the benchmark configuration"
    fi
}

# Both run with "daemon off", so the master stays our child and $! is its pid.
start_server() {
    local s=$1 i
    $SRV_PIN $(server_cmd "$s") >>"$TMP/$s/stderr.log" 2>&1 &
    MASTER[$s]=$!

    for i in $(seq 1 100); do
        if curl -s -o /dev/null "http://127.0.0.1:${PORT[$s]}/r" 2>/dev/null; then
            return 0
        fi
        kill -0 "${MASTER[$s]}" 2>/dev/null || break
        sleep 0.1
    done
    cat "$TMP/$s/stderr.log" "$TMP/$s/error.log" >&2 2>/dev/null || true
    die "$s did not start on port ${PORT[$s]}"
}

stop_server() {
    local s=$1
    [ -n "${MASTER[$s]:-}" ] || return 0
    kill -TERM "${MASTER[$s]}" 2>/dev/null || true
    wait "${MASTER[$s]}" 2>/dev/null || true
    unset "MASTER[$s]"
}

workers_of() {
    ps -o pid= --ppid "${MASTER[$1]}" | tr -d ' '
}

# Sum of a field of /proc/PID/smaps_rollup (kB) over the workers.
workers_kb() {
    local s=$1 field=$2 pid sum=0 v
    for pid in $(workers_of "$s"); do
        v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# The response a test measures must be right, or the numbers mean nothing.
check_response() {
    local s=$1 path=$2 want=$3 got
    got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' \
               "http://127.0.0.1:${PORT[$s]}$path" || true)
    if [ "$got" != "200 $want" ]; then
        echo "bench/run.sh: $s $path answered \"$got\", expected \"200 $want\"" >&2
        return 1
    fi
}


# --- output ----------------------------------------------------------------

mkdir -p "$TOP/bench/results"
STAMP=$(date +%Y-%m-%d-%H%M%S)
RESULTS=$TOP/bench/results/$STAMP.txt
RAW=$TMP/raw.txt
: > "$RAW"

exec > >(tee "$RESULTS") 2>&1

say() { printf '%s\n' "$*"; }

say "divehttpd vs nginx benchmark, $(date '+%Y-%m-%d %H:%M:%S')"
say "machine:   $(uname -srm), $NCPU CPU, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null)"
case " $SERVERS " in *" divehttpd "*) say "divehttpd: $("$BINARY" -v 2>&1 | head -1) ($BINARY)" ;; esac
case " $SERVERS " in *" nginx "*)     say "nginx:     $("$NGINX" -v 2>&1 | head -1) ($NGINX)" ;; esac
say "wrk:       $("$WRK" -v 2>&1 | head -1)"
say "settings:  $WORKERS worker(s), wrk -t1 -c100 -d${DURATION}s --latency, best of $ROUNDS, $PINNING"
say ""

write_confs
for s in $SERVERS; do
    check_conf "$s"
done


# --- throughput ------------------------------------------------------------

# The extra wrk arguments of a test (its warm-up too), in WRK_OPTS.
wrk_opts() {
    case "${1#warmup-}" in
        close-1k)     WRK_OPTS=(-H 'Connection: close') ;;
        pipeline-16)  WRK_OPTS=(-s "$TOP/bench/pipeline.lua") ;;
        *)            WRK_OPTS=() ;;
    esac
}

# wrk_run SERVER PATH SECONDS LABEL: output in $TMP/wrk-LABEL-SERVER.txt
wrk_run() {
    local s=$1 path=$2 secs=$3 label=$4 out
    out=$TMP/wrk-$label-$s.txt
    wrk_opts "$label"
    $WRK_PIN "$WRK" -t1 -c100 -d"${secs}s" --latency "${WRK_OPTS[@]}" \
        "http://127.0.0.1:${PORT[$s]}$path" > "$out" 2>&1 || true
    {
        echo "=== $s: $label ($path)"
        cat "$out"
        echo
    } >> "$RAW"
}

rps_of()  { awk '/^Requests\/sec:/ { printf "%d", $2 }' "$1"; }
p99_of()  { awk '$1 == "99%" { print $2 }' "$1"; }
non2xx_of() {
    awk '/Non-2xx or 3xx responses:/ { n = $NF } END { print n + 0 }' "$1"
}
# "Socket errors: connect 0, read 12, write 0, timeout 0"
sockerr_of() {
    awk '/Socket errors:/ { gsub(",", ""); print $4, $6, $8, $10; found = 1 }
         END { if (!found) print "0 0 0 0" }' "$1"
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'
}

declare -A RPS=() P99=()

TESTS="return:/r:6 return-nometrics:/r-nometrics:6 static-1k:/1k.html:1024 static-100k:/100k.html:102400
       close-1k:/1k.html:1024 pipeline-16:/r:6"

# Both servers are up together and measured in turn, test by test and
# round by round, so that a change in the machine's load hits both alike;
# the best round of each counts.
for s in $SERVERS; do
    start_server "$s"
done

for t in $TESTS; do
    IFS=: read -r label path size <<<"$t"
    todo=
    for s in $SERVERS; do
        RPS[$s,$label]=
        P99[$s,$label]=
        if check_response "$s" "$path" "$size"; then
            todo="$todo $s"
            [ "$QUICK" = 1 ] || wrk_run "$s" "$path" 2 "warmup-$label"
        else
            P99[$s,$label]="bad response"
        fi
    done
    for round in $(seq 1 "$ROUNDS"); do
        for s in $todo; do
            wrk_run "$s" "$path" "$DURATION" "$label"
            out=$TMP/wrk-$label-$s.txt
            rps=$(rps_of "$out")
            if [ -z "${RPS[$s,$label]}" ] || [ "${rps:-0}" -gt "${RPS[$s,$label]}" ]; then
                RPS[$s,$label]=$rps
                P99[$s,$label]=$(p99_of "$out")
                n=$(non2xx_of "$out")
                [ "$n" = 0 ] || P99[$s,$label]="${P99[$s,$label]} ($n non-2xx!)"
            fi
        done
    done
done

for s in $SERVERS; do
    stop_server "$s"
done

say "Throughput (keep-alive unless said, requests/s; ratio = divehttpd / nginx)"
say ""
printf '%-24s %14s %14s %7s %12s %12s\n' test "divehttpd r/s" "nginx r/s" ratio "dh p99" "nginx p99"
for t in $TESTS; do
    IFS=: read -r label path size <<<"$t"
    case $label in
        return)    name='return 200 "hello\n"' ;;
        return-nometrics) name='return, metrics off' ;;
        static-1k) name='1 KiB static file' ;;
        static-100k) name='100 KiB static file' ;;
        close-1k)  name='1 KiB, Connection: close' ;;
        pipeline-16) name='return, pipelined x16' ;;
    esac
    printf '%-24s %14s %14s %7s %12s %12s\n' "$name" \
        "${RPS[divehttpd,$label]:--}" "${RPS[nginx,$label]:--}" \
        "$(ratio "${RPS[divehttpd,$label]:-}" "${RPS[nginx,$label]:-}")" \
        "${P99[divehttpd,$label]:--}" "${P99[nginx,$label]:--}"
done
say ""
# the cost of per-request metrics on the cheapest request (goal: <= 3%)
say "metrics overhead on return 200: $(awk -v on="${RPS[divehttpd,return]:-}" \
    -v off="${RPS[divehttpd,return-nometrics]:-}" 'BEGIN {
        if (on == "" || off == "" || off == 0) print "-";
        else printf "%.1f%%", (off - on) * 100 / off }')"
say ""


# --- memory per idle keep-alive connection ---------------------------------

declare -A MEM=()

idle_test() {
    local s=$1 before_pss before_rss after_pss after_rss line open failed non200

    start_server "$s"
    # one request first, so that lazily set-up state is not counted
    curl -s -o /dev/null "http://127.0.0.1:${PORT[$s]}/r" || true
    sleep 0.5
    before_pss=$(workers_kb "$s" Pss)
    before_rss=$(workers_kb "$s" Rss)

    coproc IDLECONN { exec perl "$TOP/bench/idle_conns.pl" 127.0.0.1 "${PORT[$s]}" "$IDLE" /r; }
    local cpid=$IDLECONN_PID
    read -r line <&"${IDLECONN[0]}" || line=
    read -r _ open failed non200 <<<"$line"
    sleep 1
    after_pss=$(workers_kb "$s" Pss)
    after_rss=$(workers_kb "$s" Rss)
    # let the client close its connections
    echo done >&"${IDLECONN[1]}" || true
    wait "$cpid" 2>/dev/null || true

    stop_server "$s"

    if [ -z "${open:-}" ] || [ "$open" = 0 ]; then
        MEM[$s]="- - - - no connections (${line:-client failed})"
        return
    fi
    MEM[$s]="$open $before_pss $((after_pss - before_pss)) $((after_rss - before_rss)) ${failed}/${non200}"
}

for s in $SERVERS; do
    idle_test "$s"
done

say "Memory per idle keep-alive connection (worker Pss/Rss delta, all workers)"
say ""
printf '%-10s %8s %14s %12s %12s %10s %10s %s\n' server conns "base Pss kB" "+Pss kB" "+Rss kB" "B/conn" "B/conn" "failed/non-200"
printf '%-10s %8s %14s %12s %12s %10s %10s\n' "" "" "" "" "" "(Pss)" "(Rss)"
for s in $SERVERS; do
    read -r open base dpss drss errs <<<"${MEM[$s]}"
    if [ "$open" = - ]; then
        printf '%-10s %s\n' "$s" "${MEM[$s]#- - - - }"
        continue
    fi
    printf '%-10s %8s %14s %12s %12s %10s %10s %s\n' "$s" "$open" "$base" "$dpss" "$drss" \
        "$((dpss * 1024 / open))" "$((drss * 1024 / open))" "$errs"
done
say ""


# --- reloads under load ----------------------------------------------------

declare -A RELOAD=()

reload_test() {
    local s=$1 secs i wpid out left
    secs=$((RELOADS + 4))
    out=$TMP/wrk-reload-$s.txt

    start_server "$s"
    $WRK_PIN "$WRK" -t1 -c100 -d"${secs}s" --latency \
        "http://127.0.0.1:${PORT[$s]}/r" > "$out" 2>&1 &
    wpid=$!
    sleep 1
    for i in $(seq 1 "$RELOADS"); do
        kill -HUP "${MASTER[$s]}"
        sleep 1
    done
    wait "$wpid" || true
    {
        echo "=== $s: $RELOADS reloads under load (/r)"
        cat "$out"
        echo
    } >> "$RAW"

    # old workers must be gone and the server must still answer
    sleep 1
    left=$(workers_of "$s" | wc -l)
    if check_response "$s" /r 6 2>/dev/null; then ok=yes; else ok=NO; fi
    stop_server "$s"

    RELOAD[$s]="$(sockerr_of "$out") $(non2xx_of "$out") $(rps_of "$out") $left $ok"
}

if [ "$RELOADS" -gt 0 ]; then
    for s in $SERVERS; do
        reload_test "$s"
    done

    say "$RELOADS reloads (HUP) one second apart under wrk load (/r, -c100)"
    say ""
    printf '%-10s %8s %6s %6s %8s %8s %10s %8s %9s\n' server connect read write timeout non-2xx "req/s" workers "answers"
    for s in $SERVERS; do
        read -r c r w to n rps left ok <<<"${RELOAD[$s]}"
        printf '%-10s %8s %6s %6s %8s %8s %10s %8s %9s\n' "$s" "$c" "$r" "$w" "$to" "$n" "$rps" "$left" "$ok"
    done
    say ""
    say "connect/read/write/timeout are wrk's socket errors; read errors are"
    say "keep-alive connections closed under the client.  workers = worker"
    say "processes left after the test (should be $WORKERS)."
    say ""
fi


say "Raw wrk output"
say ""
cat "$RAW"
say "saved to bench/results/$STAMP.txt"
