package ir

// MinimalRoots are the system directories the :minimal special makes
// readable on each platform. Each backend owns its platform's entry.
//
// Linux: Codex's LINUX_PLATFORM_DEFAULT_READ_ROOTS (linux-sandbox).
// macOS: the paths of Codex's read-only platform-defaults SBPL fragment.
// Windows: the system directories a process needs to start.
var MinimalRoots = map[Platform][]string{
	Linux: {"/bin", "/sbin", "/usr", "/etc", "/lib", "/lib64", "/nix/store", "/run/current-system/sw"},
	// macOS: the read roots of backends/seatbelt's :minimal filters (after
	// Codex's restricted_read_only_platform_defaults.sbpl), spelled as
	// Seatbelt sees them (/private/etc, not /etc). Of /System/Library only
	// Codex's curated subpaths (MacCuratedSystemLibrary). Keep in sync with
	// that package.
	MacOS: {"/Applications", "/Library/Apple", "/Library/Filesystems/NetFSPlugins", "/Library/Preferences",
		"/System/Cryptexes",
		"/System/Library/CoreServices/.SystemVersionPlatform.plist", "/System/Library/CoreServices/SystemVersion.plist",
		"/System/Library/Frameworks", "/System/Library/PrivateFrameworks", "/System/Library/SubFrameworks",
		"/System/Volumes/Preboot/Cryptexes",
		"/System/iOSSupport/System/Library/Frameworks", "/System/iOSSupport/System/Library/PrivateFrameworks",
		"/System/iOSSupport/System/Library/SubFrameworks",
		"/bin", "/dev/autofs_nowait", "/dev/dtracehelper", "/dev/fd", "/dev/null", "/dev/random", "/dev/tty",
		"/dev/urandom", "/dev/zero", "/opt/homebrew/lib", "/private/etc", "/private/var/db", "/sbin",
		"/usr/bin", "/usr/lib", "/usr/libexec", "/usr/local/lib", "/usr/sbin", "/usr/share"},
	Windows: {"C:/Windows", "C:/Program Files", "C:/Program Files (x86)", "C:/ProgramData/Microsoft"},
}

// MacCuratedSystemLibrary are the system library trees macOS :minimal
// reads: Codex reads only these curated subpaths of /System/Library (and
// of /System/iOSSupport/System/Library), not the whole tree, so that a
// restricted profile does not expose every system resource.
var MacCuratedSystemLibrary = []string{"/System/Library", "/System/iOSSupport/System/Library"}
