#!/usr/bin/env bash
#
# bench/run-stream-load.sh -- Stream Load throughput against its ceiling.
#
# Loads N narrow CSV rows (id bigint key, name varchar, amount decimal)
# into divehttpd with curl as a StarRocks user does, plain and gzip, and
# inserts the same rows with bench/bdb_raw_insert (a bare Berkeley DB
# batch-insert loop with divehttpd's environment settings) in the same
# run.  Reports rows/s and MB/s of CSV for each, the ratio to the raw
# loop, and the peak RSS of the worker sampled during each load.
#
#   bench/run-stream-load.sh [--rows N] [--binary PATH] [--keep]
#
# Both sides commit without fsync (storage_sync off; the raw loop uses
# DB_TXN_WRITE_NOSYNC): the comparison is about the load path, not the
# disk.  A stream load is one storage transaction; the raw loop commits
# every 10,000 rows.

set -euo pipefail

cd "$(dirname "$0")/.."
TOP=$(pwd)

ROWS=10000000
BINARY=$TOP/objs/divehttpd
KEEP=

while [ $# -gt 0 ]; do
    case "$1" in
        --rows) ROWS=$2; shift 2 ;;
        --binary) BINARY=$(cd "$(dirname "$2")" && pwd)/$(basename "$2");
                  shift 2 ;;
        --keep) KEEP=1; shift ;;
        -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
        *) echo "unknown option: $1" >&2; exit 1 ;;
    esac
done

for tool in curl gzip cc awk; do
    command -v $tool >/dev/null || { echo "needs $tool" >&2; exit 1; }
done
[ -x "$BINARY" ] || { echo "no divehttpd at $BINARY (make it first)" >&2;
                      exit 1; }

WORK=$(mktemp -d /tmp/divehttpd-slbench-XXXXXX)
PID=
SAMPLER=

