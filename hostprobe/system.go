package hostprobe

import "os"

// System is this host: files and the environment are read as they are;
// the trials (system_linux.go) run on Linux only and answer ErrNotLinux
// elsewhere (system_other.go).
func System() Probe { return system{} }

type system struct{}

func (system) ReadFile(name string) ([]byte, error) { return os.ReadFile(name) }

func (system) Exists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}

func (system) Getenv(key string) string { return os.Getenv(key) }

func (system) Uid() int { return os.Geteuid() }
