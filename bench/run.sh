#!/usr/bin/env bash
# Benchmark harness: cwmpscope against tcpdump and tshark on one generated capture.
#
#   bench/run.sh [SIZE]          SIZE: capture size, bytes or with K/M/G (powers of 1024); 1G
#   bench/run.sh --soak [SIZE]   the soak instead: SIZE (default 20G) through a pipe, memory
#                                sampled as it goes (bench/soak.sh, which documents it)
#
# Environment:
#   BENCH_DIR     where captures and results go (default: target/bench); captures are cached
#                 there by size and seed
#   SEED          generator seed (default 1)
#   RUNS          timed runs per measurement, best wall time kept (default 3)
#   TSHARK_SLICE  size of the slice tshark reads (default 50M; 0: the whole capture)
#   KEEP          1 keeps the generated captures (default: kept; set 0 to delete them at the end)
#
# Needs: cargo, tcpdump, tshark and editcap (Wireshark), GNU time as /usr/bin/time.
#   apt-get install -y tshark tcpdump time
# Installs nothing and uses no network.
set -euo pipefail

if [ "${1:-}" = --soak ]; then
    shift
    exec "$(dirname "$0")/soak.sh" "$@"
fi

SIZE_ARG=${1:-1G}
SEED=${SEED:-1}
RUNS=${RUNS:-3}
TSHARK_SLICE=${TSHARK_SLICE:-50M}
KEEP=${KEEP:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}

die() { echo "bench: $*" >&2; exit 2; }

need() {
    command -v "$1" >/dev/null 2>&1 || die "$1 is missing ($2)"
}
need cargo "install Rust: https://rustup.rs"
need tcpdump "apt-get install -y tcpdump"
need tshark "apt-get install -y tshark"
need editcap "apt-get install -y tshark (editcap comes with Wireshark's tools)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install -y time)"
/usr/bin/time -f '%e %M' true 2>/dev/null || die "/usr/bin/time is not GNU time (apt-get install -y time)"

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
SIZE=$(to_bytes "$SIZE_ARG") || die "not a size: $SIZE_ARG"
[ "$SIZE" -gt 0 ] || die "not a size: $SIZE_ARG"
SLICE=$(to_bytes "$TSHARK_SLICE") || die "not a size: $TSHARK_SLICE"
mkdir -p "$BENCH_DIR"
BENCH_DIR=$(cd "$BENCH_DIR" && pwd)

build_release "$ROOT"
BIN=$ROOT/target/release
CWMPSCOPE=$BIN/cwmpscope
CAPGEN=$BIN/cwmpscope-capgen

# Generates (or reuses) the capture of SIZE bytes; prints its path. Its counts go beside it.
capture() {
    local bytes=$1
    local file=$BENCH_DIR/campaign-$bytes-s$SEED.pcap
    if [ ! -s "$file" ] || [ ! -s "$file.stats" ]; then
        local avail
        avail=$(( $(df -Pk "$BENCH_DIR" | awk 'NR == 2 { print $4 }') * 1024 ))
        [ "$avail" -gt $(( bytes + bytes / 5 + (1 << 30) )) ] \
            || die "not enough disk space in $BENCH_DIR for a $bytes-byte capture"
        echo "== generating $file" >&2
        "$CAPGEN" bench --size "$bytes" --seed "$SEED" -o "$file.tmp" >"$file.stats.tmp"
        mv "$file.tmp" "$file"
        mv "$file.stats.tmp" "$file.stats"
    fi
    echo "$file"
}

# Value of KEY in a capture's counts file.
stat_of() {
    tr ' ' '\n' <"$1.stats" | awk -F= -v k="$2" '$1 == k { print $2 }'
}

# Runs a command RUNS times (stdout to /dev/null); prints "best_wall max_rss_kb".
timed() {
    local runs=$1
    shift
    local best="" rss=0 out
    out=$(mktemp)
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%e %M' -o "$out" "$@" >/dev/null 2>>"$BENCH_DIR/stderr.log" \
            || die "failed: $* (see $BENCH_DIR/stderr.log)"
        read -r wall kb <"$out"
        if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
            best=$wall
        fi
        [ "$kb" -gt "$rss" ] && rss=$kb
    done
    rm -f "$out"
    echo "$best $rss"
}

