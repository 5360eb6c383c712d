#!/usr/bin/env bash
# make demo: polc's main job on the seed example (examples/seed): the
# project is writable and every .env file in it is unreadable, even one
# deeper than glob_scan_max_depth (the sandbox could have moved it there;
# the cap applies only where it cannot write). The demo copies the example into a
# scratch world (outside /tmp, which :workspace profiles make writable),
# then checks, builds, explains, and — where bubblewrap is usable — runs
# a command that shows a denied read. Last, a project layer of an
# untrusted project: explain says that exec will not load it. Then a
# network domain policy (examples/network), and an admin's rollout check
# on examples/rollout.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
polc="$here/bin/polc"
world=$(mktemp -d /var/tmp/polc-demo.XXXXXX)
trap 'rm -rf "$world"' EXIT

cp -R "$here/examples/seed/." "$world/"
mkdir -p "$world/proj/.git" "$world/home" "$world/tmp"
echo "ref: refs/heads/main" > "$world/proj/.git/HEAD"
export CODEX_HOME="$world/codexhome" HOME="$world/home" TMPDIR="$world/tmp"
cd "$world/proj"

# step shows a command as it would be typed, quoted.
step() { printf '\n\033[1m$'; printf ' %q' "$@"; printf '\033[0m\n'; }

step polc check
"$polc" check 2>&1 || true

step polc build --timings -o .polc
"$polc" build --timings -o .polc
ls .polc
step cat .polc/workspace.review.txt
cat .polc/workspace.review.txt

step polc explain .env sub/deep/deeper/z.env a.txt
"$polc" explain .env sub/deep/deeper/z.env a.txt
step polc explain --target linux sub/deep/deeper/z.env
"$polc" explain --target linux sub/deep/deeper/z.env
step polc explain --op write .git/HEAD a.txt
"$polc" explain --op write .git/HEAD a.txt

if bwrap --ro-bind / / --unshare-user true 2>/dev/null; then
	step polc exec -- sh -c 'cat a.txt; cat .env'
	"$polc" exec -- sh -c 'cat a.txt; cat .env' || echo "(exit status $?: the .env read was denied)"
	step polc exec -- sh -c 'echo hi > new.txt; echo hi > .git/HEAD'
	"$polc" exec -- sh -c 'echo hi > new.txt && echo wrote new.txt; echo hi > .git/HEAD' || echo "(exit status $?: .git stays read-only)"
else
	echo
	echo "bubblewrap is not usable here (install bubblewrap and allow user namespaces); skipping polc exec"
fi

# The project's own .codex/config.toml is read by check, build and explain,
# but polc exec (like Codex) loads it only for a trusted project: explain
# says so on one line, with the line that trusts the project.
mkdir -p .codex docs
printf '[permissions.workspace.filesystem.":workspace_roots"]\n"docs" = "read"\n' > .codex/config.toml
step polc explain --op write docs/notes.md
"$polc" explain --op write docs/notes.md

# A network that is a domain policy (examples/network): explain says what
# leaves and why before anything runs; exec sends the command's requests
# through polc's own proxy, which refuses what the rules do not allow with
# a 403 and one line on stderr naming the rule (an allowed host that this
# machine cannot reach would answer 502).
export CODEX_HOME="$here/examples/network/codexhome"
step polc explain --net pkg.example.com --net upload.pkg.example.com --net elsewhere.example.org
"$polc" explain --net pkg.example.com --net upload.pkg.example.com --net elsewhere.example.org || true
if command -v curl >/dev/null && bwrap --ro-bind / / --unshare-user true 2>/dev/null; then
	step polc exec -- curl -s -o /dev/null -w '%{http_code}\n' http://upload.pkg.example.com/
	"$polc" exec -- curl -s -o /dev/null -w '%{http_code}\n' http://upload.pkg.example.com/ || true
fi

# An admin before a rollout (examples/rollout): three users' configs, the
# requirements in force, and the change to roll out. polc rollout says per
# config, profile and platform what the change does: Alice's config would
# no longer start (refused, with her line and the requirement's), Bob's
# loses his approval setting (narrowed), Carol's is unchanged.
cd "$here/examples/rollout"
step polc rollout --requirements new-requirements.toml --baseline old-requirements.toml corpus
"$polc" rollout --requirements new-requirements.toml --baseline old-requirements.toml corpus || echo "(exit status $?: a config would be refused)"
