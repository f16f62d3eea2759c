#!/usr/bin/env bash
# Soak: an endless-like input through a pipe, memory sampled as it goes.
#
#   bench/soak.sh [SIZE]         SIZE: bytes generated, or with K/M/G (powers of 1024); 20G
#
# cwmpscope-capgen writes the benchmark campaign to a pipe (nothing of it goes to disk) into
#   ndjson: cwmpscope analyze -r - --format ndjson, its output counted by a line counter;
#   tui:    the interactive view without a terminal (examples/tui_headless.rs) reading stdin,
#           keeping at most 20000 rows as `cwmpscope tui` does on stdin.
# Every INTERVAL seconds the reader's VmRSS and VmHWM (/proc/PID/status) and the bytes it has
# read (rchar, /proc/PID/io) go to a CSV. At the end, for each mode: RSS once BASELINE bytes
# were read, peak RSS (VmHWM), their ratio against 1.10; transactions generated (capgen's
# counts line) against transactions reported (NDJSON lines of type transaction; transactions
# the view received); wall time and MB/s; RSS over the second half of the input (flat once
# every bound is reached, whenever that is); the RSS curve every GiB (every tenth of the input
# when it is smaller than 10 GiB).
#
# Environment:
#   SOAK_DIR   where CSVs and results go (default: target/soak)
#   SEED       generator seed (default 1)
#   INTERVAL   seconds between samples (default 2; 0.2 below 4 GiB)
#   BASELINE   bytes read before the reference RSS is taken (default 2G, at most half of SIZE)
#   MODES      modes to run, in order (default "ndjson tui")
#   NICE       niceness of the generator and the reader (default 10)
#   MAX_ROWS   rows the view keeps at most (default: as `cwmpscope tui` on stdin, 20000)
#
# Needs cargo and GNU time as /usr/bin/time (peak RSS between samples); uses no network and
# writes no capture to disk. Exit status 1 when a check fails.
set -euo pipefail

SIZE_ARG=${1:-20G}
SEED=${SEED:-1}
MODES=${MODES:-ndjson tui}
NICE=${NICE:-10}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SOAK_DIR=${SOAK_DIR:-$ROOT/target/soak}

die() { echo "soak: $*" >&2; exit 2; }

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
SIZE=$(to_bytes "$SIZE_ARG") || die "not a size: $SIZE_ARG"
[ "$SIZE" -gt 0 ] || die "not a size: $SIZE_ARG"
BASELINE=$(to_bytes "${BASELINE:-2G}") || die "not a size: $BASELINE"
[ "$BASELINE" -le $(( SIZE / 2 )) ] || BASELINE=$(( SIZE / 2 ))
# Every 2 s; finer on small inputs, which take seconds.
INTERVAL=${INTERVAL:-$(( SIZE >= (4 << 30) ? 2 : 0 ))}
[ "$INTERVAL" != 0 ] || INTERVAL=0.2
for mode in $MODES; do
    case "$mode" in ndjson | tui) ;; *) die "unknown mode: $mode (ndjson, tui)" ;; esac
done
[ -r /proc/self/status ] && [ -r /proc/self/io ] || die "needs /proc/PID/status and /proc/PID/io (Linux)"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (apt-get install -y time)"
command -v cargo >/dev/null 2>&1 || die "cargo is missing (install Rust: https://rustup.rs)"
mkdir -p "$SOAK_DIR"
SOAK_DIR=$(cd "$SOAK_DIR" && pwd)

build_release "$ROOT"
BIN=$ROOT/target/release

WORK=$(mktemp -d "$SOAK_DIR/run.XXXXXX")
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Field of a /proc status file, in kB (0 once the process is gone).
status_kb() { awk -v k="$2:" '$1 == k { print $2; found = 1 } END { if (!found) print 0 }' "$1" 2>/dev/null || echo 0; }

