#!/usr/bin/env bash
# Monorepo scale: polc against `codex sandbox` on a generated tree, side by
# side in one loop (this box is noisy: only ratios of medians taken in
# the same run mean anything). The tree is internal/benchtree's 200,000-file
# one (SIZE=200k, the default) or its 1,000,000-file one (SIZE=1m, which
# make bench runs with POLC_BENCH_1M=1: it takes a few minutes to generate
# and to run), written under this script's own temporary directory and
# removed at the end; TREE=DIR measures an existing tree instead.
#
# The profile: the project writable, **/*.env denied, glob_scan_max_depth
# = 8. Each of the N rounds (default 5) runs, in turn:
#   codex    codex sandbox -- /bin/true
#   cold     polc exec -- /bin/true with the glob cache removed first
#   stat     polc exec -- /bin/true with the cache of the previous run
#            and no watcher: the launch stats every cached directory
#   warm     polc exec -- /bin/true in steady state: a cache written
#            before the rounds, whose watcher tells the launch which
#            directories changed (internal/globwalk, watch.go)
#   floor    one bare statx of every directory of the tree, by path, in
#            one thread (bench/statfloor: the least a warm launch that
#            revalidates every cached directory could do)
#   check    polc check on the project
#   build    polc build on the project (artifacts into a scratch dir)
# and prints each median, each ratio with the two medians behind it, and
# polc's peak resident memory (maximum over the rounds; the watcher's
# at the end). cold and stat run with POLC_NO_WATCHER=1 on a cache
# directory of their own, so that no watcher arms in the background
# while the rounds are timed. The goals (issue 16) are printed beside
# the ratios; at 1M files: cold <= 0.5x codex, warm <= 0.07x codex and
# <= 3x the floor, check and build <= 0.5x codex, peak memory <= 64 MiB.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-5}
SIZE=${SIZE:-200k}
command -v bwrap >/dev/null || { echo "bwrap not installed: skipped"; exit 0; }
if ! command -v codex >/dev/null; then
	echo "codex not installed: no side-by-side run"
	exit 0
fi
[ -x /usr/bin/time ] || { echo "/usr/bin/time not installed: skipped"; exit 0; }

