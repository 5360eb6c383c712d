package compiler

// PassNames lists the passes in the order they run, for the timings test.
func PassNames() []string {
	out := make([]string, len(passes))
	for i, p := range passes {
		out[i] = p.name
	}
	return out
}
