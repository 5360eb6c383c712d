package diag

// Host diagnosis (POL130–POL139): why this host cannot make the Linux
// sandbox, said by polc doctor and by polc exec when a launch fails for
// a host reason (package hostprobe). Each comes with the remedy that
// fits the host; none is ever answered by a weaker sandbox.
var (
	HostWSL1                = register("POL130", Error, "WSL1 cannot run the Linux sandbox")
	HostSeccompBlocksUserNS = register("POL131", Error, "a seccomp filter on polc refuses user namespaces")
	HostNestedUserNS        = register("POL132", Error, "nested user namespaces are not allowed here")
	HostNoProcMount         = register("POL133", Error, "a fresh /proc cannot be mounted here")
	HostMountPropagation    = register("POL134", Error, "mount propagation cannot be changed here")
	HostNoSeccomp           = register("POL135", Error, "seccomp filters cannot be installed here")
	HostNoDoctor            = register("POL136", Error, "polc doctor cannot probe this platform")
)
