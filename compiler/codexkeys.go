package compiler

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"polc/internal/syntax"
)

// codexKeysJSON describes which keys the reference reads, table by table,
// in config.toml and requirements.toml, with the reference version it was
// taken from. It is the one list polc's key checks use: a key is unknown
// (POL004) only when the reference would not read it either.
//
//go:embed codexkeys.json
var codexKeysJSON []byte

// keyTable is one table of the description.
type keyTable struct {
	// Keys are the table's fields.
	Keys []string `json:"keys"`
	// Entries, when set, says the table also maps names of its own
	// (profile names, paths) to values; its other keys are not fields.
	Entries string `json:"entries,omitempty"`
	// Ignored are keys the reference accepts and drops.
	Ignored []string `json:"ignored,omitempty"`
	// Reserved are keys the reference refuses with an error of its own.
	Reserved []string `json:"reserved,omitempty"`
}

// keyDescription is the whole file.
type keyDescription struct {
	Reference    string               `json:"reference"`
	About        string               `json:"about"`
	Config       map[string]*keyTable `json:"config"`
	Requirements map[string]*keyTable `json:"requirements"`
}

// codexKeys is the parsed description, decoded when a check first needs
// it (not at start-up: polc's mask stage, which runs the same binary,
// never does); the file is part of the binary, so a malformed one is a
// build defect and panics (a test loads it).
var codexKeys = sync.OnceValue(func() *keyDescription {
	var d keyDescription
	if err := json.Unmarshal(codexKeysJSON, &d); err != nil {
		panic(fmt.Sprintf("compiler: codexkeys.json: %v", err))
	}
	if d.Reference == "" || d.Config[""] == nil || d.Requirements[""] == nil {
		panic("compiler: codexkeys.json lacks the reference version or a top-level table")
	}
	for _, tabs := range []map[string]*keyTable{d.Config, d.Requirements} {
		for _, t := range tabs {
			sort.Strings(t.Keys)
		}
	}
	return &d
})

// ReferenceVersion names the reference release the key description was
// taken from (POL004's fix names it).
func ReferenceVersion() string { return codexKeys().Reference }

// inputKind says which file a table belongs to.
type inputKind int

const (
	configFile inputKind = iota
	requirementsFile
)

// keysOf returns the description of the table at path ("" is the top
// level; a profile's tables are "permissions.*...."), or nil when the
// description does not list it.
func keysOf(kind inputKind, path string) *keyTable {
	if kind == requirementsFile {
		return codexKeys().Requirements[path]
	}
	return codexKeys().Config[path]
}

// knownKeys lists the fields of the table at path (nil when the table is
// not described).
func knownKeys(kind inputKind, path string) []string {
	if t := keysOf(kind, path); t != nil {
		return t.Keys
	}
	return nil
}

// knownKey reports whether the reference reads key in the table at path:
// a field, or a key it accepts and ignores.
func knownKey(kind inputKind, path, key string) bool {
	t := keysOf(kind, path)
	if t == nil {
		return false
	}
	i := sort.SearchStrings(t.Keys, key)
	return i < len(t.Keys) && t.Keys[i] == key || contains(t.Ignored, key)
}

// checkKeys reports every key of t that the reference does not read in
// the table at path (POL004, with the nearest known key as a fix). name
// is how the table is written in messages ("" for the top level).
func (s *state) checkKeys(kind inputKind, path, name string, t *syntax.Tab) {
	for _, k := range t.Keys() {
		if !knownKey(kind, path, k) {
			s.unknownKeyIn(t.Get(k), name, k, knownKeys(kind, path), false)
		}
	}
}
