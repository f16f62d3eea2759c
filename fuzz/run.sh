#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after the other, and prints
# per target the executions, the seconds it ran and what it found.
#
#   fuzz/run.sh SECONDS [TARGET...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); works on the stable toolchain with
# no sanitizer (`-s none`). Builds the seed corpora first if fuzz/corpus/ is missing. Runs at
# the lowest CPU priority. libFuzzer runs in fork mode and goes on after a crash, a hang
# (over 1 s for one input) or running out of memory (over 2 GiB); each such input is written
# to fuzz/artifacts/TARGET/. Keep the ones that matter in fuzz/regressions/TARGET/ (FUZZING.md).
set -uo pipefail
seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

all=(capture_reader frame_decode tcp_reassembly http_streams http_auth cwmp_xml tls_streams
     tls_handshake tls_keylog pipeline)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

# Dictionaries and the longest input, per target.
declare -A dict=(
    [http_streams]=http [http_auth]=http [tls_streams]=http [cwmp_xml]=soap
    [pipeline]=both [capture_reader]=none [frame_decode]=none [tcp_reassembly]=http
    [tls_handshake]=none [tls_keylog]=keylog
)
declare -A max_len=(
    [capture_reader]=65536 [pipeline]=65536 [frame_decode]=65536 [tcp_reassembly]=65536
    [http_streams]=65536 [tls_streams]=65536 [cwmp_xml]=16384 [http_auth]=4096
    [tls_handshake]=16384 [tls_keylog]=8192
)
cat dict/http.dict dict/soap.dict > dict/both.dict

[ -d corpus ] || ./seed-corpus.sh
# A panic prints no backtrace: symbolizing one can outlast the 1 s timeout and hang libFuzzer.
export RUST_BACKTRACE=0
nice -n 19 cargo fuzz build -s none >/dev/null 2>&1 || { echo "cargo fuzz build failed" >&2; exit 1; }

status=0
printf '%-16s %14s %8s %s\n' target executions seconds found
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    flags=(-max_total_time="$seconds" -timeout=1 -rss_limit_mb=2048 -max_len="${max_len[$t]:-65536}"
           -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1
           -print_final_stats=1)
    [ "${dict[$t]:-none}" != none ] && flags+=(-dict="dict/${dict[$t]}.dict")
    before=$(ls "artifacts/$t" | wc -l)
    log="artifacts/$t.$$.log"   # per run, so two runs of one target can share the corpus
    nice -n 19 cargo fuzz run -s none "$t" "corpus/$t" -- "${flags[@]}" >"$log" 2>&1
    # Fork mode reports the executions and seconds so far on lines like
    # "#12345: cov: ... time: 42s job: ...".
    execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
    elapsed=$(grep -oE 'time: [0-9]+s' "$log" | tail -1 | grep -oE '[0-9]+')
    found=$(ls "artifacts/$t" | wc -l)
    new=$(( found - before ))
    what="nothing"
    if [ "$new" -gt 0 ]; then
        what="$new new: $(ls -t "artifacts/$t" | head -n "$new" | tr '\n' ' ')"
        status=1
    fi
    printf '%-16s %14s %8s %s\n' "$t" "${execs:-?}" "${elapsed:-?}" "$what"
done
exit $status
