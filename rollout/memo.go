package rollout

import (
	"crypto/sha256"
	"encoding/json"
	"os"
	"strings"
	"sync"
)

// memo is one config content's result, computed once.
type memo struct {
	once sync.Once
	file string
	res  Config
}

// configOnce checks an entry, or reuses the result of an entry whose
// config is the same bytes: a lone config file is compiled on the
// neutral host, so its result depends only on its content and its name,
// which is put back. Project trees are their own project directory (the
// host counts) and are always checked.
func (r *runner) configOnce(e *entry) Config {
	if e.problem != nil || e.dir != "" {
		return r.config(e)
	}
	files := e.files()
	if len(files) != 1 {
		return r.config(e)
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return r.config(e) // reported there, per file
	}
	h := sha256.New()
	kind := "file"
	if e.codexHome != "" {
		kind = "home"
	}
	h.Write([]byte(kind + "\x00"))
	h.Write(data)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	r.mu.Lock()
	m := r.seen[key]
	if m == nil {
		m = &memo{}
		r.seen[key] = m
	}
	r.mu.Unlock()
	first := false
	m.once.Do(func() {
		first = true
		// The compile takes the content read here, not reading it again.
		e.data = data
		m.file, m.res = files[0], r.config(e)
		e.data = nil
	})
	if first || m.file == files[0] {
		return m.res
	}
	c, ok := renamed(m.res, m.file, files[0], m.res.Path, e.path)
	if !ok {
		return r.config(e)
	}
	return c
}

// renamed is a copy of c with the config file (and the entry path) of
// the first entry replaced by this one's, wherever they appear.
func renamed(c Config, oldFile, newFile, oldPath, newPath string) (Config, bool) {
	b, err := json.Marshal(c)
	if err != nil {
		return Config{}, false
	}
	quote := func(s string) string {
		q, _ := json.Marshal(s)
		return string(q[1 : len(q)-1])
	}
	pairs := []string{quote(oldFile), quote(newFile)}
	if oldPath != oldFile {
		pairs = append(pairs, quote(oldPath), quote(newPath))
	}
	out := strings.NewReplacer(pairs...).Replace(string(b))
	var res Config
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return Config{}, false
	}
	return res, true
}