# Runs one mode; writes $SOAK_DIR/soak-MODE-SIZE-sSEED.csv and sets the R_* results.
soak() {
    local mode=$1
    local csv=$SOAK_DIR/soak-$mode-$SIZE-s$SEED.csv
    local gen_err=$WORK/capgen.err count=$WORK/count out=$WORK/reader.out err=$SOAK_DIR/soak-$mode-stderr.log
    rm -f "$WORK/pipe.in" "$WORK/pipe.out" "$count" "$out"
    mkfifo "$WORK/pipe.in" "$WORK/pipe.out"
    echo "elapsed_s,bytes_read,rss_kb,hwm_kb" >"$csv"
    echo "== $mode: $SIZE bytes through a pipe, sampled every ${INTERVAL} s into $csv" >&2
    local started
    started=$(date +%s.%N)
    nice -n "$NICE" "$BIN/cwmpscope-capgen" bench --size "$SIZE" --seed "$SEED" -o - \
        >"$WORK/pipe.in" 2>"$gen_err" &
    local gen=$!
    PIDS=("$gen")
    local command
    case "$mode" in
        ndjson) command=("$BIN/cwmpscope" analyze -r - --format ndjson) ;;
        tui) command=("$BIN/examples/tui_headless" - ${MAX_ROWS:+--max-rows "$MAX_ROWS"}) ;;
    esac
    # GNU time gives the exact peak; the samples, the curve.
    nice -n "$NICE" /usr/bin/time -f %M -o "$WORK/maxrss" "${command[@]}" \
        <"$WORK/pipe.in" >"$WORK/pipe.out" 2>"$err" &
    local timer=$!
    PIDS+=("$timer")
    # The NDJSON is counted, not kept; the view's one line is kept.
    if [ "$mode" = ndjson ]; then
        LC_ALL=C grep -c '^{"type":"transaction"' <"$WORK/pipe.out" >"$count" &
    else
        cat <"$WORK/pipe.out" >"$out" &
    fi
    local counter=$!
    PIDS+=("$counter")

    # The reader is time's child, started once the pipe is open.
    local reader="" tries=0
    while [ -z "$reader" ] && kill -0 "$timer" 2>/dev/null && [ "$tries" -lt 600 ]; do
        reader=$(cat "/proc/$timer/task/$timer/children" 2>/dev/null | awk '{ print $1 }')
        [ -n "$reader" ] || sleep 0.1
        tries=$(( tries + 1 ))
    done
    [ -n "$reader" ] || die "$mode: the reader did not start (see $err)"
    local now rchar rss hwm peak=0 base_rss="" base_at=""
    while kill -0 "$reader" 2>/dev/null; do
        now=$(date +%s.%N)
        rchar=$(awk '$1 == "rchar:" { print $2 }' "/proc/$reader/io" 2>/dev/null || true)
        rss=$(status_kb "/proc/$reader/status" VmRSS)
        hwm=$(status_kb "/proc/$reader/status" VmHWM)
        if [ -n "$rchar" ] && [ "$rss" -gt 0 ]; then
            echo "$(awk -v a="$now" -v b="$started" 'BEGIN { printf "%.1f", a - b }'),$rchar,$rss,$hwm" >>"$csv"
            [ "$hwm" -gt "$peak" ] && peak=$hwm
            if [ -z "$base_rss" ] && [ "$rchar" -ge "$BASELINE" ]; then
                base_rss=$rss
                base_at=$rchar
            fi
        fi
        sleep "$INTERVAL"
    done
    local reader_rc=0 gen_rc=0
    wait "$timer" || reader_rc=$?
    wait "$gen" || gen_rc=$?
    wait "$counter" || true
    PIDS=()
    local ended
    ended=$(date +%s.%N)
    [ "$reader_rc" -eq 0 ] || die "$mode: the reader failed with status $reader_rc (see $err)"
    [ "$gen_rc" -eq 0 ] || die "$mode: cwmpscope-capgen failed with status $gen_rc: $(tail -n 3 "$gen_err")"
    R_WALL=$(awk -v a="$ended" -v b="$started" 'BEGIN { printf "%.1f", a - b }')
    # capgen's counts line: cpes=N transactions=N ... bytes=N
    counts() { grep '^cpes=' "$gen_err" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
    R_BYTES=$(counts bytes)
    R_GENERATED=$(counts transactions)
    [ -n "$R_GENERATED" ] || die "$mode: no counts line from cwmpscope-capgen (see $gen_err)"
    if [ "$mode" = ndjson ]; then
        R_REPORTED=$(cat "$count")
        R_EXTRA=""
    else
        field() { tr ' ' '\n' <"$out" | awk -v k="$1" 'prev == k { print; exit } { prev = $0 }'; }
        R_REPORTED=$(field transactions)
        R_EXTRA="rows kept at the end $(field rows), released $(field released)"
    fi
    R_BASE=${base_rss:-0}
    R_BASE_AT=${base_at:-0}
    # time's figure covers the moments between samples; the samples' VmHWM when it is missing.
    R_PEAK=$(cat "$WORK/maxrss" 2>/dev/null | tail -n 1)
    [[ "$R_PEAK" =~ ^[0-9]+$ ]] && [ "$R_PEAK" -ge "$peak" ] || R_PEAK=$peak
    R_CSV=$csv
    R_LOAD=$(cut -d" " -f1-3 /proc/loadavg)
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }

