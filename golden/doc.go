// Package golden holds polc's golden cases: one txtar file per case under
// testdata/, holding the inputs (config.toml, an optional
// requirements.toml, a file tree, command-line arguments, paths to
// explain, and an optional "full" list of platforms) and every stage's
// output: diagnostics, the ir.Policy, the glob expansion, explain
// results, and one section per backend. Outputs are compact (a rule, a
// mount, a mask or an ACL step a line). A backend's artifact is shown
// whole only where the case lists the platform in its "full" section,
// and as a digest elsewhere: each backend's own tests validate its
// artifact against ir.Decide on every golden world, so the digest only
// has to say that it changed. `go test ./golden -update` rewrites the
// outputs; review the diff like any code change.
package golden
