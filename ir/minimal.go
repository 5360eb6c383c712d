package ir

// MinimalRoots are the system directories the :minimal special makes
// readable on each platform. Each backend owns its platform's entry.
//
// Linux: Codex's LINUX_PLATFORM_DEFAULT_READ_ROOTS (linux-sandbox).
// macOS: the paths of Codex's read-only platform-defaults SBPL fragment.
// Windows: the system directories a process needs to start.
var MinimalRoots = map[string][]string{
	"linux": {"/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64", "/nix/store", "/run/current-system/sw"},
	"macos": {"/bin", "/sbin", "/usr/bin", "/usr/sbin", "/usr/libexec", "/usr/lib", "/usr/share",
		"/System/Library", "/System/iOSSupport", "/Library/Apple", "/Library/Filesystems/NetFSPlugins",
		"/Library/Preferences", "/private/etc", "/private/var/db", "/opt/homebrew/lib", "/usr/local/lib", "/Applications"},
	"windows": {"C:/Windows", "C:/Program Files", "C:/Program Files (x86)", "C:/ProgramData/Microsoft"},
}
