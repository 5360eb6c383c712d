#!/usr/bin/env bash
# Checks compiler/codexkeys.json against the installed reference (codex on
# PATH): every key the description gives a checkable table must be read by
# the reference. A config key is read when `codex --strict-config` does not
# call it an unknown configuration field; a requirements key when a value
# of the wrong type makes codex refuse the file (requirements are read from
# /etc/codex, so that check runs in a private mount namespace and needs
# root and unshare). Prints each key the reference does not read; exit 1
# if there is one. Run it when the reference version changes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v codex >/dev/null || { echo "codex is not on PATH" >&2; exit 2; }
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 2; }
desc=compiler/codexkeys.json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "reference: $(jq -r .reference "$desc"); installed: $(codex --version)"

startup() { # CODEX_HOME-dir
	CODEX_HOME=$1 timeout 30 codex --strict-config app-server --print-startup-config </dev/null 2>&1
}

bad=0
# config.toml: TABLE-HEADER (empty for the top level), then keys.
config_table() {
	local header=$1 path=$2 k
	for k in $(jq -r --arg p "$path" '.config[$p].keys[]' "$desc"); do
		rm -rf "$work/h" && mkdir "$work/h"
		{ [ -n "$header" ] && printf '%s\n' "$header"; printf '%s = [[1]]\n' "$k"; } >"$work/h/config.toml"
		out=$(startup "$work/h") || true
		if grep -q 'unknown configuration field' <<<"$out"; then
			echo "config: $path.$k is not read by the reference"
			bad=1
		fi
	done
}
config_table "" ""
config_table "[sandbox_workspace_write]" sandbox_workspace_write
config_table "[auto_review]" auto_review
config_table "[approval_policy.granular]" approval_policy.granular
config_table '[projects."/nonexistent"]' 'projects.*'
config_table "[features]" features

# requirements.toml: top level, with a private /etc/codex.
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	mkdir -p "$work/etc"
	for k in $(jq -r '.requirements[""].keys[]' "$desc"); do
		printf '%s = [[1]]\n' "$k" >"$work/etc/requirements.toml"
		rm -rf "$work/rh" && mkdir "$work/rh"
		out=$(unshare -m --propagation private sh -c "mount --bind '$work/etc' /etc/codex && CODEX_HOME='$work/rh' timeout 60 codex app-server --print-startup-config </dev/null 2>&1") || true
		case $out in
		*"failed to parse"*) ;;
		*) echo "requirements: $k is not read by the reference (codex said: $(printf "%s" "$out" | tail -1 | cut -c1-200))"; bad=1 ;;
		esac
	done
else
	echo "requirements: skipped (needs root and unshare for a private /etc/codex)"
fi
exit $bad
