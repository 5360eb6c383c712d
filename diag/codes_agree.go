package diag

// What polc says must be what polc exec enforces (POL140–POL149): inputs
// that would otherwise be dropped silently, and profiles that cannot run.
var (
	// A key a [permissions.NAME] table does not know: the schema forbids
	// it, and a typo such as filesytem would drop every rule it holds.
	UnknownProfileKey = register("POL140", Error, "unknown key in a permissions profile")
	// $CODEX_HOME is set but names no directory: Codex refuses to start.
	CodexHomeMissing = register("POL141", Error, "CODEX_HOME does not exist")
	// The project's .codex layer is read by check, build and explain but
	// not by exec, because the project is not trusted.
	ExecSkipsProjectLayer = register("POL142", Warning, "polc exec will not load this project layer: project not trusted")
	// The sandbox could not even enter the project or start the command.
	ProjectUnreadable = register("POL143", Error, "profile leaves the project directory unreadable")
	SystemUnreadable  = register("POL144", Error, "profile leaves the system unreadable: no command can run")
	// polc exec's command (or its loader) is not readable in the sandbox.
	CommandUnreadable = register("POL146", Error, "the sandbox cannot read the command")
	// A build over signed artifacts that would write them unsigned.
	SignatureDropped = register("POL145", Error, "a build would drop an artifact's signature")
)