: >"$BENCH_DIR/stderr.log"
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo "?")
F1=$(capture "$SIZE")
F2=$(capture $(( SIZE * 2 )))
B1=$(stat -c %s "$F1")
P1=$(stat_of "$F1" frames)
T1=$(stat_of "$F1" transactions)
B2=$(stat -c %s "$F2")
T2=$(stat_of "$F2" transactions)

echo "== timing on $F1 ($B1 bytes, $P1 packets, $T1 transactions), best of $RUNS" >&2
read -r JSON_S JSON_KB < <(timed "$RUNS" "$CWMPSCOPE" analyze --format json "$F1")
read -r NDJSON_S NDJSON_KB < <(timed "$RUNS" "$CWMPSCOPE" analyze --format ndjson "$F1")
read -r TCPDUMP_S TCPDUMP_KB < <(timed "$RUNS" tcpdump -r "$F1" -w /dev/null)

# Scaling with threads: NDJSON with 1, 2, 4 and 6 analysis threads (the default is one per
# core, 2 to 4; 6 splits the front half over two shards and builds report objects on two
# threads, for machines with more cores), and the CPU seconds each used (user + system).
echo "== threads on $F1" >&2
THREADS_LINE=""
for n in 1 2 4 6; do
    read -r wall _ < <(timed "$RUNS" "$CWMPSCOPE" analyze --threads "$n" --format ndjson "$F1")
    /usr/bin/time -f '%U %S' -o "$BENCH_DIR/cpu.time" \
        "$CWMPSCOPE" analyze --threads "$n" --format ndjson "$F1" >/dev/null 2>>"$BENCH_DIR/stderr.log"
    cpu=$(awk '{ printf "%.2f", $1 + $2 }' "$BENCH_DIR/cpu.time")
    [ "$n" = 1 ] && ONE_THREAD_S=$wall
    THREADS_LINE="$THREADS_LINE  $n: ${wall} s ($(awk -v a="$ONE_THREAD_S" -v b="$wall" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')x, ${cpu} CPU-s)"
done

# Shards: the CPU seconds of one shard of N (--threads 1, so the figure is the shard's work
# alone), and whether the merge of 4 shards is the single run's NDJSON and JSON byte for byte.
echo "== shards on $F1" >&2
"$CWMPSCOPE" analyze --format ndjson "$F1" >"$BENCH_DIR/single.ndjson" 2>>"$BENCH_DIR/stderr.log"
SHARDS_LINE=""
for n in 1 2 4 8; do
    /usr/bin/time -f '%U %S' -o "$BENCH_DIR/cpu.time" \
        "$CWMPSCOPE" analyze --threads 1 --shard "1/$n" --format ndjson "$F1" \
        >"$BENCH_DIR/shard-1-of-$n.ndjson" 2>>"$BENCH_DIR/stderr.log"
    SHARDS_LINE="$SHARDS_LINE  1/$n: $(awk '{ printf "%.2f", $1 + $2 }' "$BENCH_DIR/cpu.time") CPU-s"
done
for k in 2 3 4; do
    "$CWMPSCOPE" analyze --threads 1 --shard "$k/4" --format ndjson "$F1" \
        >"$BENCH_DIR/shard-$k-of-4.ndjson" 2>>"$BENCH_DIR/stderr.log"
done
"$CWMPSCOPE" analyze --format json "$F1" >"$BENCH_DIR/single.json" 2>>"$BENCH_DIR/stderr.log"
SHARDS_MERGE=PASS
for format in ndjson json; do
    "$CWMPSCOPE" merge --format "$format" "$BENCH_DIR"/shard-{1,2,3,4}-of-4.ndjson \
        2>>"$BENCH_DIR/stderr.log" | cmp -s - "$BENCH_DIR/single.$format" || SHARDS_MERGE=FAIL
done
rm -f "$BENCH_DIR"/shard-*-of-*.ndjson "$BENCH_DIR/single.ndjson" "$BENCH_DIR/single.json"

# tshark on a slice cut at a packet boundary (the first packets up to about SLICE bytes).
if [ "$SLICE" -eq 0 ] || [ "$SLICE" -ge "$B1" ]; then
    TS_FILE=$F1
