#!/usr/bin/env bash
# Runs every fuzz target for a bounded time: scripts/fuzz.sh [DURATION] (default 20s each).
# Each owner appends one `fuzz PKG TARGET` line for their target.
set -euo pipefail
cd "$(dirname "$0")/.."
t=${1:-20s}
fuzz() { echo "== $2 ($1)"; go test -run '^$' -fuzz "^$2\$" -fuzztime "$t" "$1"; }
fuzz ./artifact FuzzDecodeEnvelope
fuzz ./internal/globwalk FuzzExpandPattern
fuzz ./internal/syntax FuzzParse
fuzz ./compiler FuzzFilesystemKey
fuzz ./backends/seatbelt/sbpl FuzzParse
fuzz ./backends/windows FuzzDecodeBind
fuzz ./backends/seatbelt FuzzGlobRegex
fuzz ./backends/seatbelt FuzzEvaluator
fuzz ./ir FuzzDecideNet
