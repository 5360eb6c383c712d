package diag

// POL260–POL264: launches that fail for a reason no other range names.
// Every error polc exec's launcher returns is a *Diagnostic; these are
// the codes of the failures that had none.
var (
	// The Windows launcher could not decode its plan, bind it, set up
	// the sandbox account, write the ACLs or start the command.
	WindowsSandboxSetup = register("POL260", Error, "the Windows sandbox could not be set up")
	// polc exec on an operating system without a polc sandbox.
	NoSandboxForOS = register("POL261", Error, "no sandbox is available on this operating system")
)
