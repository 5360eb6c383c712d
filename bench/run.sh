#!/usr/bin/env bash
# make bench's script part: runs every bench/*.sh side-by-side comparison
# (polc against bare bwrap and the reference, when installed). Each script
# prints ratios, not single times: these machines are noisy.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for s in bench/*.sh; do
	[ "$s" = bench/run.sh ] && continue
	echo "== $s"
	bash "$s" || status=1
done
exit $status