else
    TS_FILE=$BENCH_DIR/slice-$SLICE-of-$B1-s$SEED.pcap
    if [ ! -s "$TS_FILE" ]; then
        last=$(awk -v p="$P1" -v s="$SLICE" -v b="$B1" 'BEGIN { n = int(p * s / b); print (n < 1 ? 1 : n) }')
        editcap -r "$F1" "$TS_FILE" "1-$last" 2>>"$BENCH_DIR/stderr.log" || die "editcap failed"
    fi
fi
TS_B=$(stat -c %s "$TS_FILE")
TS_P=$(tcpdump -r "$TS_FILE" --count 2>/dev/null | awk '{ print $1; exit }' || true)
[ -n "$TS_P" ] || TS_P=$(( P1 * TS_B / B1 ))
echo "== tshark on $TS_FILE ($TS_B bytes), best of $RUNS" >&2
read -r TSHARK_S TSHARK_KB < <(timed "$RUNS" tshark -n -r "$TS_FILE" -d tcp.port==7547,http \
    -Y 'http.request or http.response' \
    -T fields -e http.request.method -e http.response.code -e xml.tag)
read -r SLICE_JSON_S _ < <(timed "$RUNS" "$CWMPSCOPE" analyze --format json "$TS_FILE")

# The interactive view without a terminal (same analysis thread and event loop, an in-memory
# 160x48 screen): when the first row appears, when everything is shown, frame drawing times.
echo "== tui (headless) on $F1, best of $RUNS" >&2
TUI_OUT=$(mktemp)
TUI_BEST=""
TUI_KB=0
for _ in $(seq "$RUNS"); do
    /usr/bin/time -f '%e %M' -o "$TUI_OUT.time" "$BIN/examples/tui_headless" "$F1" >"$TUI_OUT" \
        2>>"$BENCH_DIR/stderr.log" || die "tui_headless failed (see $BENCH_DIR/stderr.log)"
    read -r _ kb <"$TUI_OUT.time"
    [ "$kb" -gt "$TUI_KB" ] && TUI_KB=$kb
    done_ms=$(tr ' ' '\n' <"$TUI_OUT" | awk 'prev == "done_ms" { print; exit } { prev = $0 }')
    if [ -z "$TUI_BEST" ] || awk -v a="$done_ms" -v b="$TUI_BEST" 'BEGIN { exit !(a < b) }'; then
        TUI_BEST=$done_ms
        TUI_LINE=$(cat "$TUI_OUT")
    fi
done
rm -f "$TUI_OUT" "$TUI_OUT.time"
tui_field() { tr ' ' '\n' <<<"$TUI_LINE" | awk -v k="$1" 'prev == k { print; exit } { prev = $0 }'; }
TUI_FIRST_MS=$(tui_field first_row_ms)
TUI_DONE_S=$(awk -v ms="$TUI_BEST" 'BEGIN { printf "%.2f", ms / 1000 }')
TUI_DRAW_MEAN=$(tui_field draw_mean_ms)
TUI_DRAW_MAX=$(tui_field draw_max_ms)
TUI_VS_NDJSON=$(awk -v a="$TUI_DONE_S" -v b="$NDJSON_S" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')

echo "== peak RSS on $F2 ($B2 bytes, $T2 transactions)" >&2
read -r _ NDJSON2_KB < <(timed 1 "$CWMPSCOPE" analyze --format ndjson "$F2")
read -r _ JSON2_KB < <(timed 1 "$CWMPSCOPE" analyze --format json "$F2")

mbps() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? b / 1e6 / s : 0) }'; }
pps() { awk -v p="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? p / s : 0) }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

JSON_MBPS=$(mbps "$B1" "$JSON_S")
NDJSON_MBPS=$(mbps "$B1" "$NDJSON_S")
TCPDUMP_MBPS=$(mbps "$B1" "$TCPDUMP_S")
TSHARK_MBPS=$(mbps "$TS_B" "$TSHARK_S")
SLICE_JSON_MBPS=$(mbps "$TS_B" "$SLICE_JSON_S")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
VS_TSHARK=$(ratio "$JSON_MBPS" "$TSHARK_MBPS")
VS_TCPDUMP=$(ratio "$JSON_MBPS" "$TCPDUMP_MBPS")
NDJSON_GROWTH=$(ratio "$NDJSON2_KB" "$NDJSON_KB")
PER_TX=$(awk -v a="$JSON_KB" -v b="$JSON2_KB" -v t1="$T1" -v t2="$T2" \
    'BEGIN { printf "%.0f", (t2 > t1 ? (b - a) * 1024 / (t2 - t1) : 0) }')

verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }

