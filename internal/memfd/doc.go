// Package memfd makes the sealed anonymous files polc hands to the
// processes it starts: bwrap's arguments and seccomp filter, the mask
// stage's plan, and the static programs bwrap or polc runs from memory
// (packages sockexec and hugetext).
package memfd
