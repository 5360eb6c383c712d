// Package golden holds polc's golden cases: one txtar file per case under
// testdata/, holding the inputs (config.toml, an optional
// requirements.toml, a file tree, command-line arguments, paths to
// explain) and every stage's output (diagnostics, the ir.Policy as
// canonical JSON, the glob expansion, explain results, and one section per
// registered backend's artifact). `go test ./golden -update` rewrites the
// outputs; review the diff like any code change.
package golden