{
    echo "capture: $F1"
    echo "  $B1 bytes, $P1 packets, $T1 transactions; double: $B2 bytes, $T2 transactions"
    echo "  $(cat "$F1.stats")"
    echo "tshark slice: $TS_B bytes, $TS_P packets"
    echo "load average before / after: $LOAD_BEFORE / $(cut -d" " -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
    echo
    printf '%-28s %10s %12s %14s\n' tool MB/s packets/s "peak RSS MB"
    printf '%-28s %10s %12s %14s\n' "cwmpscope --format json" "$JSON_MBPS" "$(pps "$P1" "$JSON_S")" "$(mb "$JSON_KB")"
    printf '%-28s %10s %12s %14s\n' "cwmpscope --format ndjson" "$NDJSON_MBPS" "$(pps "$P1" "$NDJSON_S")" "$(mb "$NDJSON_KB")"
    printf '%-28s %10s %12s %14s\n' "tcpdump -r -w /dev/null" "$TCPDUMP_MBPS" "$(pps "$P1" "$TCPDUMP_S")" "$(mb "$TCPDUMP_KB")"
    printf '%-28s %10s %12s %14s\n' "tshark (slice)" "$TSHARK_MBPS" "$(pps "$TS_P" "$TSHARK_S")" "$(mb "$TSHARK_KB")"
    printf '%-28s %10s %12s %14s\n' "cwmpscope json (slice)" "$SLICE_JSON_MBPS" "$(pps "$TS_P" "$SLICE_JSON_S")" "-"
    echo
    echo "ndjson by --threads (wall, speed-up over 1, CPU seconds; $(nproc) cores):"
    echo "$THREADS_LINE"
    echo "one shard of N (--threads 1, CPU seconds):"
    echo "$SHARDS_LINE"
    echo "merge of 4 shards = single run (ndjson, json):  $SHARDS_MERGE"
    echo "cwmpscope json vs tshark:   ${VS_TSHARK}x   (target >= 100x)   $(verdict "$VS_TSHARK >= 100")"
    echo "cwmpscope json vs tcpdump:  ${VS_TCPDUMP}   (target >= 0.50)   $(verdict "$VS_TCPDUMP >= 0.5")"
    echo "ndjson peak RSS:            $(mb "$NDJSON_KB") MB   (target < 100 MB)   $(verdict "$NDJSON_KB < 102400")"
    echo "ndjson RSS, double capture: $(mb "$NDJSON2_KB") MB = ${NDJSON_GROWTH}x   (target <= 1.20x)   $(verdict "$NDJSON_GROWTH <= 1.2")"
    echo "json RSS growth:            $PER_TX bytes/transaction ($(mb "$JSON_KB") -> $(mb "$JSON2_KB") MB)   (target <= 2048)   $(verdict "$PER_TX <= 2048")"
    echo "tui: first row after:       $TUI_FIRST_MS ms   (target <= 1000)   $(verdict "$TUI_FIRST_MS <= 1000")"
    echo "tui: whole capture shown:   $TUI_DONE_S s = ${TUI_VS_NDJSON}x ndjson   (target <= 1.30x)   $(verdict "$TUI_VS_NDJSON <= 1.3")"
    echo "tui: peak RSS:              $(mb "$TUI_KB") MB   (target < 400 MB)   $(verdict "$TUI_KB < 409600")"
    echo "tui: frame drawing:         mean $TUI_DRAW_MEAN ms, max $TUI_DRAW_MAX ms over the run (cargo bench --bench tui_draw: 20,000 rows)"
} | tee "$BENCH_DIR/results-$SIZE-s$SEED.txt"

if [ "$KEEP" = 0 ]; then
    rm -f "$F1" "$F2" "$F1.stats" "$F2.stats"
    [ "$TS_FILE" = "$F1" ] || rm -f "$TS_FILE"
fi