# The RSS curve: the first sample at or past each step of the input (GiB or MiB read).
curve() {
    local csv=$1 step=$2 unit=$3
    awk -F, -v step="$step" -v unit="$unit" 'BEGIN { size = (unit == "GiB" ? 1073741824 : 1048576) }
        NR > 1 && $2 >= next_at {
            printf "  %8.1f %s read  %7.1f s  RSS %7.1f MiB\n", $2 / size, unit, $1, $3 / 1024
            while ($2 >= next_at) next_at += step
        }
        END { printf "  %8.1f %s read  %7.1f s  RSS %7.1f MiB (last sample)\n", $2 / size, unit, $1, $3 / 1024 }' "$csv"
}

# RSS at the first sample past half the input, the highest sample after it, and their ratio.
second_half() {
    awk -F, -v half=$(( $2 / 2 )) 'NR > 1 && $2 >= half {
            if (!start) start = $3
            if ($3 > high) high = $3
        }
        END { if (start) printf "RSS %.1f MiB at the middle, at most %.1f MiB after it (%.3f)", start / 1024, high / 1024, high / start; else print "no sample" }' "$1"
}

STEP=$(( SIZE >= (10 << 30) ? (1 << 30) : SIZE / 10 ))
UNIT=$([ "$SIZE" -ge $(( 4 << 30 )) ] && echo GiB || echo MiB)
RESULTS=$SOAK_DIR/results-$SIZE-s$SEED.txt
FAILED=0
: >"$RESULTS"
for mode in $MODES; do
    LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)
    soak "$mode"
    ratio=$(awk -v p="$R_PEAK" -v b="$R_BASE" 'BEGIN { printf "%.3f", (b > 0 ? p / b : 0) }')
    rss_ok=$(verdict "$R_BASE > 0 && $ratio <= 1.10")
    tx_ok=$(verdict "$R_REPORTED == $R_GENERATED")
    [ "$rss_ok" = PASS ] && [ "$tx_ok" = PASS ] || FAILED=1
    {
        echo "$mode: $R_BYTES bytes (seed $SEED) in $R_WALL s = $(awk -v b="$R_BYTES" -v s="$R_WALL" 'BEGIN { printf "%.1f", b / 1e6 / s }') MB/s, nice $NICE, load average before / after: $LOAD_BEFORE / $R_LOAD"
        echo "  RSS after $(mb $(( R_BASE_AT / 1024 ))) MiB read: $(mb "$R_BASE") MiB; peak: $(mb "$R_PEAK") MiB; ratio $ratio (target <= 1.10)   $rss_ok"
        echo "  transactions generated $R_GENERATED, reported $R_REPORTED   $tx_ok${R_EXTRA:+   ($R_EXTRA)}"
        echo "  second half of the input: $(second_half "$R_CSV" "$R_BYTES")"
        echo "  RSS curve ($R_CSV):"
        curve "$R_CSV" "$STEP" "$UNIT"
        echo
    } | tee -a "$RESULTS"
done
echo "results: $RESULTS" >&2
exit "$FAILED"
