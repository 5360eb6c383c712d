#!/usr/bin/env bash
# make bench's script part: runs every bench/*.sh side-by-side comparison
# (polc against bare bwrap and the reference, when installed). Each script
# prints ratios, not single times: these machines are noisy.
# POLC_BENCH_1M=1 adds bench/scale.sh on the 1,000,000-file tree.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for s in bench/*.sh; do
	[ "$s" = bench/run.sh ] && continue
	echo "== $s"
	bash "$s" || status=1
done
# The monorepo-scale run on 1,000,000 files takes minutes (the tree is
# generated first): only when asked.
if [ "${POLC_BENCH_1M:-}" = 1 ]; then
	echo "== bench/scale.sh (1,000,000 files)"
	SIZE=1m bash bench/scale.sh || status=1
fi
exit $status