# The world lives under /var/tmp: a :workspace profile makes /tmp writable.
work=$(mktemp -d /var/tmp/polc-bench-scale.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{home,tmp,cache,coldcache,codexhome,out}
POLC=${POLC:-}
if [ -z "$POLC" ]; then
	POLC=$work/polc
	make -s build BIN="$POLC" >/dev/null
fi
go build -o "$work/statfloor" ./bench/statfloor
if [ -n "${TREE:-}" ]; then
	tree=$(cd "$TREE" && pwd -P)
else
	tree=$work/tree
	flag=
	[ "$SIZE" = 1m ] && flag=-large
	echo "generating the $SIZE-file tree in $tree ..."
	t0=$(date +%s)
	go run ./bench/mktree $flag "$tree"
	echo "generated in $(($(date +%s) - t0)) s"
fi
find "$tree" -type d >"$work/dirs"
ndirs=$(wc -l <"$work/dirs")

cat >"$work/codexhome/config.toml" <<'TOML'
default_permissions = "scale"

[permissions.scale.filesystem]
":minimal" = "read"
":project_roots" = { "." = "write", "**/*.env" = "none" }
glob_scan_max_depth = 8
TOML
export CODEX_HOME="$work/codexhome" HOME="$work/home" TMPDIR="$work/tmp" XDG_CACHE_HOME="$work/cache"
cd "$tree"

now() { date +%s%N; }
# timed NAME CMD...: runs CMD under /usr/bin/time, appends its wall time
# (ns) to the series NAME and its peak RSS (KiB) to NAME_rss.
timed() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	/usr/bin/time -o "$work/rss" -f '%M' "$@" >/dev/null 2>"$work/err" || {
		echo "failed: $*" >&2
		cat "$work/err" >&2
		exit 1
	}
	t1=$(now)
	eval "$name+=($((t1 - t0)))"
	eval "${name}_rss+=($(tail -1 "$work/rss"))"
}
clearcache() { rm -f "$work"/coldcache/polc/globs/*.cache; }
nowatch=(env POLC_NO_WATCHER=1 XDG_CACHE_HOME="$work/coldcache")

declare -a codex cold stat warm floor pfloor check build codex_rss cold_rss stat_rss warm_rss check_rss build_rss
# One untimed round: the tree's metadata is then as warm in the page and
# dentry caches for every contender, and polc's executable on huge pages
# (a new build's first launch leaves the primer that puts it there,
# which runs while codex does: internal/hugetext).
codex sandbox -P scale -C "$tree" -- /bin/true >/dev/null
"$POLC" exec -P scale -C "$tree" -- /bin/true
codex sandbox -P scale -C "$tree" -- /bin/true >/dev/null
POLC_DEBUG_BWRAP=1 "$POLC" exec -P scale -C "$tree" -- /bin/true 2>&1 | grep '^polc: own code: ' || true
# Steady state for warm: launches until one is served by the watcher
# (the first ones may leave a primer instead, then start it).
served=0
for ((i = 0; i < 20; i++)); do
	if POLC_DEBUG_BWRAP=1 "$POLC" exec -P scale -C "$tree" -- /bin/true 2>&1 | grep '^polc: change feed: '; then
		served=1
		break
	fi
	sleep 1
done
((served)) || echo "no watcher served a launch: warm is a stat pass too"
for ((i = 0; i < N; i++)); do
	timed codex codex sandbox -P scale -C "$tree" -- /bin/true
	clearcache
	timed cold "${nowatch[@]}" "$POLC" exec -P scale -C "$tree" -- /bin/true
	timed stat "${nowatch[@]}" "$POLC" exec -P scale -C "$tree" -- /bin/true
	timed warm "$POLC" exec -P scale -C "$tree" -- /bin/true
	{ read -r f; read -r pf; } < <("$work/statfloor" -parallel "$(nproc)" "$work/dirs")
	floor+=("$f")
	pfloor+=("$pf")
	timed check "$POLC" check -P scale -C "$tree"
	timed build "$POLC" build -P scale -C "$tree" -o "$work/out"
done

median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
maxof() { printf '%s\n' "$@" | sort -n | tail -1; }
ms() { awk -v n="$1" 'BEGIN { printf "%.1f ms", n / 1e6 }'; }
# row LABEL A B GOAL: the ratio A/B with both medians. The goals are set
# for the 1,000,000-file tree; on a smaller one they are only printed
# (there the launch's fixed costs, such as one mount per match, weigh
# more than the walk).
large=0
((ndirs >= 100000)) && large=1
row() {
	awk -v l="$1" -v a="$2" -v b="$3" -v g="$4" -v large="$large" 'BEGIN {
		r = a / b
		verdict = g == "-" ? "" : "goal at 1M files <= " g (!large || r <= g + 0 ? "" : "  MISSED")
		printf "%-24s %7.3fx  (%8.1f ms / %8.1f ms)  %s\n", l, r, a / 1e6, b / 1e6, verdict
	}'
}
mc=$(median "${codex[@]}"); mcold=$(median "${cold[@]}"); mwarm=$(median "${warm[@]}"); mstat=$(median "${stat[@]}")
mf=$(median "${floor[@]}"); mpf=$(median "${pfloor[@]}")
mchk=$(median "${check[@]}"); mbld=$(median "${build[@]}")
echo
echo "tree: $(find "$tree" -type f | wc -l) files, $ndirs directories, $(find "$tree" -name '*.env' | wc -l) .env; $N rounds, $(nproc) cores; medians:"
echo "  codex sandbox $(ms "$mc"), polc cold $(ms "$mcold"), stat pass $(ms "$mstat"), warm $(ms "$mwarm"), check $(ms "$mchk"), build $(ms "$mbld")"
echo "  floor: statx of $ndirs directories $(ms "$mf") in one thread, $(ms "$mpf") on $(nproc)"
row "cold / codex" "$mcold" "$mc" 0.5
row "warm / codex" "$mwarm" "$mc" 0.07
row "warm / floor" "$mwarm" "$mf" 3
row "warm / parallel floor" "$mwarm" "$mpf" "-"
row "stat pass / codex" "$mstat" "$mc" "-"
row "stat pass / floor" "$mstat" "$mf" "-"
row "check / codex" "$mchk" "$mc" 0.5
row "build / codex" "$mbld" "$mc" 0.5
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
wpid=$(pgrep -f "__polc-watch $work/" | head -1 || true)
wrss=0
[ -n "$wpid" ] && wrss=$(ps -o rss= -p "$wpid" | tr -d ' ')
echo "peak RSS: polc cold $(mib "$(maxof "${cold_rss[@]}")"), stat pass $(mib "$(maxof "${stat_rss[@]}")"), warm $(mib "$(maxof "${warm_rss[@]}")"), the watcher $(mib "$wrss"), check $(mib "$(maxof "${check_rss[@]}")"), build $(mib "$(maxof "${build_rss[@]}")") (goal at 1M files <= 64 MiB); codex $(mib "$(maxof "${codex_rss[@]}")")"
