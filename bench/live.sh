#!/usr/bin/env bash
# Live-capture benchmark: tcpreplay replays the campaign capture onto an interface at a fixed
# rate while `cwmpscope live` captures it; reports packets sent, cwmpscope's drop counters and
# transactions found against transactions generated.
#
#   bench/live.sh [SIZE]        SIZE: capture size, bytes or with K/M/G (powers of 1024); 200M
#
# Environment: BENCH_DIR (default target/bench, captures shared with bench/run.sh), SEED (1),
#   IFACE (lo), MBPS (1000), FILTER (BPF filter given to cwmpscope live -f; default none),
#   SETTLE (seconds to wait before and after the replay; 3).
#
# Needs root (or capture capabilities) for tcpreplay and the capture, tcpreplay
# (apt-get install -y tcpreplay), libpcap-dev to build `--features live`. Uses no network
# beyond the chosen interface, installs nothing.
set -euo pipefail

SIZE_ARG=${1:-200M}
SEED=${SEED:-1}
IFACE=${IFACE:-lo}
MBPS=${MBPS:-1000}
FILTER=${FILTER:-}
SETTLE=${SETTLE:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-$ROOT/target/bench}

die() { echo "live bench: $*" >&2; exit 2; }
skip() { echo "live bench: skipped: $*" >&2; exit 0; }

# shellcheck source=bench/common.sh
. "$(dirname "$0")/common.sh"
SIZE=$(to_bytes "$SIZE_ARG") || die "not a size: $SIZE_ARG"

command -v cargo >/dev/null || die "cargo is missing"
command -v tcpreplay >/dev/null || skip "tcpreplay is missing (apt-get install -y tcpreplay)"
[ "$(id -u)" = 0 ] || skip "needs root to replay onto and capture from $IFACE"
[ -e "/sys/class/net/$IFACE" ] || die "no interface $IFACE"

echo "== building release binaries with --features live" >&2
(cd "$ROOT" && cargo build --release --quiet -p cwmpscope-synth --bin cwmpscope-capgen) \
    || die "cwmpscope-capgen does not build"
if ! (cd "$ROOT" && cargo build --release --features live --quiet -p cwmpscope --bin cwmpscope); then
    skip "cwmpscope does not build with --features live here (libpcap-dev missing?)"
fi
CWMPSCOPE=$ROOT/target/release/cwmpscope
CAPGEN=$ROOT/target/release/cwmpscope-capgen
"$CWMPSCOPE" live --help >/dev/null 2>&1 \
    || skip "this cwmpscope has no live subcommand (built without the live feature)"

mkdir -p "$BENCH_DIR"
F=$BENCH_DIR/campaign-$SIZE-s$SEED.pcap
if [ ! -s "$F" ] || [ ! -s "$F.stats" ]; then
    echo "== generating $F" >&2
    "$CAPGEN" bench --size "$SIZE" --seed "$SEED" -o "$F.tmp" >"$F.stats.tmp"
    mv "$F.tmp" "$F"
    mv "$F.stats.tmp" "$F.stats"
fi
stat_of() { tr ' ' '\n' <"$F.stats" | awk -F= -v k="$1" '$1 == k { print $2 }'; }

OUT=$BENCH_DIR/live-$SIZE-s$SEED.ndjson
ERR=$BENCH_DIR/live-$SIZE-s$SEED.stderr
REPLAY=$BENCH_DIR/live-$SIZE-s$SEED.tcpreplay
args=(live -i "$IFACE" --format ndjson)
[ -n "$FILTER" ] && args+=(-f "$FILTER")

echo "== cwmpscope ${args[*]}" >&2
"$CWMPSCOPE" "${args[@]}" >"$OUT" 2>"$ERR" &
LIVE_PID=$!
trap 'kill -INT "$LIVE_PID" 2>/dev/null || true' EXIT
sleep "$SETTLE"
kill -0 "$LIVE_PID" 2>/dev/null || { cat "$ERR" >&2; die "cwmpscope live exited early"; }

echo "== tcpreplay -i $IFACE --mbps $MBPS $F" >&2
tcpreplay -i "$IFACE" --mbps "$MBPS" "$F" >"$REPLAY" 2>&1 || { cat "$REPLAY" >&2; die "tcpreplay failed"; }
sleep "$SETTLE"
kill -INT "$LIVE_PID" 2>/dev/null || true
wait "$LIVE_PID" || true
trap - EXIT

FOUND=$(grep -c '"type":"transaction"' "$OUT" || true)
echo "capture: $F ($(stat -c %s "$F") bytes)"
echo "generated: $(cat "$F.stats")"
echo "tcpreplay:"
grep -E 'Actual|Rated|Failed packets|Retried' "$REPLAY" | sed 's/^/  /'
echo "cwmpscope live (stderr at exit):"
grep -iE 'drop|packets|received|captured' "$ERR" | sed 's/^/  /' || echo "  (no counters printed)"
echo "transactions: found $FOUND of $(stat_of transactions) generated"
grep '"type":"summary"' "$OUT" | head -c 400 | sed 's/^/summary: /' || true
echo
