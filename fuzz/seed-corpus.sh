#!/usr/bin/env bash
# Builds the seed corpora in fuzz/corpus/TARGET/ from the repository's captures (whole files
# for the reader and pipeline targets; frames, segments, connection streams, bodies, header
# values, handshakes and key logs extracted from them for the others). Idempotent: seeds are
# named by their content's hash, and what the fuzzer added to a corpus is kept.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cargo build --release --quiet --manifest-path "$here/Cargo.toml" --example seed_corpus
"$here/target/release/examples/seed_corpus" "$here/../captures" "$here/corpus"
