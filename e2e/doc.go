// Package e2e runs polc end to end: it builds the polc binary and runs
// the shared conformance cases under `polc exec` with real bubblewrap
// (each case's world lives under /var/tmp, never /tmp, which the
// :workspace profile makes writable), plus the large-mask and launch
// checks that need a real sandbox. Tests skip when bwrap cannot run.
package e2e
