#!/usr/bin/env bash
# Deny-glob expansion on a 200,000-file tree (DESIGN §6). Prints ratios:
#   - 15 globs vs 1 glob in one walk (bar: at most 1.3x)
#   - warm (cached, revalidated) vs cold (bar: at most 0.1x)
#   - polc cold expansion vs the reference's ~0.35 s, and, when `codex` is
#     installed, vs `codex sandbox` with a **/*.env deny profile and no
#     glob_scan_max_depth on the same tree (bar: at most 0.7x).
# Each figure is the best of COUNT runs (default 5): on a shared machine
# the minimum is the least disturbed measurement. cpu-ms/op is the
# process's user+system CPU per expansion, which neighbours disturb less
# than wall time.
set -uo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-5}
export POLC_BENCH_TREE=${POLC_BENCH_TREE:-/var/tmp/polc-globwalk-bench-200k}

out=$(go test -run '^$' -bench 'ExpandCold1$|ExpandCold15$|ExpandWarm1$|ExpandWarm15$' \
	-benchmem -count "$COUNT" ./internal/globwalk 2>&1)
status=$?
echo "$out" | grep -E '^Benchmark'
if [ $status -ne 0 ]; then
	echo "$out" | tail -20
	exit 1
fi

# best NAME FIELD: the minimum of the value printed before unit FIELD.
best() {
	echo "$out" | awk -v name="$1" -v unit="$2" '
		$1 ~ "^Benchmark"name"(-[0-9]+)?$" {
			for (i = 3; i <= NF; i++) if ($i == unit) { v = $(i-1) + 0; if (min == "" || v < min) min = v }
		}
		END { print (min == "" ? 0 : min) }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

c1=$(best ExpandCold1 ns/op); c15=$(best ExpandCold15 ns/op)
w1=$(best ExpandWarm1 ns/op); w15=$(best ExpandWarm15 ns/op)
cc1=$(best ExpandCold1 cpu-ms/op); cc15=$(best ExpandCold15 cpu-ms/op)
cw1=$(best ExpandWarm1 cpu-ms/op); cw15=$(best ExpandWarm15 cpu-ms/op)
ms() { awk -v n="$1" 'BEGIN { printf "%.1f ms", n / 1e6 }'; }

echo
echo "cold, 1 glob:   $(ms "$c1") wall, ${cc1} cpu-ms"
echo "cold, 15 globs: $(ms "$c15") wall, ${cc15} cpu-ms"
echo "warm, 1 glob:   $(ms "$w1") wall, ${cw1} cpu-ms"
echo "warm, 15 globs: $(ms "$w15") wall, ${cw15} cpu-ms"
echo
echo "15 globs / 1 glob (cold):   $(ratio "$c15" "$c1")x wall, $(ratio "$cc15" "$cc1")x cpu   (bar 1.3x)"
echo "warm / cold (1 glob):       $(ratio "$w1" "$c1")x wall, $(ratio "$cw1" "$cc1")x cpu   (bar 0.1x)"
echo "warm / cold (15 globs):     $(ratio "$w15" "$c15")x wall, $(ratio "$cw15" "$cc15")x cpu"
echo "cold / reference 0.35 s:    $(ratio "$c1" 350000000)x   (bar 0.7x)"

if ! command -v codex >/dev/null 2>&1; then
	echo "codex not installed: no side-by-side run"
	exit 0
fi

work=$(mktemp -d /var/tmp/polc-bench-globs.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home" "$work/empty"
cat >"$work/home/config.toml" <<'EOF'
default_permissions = "globs"

[permissions.globs.filesystem]
":minimal" = "read"
":workspace_roots" = { "." = "write", "**/*.env" = "deny" }
EOF

# best_run DIR: the fastest of COUNT `codex sandbox ... -- /bin/true`, in ns.
best_run() {
	local min=0 t0 t1 d
	for _ in $(seq "$COUNT"); do
		t0=$(date +%s%N)
		CODEX_HOME="$work/home" codex sandbox -P globs -C "$1" -- /bin/true >/dev/null 2>&1 || {
			echo "codex sandbox failed in $1" >&2
			return 1
		}
		t1=$(date +%s%N)
		d=$((t1 - t0))
		if [ "$min" -eq 0 ] || [ "$d" -lt "$min" ]; then min=$d; fi
	done
	echo "$min"
}
tree_ns=$(best_run "$POLC_BENCH_TREE") || exit 1
empty_ns=$(best_run "$work/empty") || exit 1
scan_ns=$((tree_ns - empty_ns))
echo
echo "codex sandbox, 200k tree:   $(ms "$tree_ns")"
echo "codex sandbox, empty dir:   $(ms "$empty_ns")  (so its scan costs about $(ms "$scan_ns"))"
echo "polc cold / codex sandbox on the tree:  $(ratio "$c1" "$tree_ns")x   (bar 0.7x)"
echo "polc cold / codex's scan alone:         $(ratio "$c1" "$scan_ns")x"
echo "polc warm / codex sandbox on the tree:  $(ratio "$w1" "$tree_ns")x"
