#!/usr/bin/env bash
# polc exec -- /bin/true on the seed profile, against a bare bwrap run with
# the same mounts, and against `codex sandbox` when it is installed. The
# three run alternately in one loop (this box is noisy), then the medians
# and their ratios are printed (with the polc/bwrap ratio of each round's
# pair, whose quartiles show the noise). Targets: polc <= 2x bare bwrap, and
# <= 0.1x codex sandbox. polc's inner stage (POLC_EXEC_STAGE=inner: polc
# again inside the sandbox, which polc uses above bwrap.MaxDirectMasks
# masks) is timed too. MASKS=n adds n more files the deny glob matches
# (to see where the inner stage starts to pay: MASKS=13, MASKS=30).
# polc's times include its check, before the command starts, that every
# hidden path is covered (the bare run has none).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-30}
command -v bwrap >/dev/null || { echo "bwrap not installed: skipped"; exit 0; }

# The world lives under /var/tmp: the :workspace profile makes /tmp writable.
root=$(mktemp -d /var/tmp/polc-bench-exec.XXXXXX)
trap 'rm -rf "$root"' EXIT
# The binary measured is the one `make build` makes (POLC=... for another).
if [ -z "${POLC:-}" ]; then
	POLC=$root/polc
	make -s build BIN="$POLC" >/dev/null
fi
mkdir -p "$root"/{proj/sub/deep,proj/.git,home,tmp,codexhome}
touch "$root"/proj/{.env,a.txt} "$root"/proj/sub/x.env "$root"/proj/sub/deep/y.env "$root"/proj/.git/HEAD
if ((${MASKS:-0} > 0)); then
	mkdir -p "$root/proj/many"
	(cd "$root/proj/many" && seq -f 'f%05g.env' 1 "$MASKS" | xargs touch)
fi
cat >"$root/codexhome/config.toml" <<'TOML'
default_permissions = "workspace"

[permissions.workspace.filesystem]
":minimal" = "read"
":project_roots" = { "." = "write", "**/*.env" = "none" }
glob_scan_max_depth = 3
TOML
export CODEX_HOME="$root/codexhome" HOME="$root/home" TMPDIR="$root/tmp"
cd "$root/proj"

# The bare run: polc's own bwrap arguments and mounts, without polc
# around them: no seccomp, status or block descriptors, and each mask an
# --ro-bind of /dev/null (a mount all the same). Under the inner stage
# (more masks than bwrap takes itself) its masks become such binds too.
debug=$(POLC_DEBUG_BWRAP=1 "$POLC" exec -P workspace -C "$root/proj" -- /bin/true 2>&1 >/dev/null)
line=$(grep -E '^polc: (direct launch|mask stage): /' <<<"$debug" | sed -E 's/^polc: (direct launch|mask stage): //; s/ \([0-9]+ masks\)$//')
line=$(sed -E 's/ --(seccomp|json-status-fd|block-fd|info-fd) [0-9]+//g; s/ --file [0-9]+ \/dev\/null//; s/ --cap-add CAP_(SYS_ADMIN|SETPCAP)//g; s/ --as-pid-1//; s/--perms 0000 --ro-bind-data [0-9]+ /--ro-bind \/dev\/null /g' <<<"$line")
read -r -a bare <<<"$line"
while read -r _ _ m; do bare+=(--ro-bind /dev/null "$m"); done < <(grep '^polc: mask /' <<<"$debug" || true)
"${bare[@]}" -- /bin/true

# polc's steady state: its executable in the page cache as huge folios
# (internal/hugetext). A new build's first launch leaves a primer that
# runs once polc exits; wait for it, then print what a launch reports.
primer=$(sed -nE 's/^polc: own code: .*; primer ([0-9]+) starts when polc exits$/\1/p' <<<"$debug")
for ((w = 0; w < 500; w++)); do
	[ -n "$primer" ] && [ -e "/proc/$primer" ] && ! grep -q ') Z ' "/proc/$primer/stat" 2>/dev/null || break
	sleep 0.01
done
POLC_DEBUG_BWRAP=1 "$POLC" exec -P workspace -C "$root/proj" -- /bin/true 2>&1 >/dev/null | grep '^polc: own code: ' || true

have_codex=0
if command -v codex >/dev/null && codex sandbox -P workspace -C "$root/proj" -- /bin/true >/dev/null 2>&1; then
	have_codex=1
fi

# Timestamps in nanoseconds. Bash 5's EPOCHREALTIME costs no process:
# with $(date +%s%N) every interval would also hold a fork and a start
# of date (a few ms, hundreds under load), the same on both sides, which
# pulls their ratio towards 1.
if [ -n "${EPOCHREALTIME:-}" ]; then
	stamp() { now=${EPOCHREALTIME/[.,]/}000; }
else
	stamp() { now=$(date +%s%N); }
fi
# Whatever runs first in a round runs after codex sandbox (a Node
# process that leaves the caches cold) and takes a few ms more: polc and
# bare bwrap take turns at it, round by round.
runpolc() { stamp; local t=$now; "$POLC" exec -P workspace -C "$root/proj" -- /bin/true; stamp; tp+=($((now - t))); }
runbare() { stamp; local t=$now; "${bare[@]}" -- /bin/true; stamp; tb+=($((now - t))); }
declare -a tp tb tc ti
for ((i = 0; i < N; i++)); do
	if ((i % 2 == 0)); then
		runpolc; runbare
	else
		runbare; runpolc
	fi
	stamp; t2=$now
	POLC_EXEC_STAGE=inner "$POLC" exec -P workspace -C "$root/proj" -- /bin/true
	stamp; t3=$now
	ti+=($((t3 - t2)))
	if ((have_codex)); then
		stamp; t4=$now
		codex sandbox -P workspace -C "$root/proj" -- /bin/true >/dev/null 2>&1
		stamp; t5=$now
		tc+=($((t5 - t4)))
	fi
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mp=$(median "${tp[@]}"); mb=$(median "${tb[@]}")
mi=$(median "${ti[@]}")
awk -v p="$mp" -v b="$mb" 'BEGIN {printf "polc exec:    %6.1f ms\nbare bwrap:   %6.1f ms   polc/bwrap = %.2fx (target <= 2x)\n", p/1e6, b/1e6, p/b}'
# The same ratio round by round (polc and bare bwrap ran next to each
# other): its quartiles say how far this box's noise moves the figure.
paste -d' ' <(printf '%s\n' "${tp[@]}") <(printf '%s\n' "${tb[@]}") | awk '{print $1/$2}' | sort -n |
	awk '{r[NR]=$1} END {printf "              round by round: median %.2fx, quartiles %.2fx-%.2fx\n", r[int((NR+1)/2)], r[int((NR+3)/4)], r[int((3*NR+1)/4)]}'
awk -v i="$mi" -v b="$mb" 'BEGIN {printf "inner stage:  %6.1f ms   (forced; polc/bwrap = %.2fx)\n", i/1e6, i/b}'
status=0
awk -v p="$mp" -v b="$mb" 'BEGIN {exit !(p <= 2*b)}' || status=1
if ((have_codex)); then
	mc=$(median "${tc[@]}")
	awk -v p="$mp" -v c="$mc" 'BEGIN {printf "codex sandbox:%6.1f ms   polc/codex = %.3fx (target <= 0.1x)\n", c/1e6, p/c}'
else
	echo "codex sandbox: not installed, skipped"
fi
exit $status
