# Sourced by the benchmark scripts: sizes as bytes, and the release build they measure.

# A size in bytes: a number, or with K/M/G/T (powers of 1024; "1G", "1GB" and "1GiB" are the
# same). A shell arithmetic error (non-zero status) for anything else.
to_bytes() {
    local s=${1%iB}
    s=${s%B}
    case "$s" in
        *[kK]) echo $(( ${s%?} << 10 )) ;;
        *[mM]) echo $(( ${s%?} << 20 )) ;;
        *[gG]) echo $(( ${s%?} << 30 )) ;;
        *[tT]) echo $(( ${s%?} << 40 )) ;;
        *) echo $(( s )) ;;
    esac
}

# Builds the release binaries and the headless view (examples/tui_headless.rs) in ROOT.
build_release() {
    echo "== building release binaries" >&2
    (cd "$1" && cargo build --release --quiet -p cwmpscope -p cwmpscope-synth --bins \
        && cargo build --release --quiet -p cwmpscope --example tui_headless)
}