cleanup() {
    [ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null || true
    if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
        kill -QUIT "$PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break;
                               sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null || true
    fi
    if [ -z "$KEEP" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
trap cleanup EXIT

echo "building bench/bdb_raw_insert"
cc -O2 -o "$WORK/bdb_raw_insert" bench/bdb_raw_insert.c -ldb-5.3

echo "writing $ROWS rows of CSV"
awk -v n="$ROWS" 'BEGIN {
    for (i = 1; i <= n; i++)
        printf "%d,user%d,%d.%02d\n", i, i % 1000, int((i % 100000) / 100),
               (i % 100000) % 100
}' > "$WORK/rows.csv"
gzip -1 -c "$WORK/rows.csv" > "$WORK/rows.csv.gz"
CSV_BYTES=$(stat -c %s "$WORK/rows.csv")
GZ_BYTES=$(stat -c %s "$WORK/rows.csv.gz")

# as root the workers would become nobody, who cannot use the directories
USER_LINE=
[ "$(id -u)" = 0 ] && USER_LINE="user root;"

PORT=$((20000 + RANDOM % 20000))
mkdir -p "$WORK/logs" "$WORK/data" "$WORK/tmp"
cat > "$WORK/divehttpd.conf" <<EOF
daemon off;
worker_processes 1;
$USER_LINE
error_log $WORK/logs/error.log warn;
pid $WORK/divehttpd.pid;

storage $WORK/data cache=256m;
storage_sync off;

table bench.plain {
    column id bigint;
    column name varchar(16);
    column amount decimal(10,2);
    key id;
}

table bench.gz {
    column id bigint;
    column name varchar(16);
    column amount decimal(10,2);
    key id;
}

events {
}

http {
    access_log off;
    stream_load_error_log_dir $WORK/logs;

    server {
        listen 127.0.0.1:$PORT;

        location /api/ {
            stream_load;
            client_max_body_size 0;
            client_body_temp_path $WORK/tmp;
            client_body_buffer_size 256k;
        }
    }
}
EOF

"$BINARY" -p "$WORK" -c "$WORK/divehttpd.conf" &
PID=$!
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
    sleep 0.1
done

worker_pid() {
    pgrep -P "$PID" -f worker | head -1
}

# peak VmRSS (kB) of the worker while a load runs
sample_rss() {
    local w=$1 out=$2 max=0 v
    while kill -0 "$w" 2>/dev/null; do
        v=$(awk '/^VmRSS/ { print $2 }' "/proc/$w/status" 2>/dev/null || echo 0)
        [ -n "$v" ] && [ "$v" -gt "$max" ] && max=$v && echo "$max" > "$out"
        sleep 0.1
    done
}

# load TABLE FILE EXTRA-HEADER...: prints "seconds reply-file peak-rss-kb"
run_load() {
    local table=$1 file=$2; shift 2
    local w start end
    w=$(worker_pid)
    echo 0 > "$WORK/rss.$table"
    sample_rss "$w" "$WORK/rss.$table" &
    SAMPLER=$!
    start=$(date +%s.%N)
    curl -sS --location-trusted -u root: -H "label:bench-$table" \
         -H "column_separator:," "$@" -T "$file" \
         "http://127.0.0.1:$PORT/api/bench/$table/_stream_load" \
         > "$WORK/reply.$table"
    end=$(date +%s.%N)
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
    echo "$(echo "$end - $start" | bc -l) $(cat "$WORK/rss.$table")"
}

echo "stream load, plain CSV"
read -r PLAIN_S PLAIN_RSS < <(run_load plain "$WORK/rows.csv")
echo "stream load, gzip"
read -r GZ_S GZ_RSS < <(run_load gz "$WORK/rows.csv.gz" -H "format:gzip")

for f in plain gz; do
    grep -q '"Status": "Success"' "$WORK/reply.$f" || {
        echo "load $f failed:" >&2; cat "$WORK/reply.$f" >&2; exit 1; }
done

echo "raw Berkeley DB insert loop"
RAW=$("$WORK/bdb_raw_insert" "$WORK/raw" "$ROWS" 10000)
RAW_S=$(echo "$RAW" | sed 's/.*"seconds":\([0-9.]*\).*/\1/')

rate() { echo "scale=0; $1 / $2" | bc -l; }
mbs() { echo "scale=1; $1 / $2 / 1048576" | bc -l; }
pct() { echo "scale=0; 100 * $2 / $1" | bc -l; }

mkdir -p bench/results
OUT=bench/results/stream-load-$(date +%Y-%m-%d-%H%M%S).txt
{
    echo "Stream Load benchmark, $ROWS rows, $(nproc) CPUs, $(date -u)"
    echo "CSV $CSV_BYTES bytes, gzip $GZ_BYTES bytes"
    echo
    printf "%-22s %10s %12s %10s %8s %12s\n" run seconds rows/s "MB/s CSV" \
        "% raw" "worker RSS"
    printf "%-22s %10.2f %12s %10s %8s %12s\n" "raw BDB insert loop" \
        "$RAW_S" "$(rate "$ROWS" "$RAW_S")" "$(mbs "$CSV_BYTES" "$RAW_S")" \
        100 -
    printf "%-22s %10.2f %12s %10s %8s %9s MiB\n" "stream load csv" \
        "$PLAIN_S" "$(rate "$ROWS" "$PLAIN_S")" \
        "$(mbs "$CSV_BYTES" "$PLAIN_S")" "$(pct "$PLAIN_S" "$RAW_S")" \
        "$((PLAIN_RSS / 1024))"
    printf "%-22s %10.2f %12s %10s %8s %9s MiB\n" "stream load gzip" \
        "$GZ_S" "$(rate "$ROWS" "$GZ_S")" "$(mbs "$CSV_BYTES" "$GZ_S")" \
        "$(pct "$GZ_S" "$RAW_S")" "$((GZ_RSS / 1024))"
    echo
    echo "replies:"
    cat "$WORK/reply.plain"; echo
    cat "$WORK/reply.gz"; echo
    echo "raw: $RAW"
} | tee "$OUT"

echo "saved $OUT"
