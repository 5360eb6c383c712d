package diag

// Host bindings (POL265–POL269): the host values polc binds a policy's
// variables to, found once for compile and for polc exec --artifact.
var (
	// $HOME is a relative path: binding it against the working directory
	// would put ~/.ssh and every other home rule somewhere else than the
	// user's home, and differently from one directory to the next.
	HomeRelative = register("POL265", Error, "HOME is a relative path")
)
