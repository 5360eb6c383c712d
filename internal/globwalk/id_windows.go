package globwalk

// Windows has no inode numbers in os.FileInfo: a match's identity is
// unknown (0, 0).

func handleDev(h dirHandle, path string) uint64 { return 0 }

func entryID(h dirHandle, path, name string, typ entType, dirDev, ino uint64) (uint64, uint64) {
	return 0, 0
}
