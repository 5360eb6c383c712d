package diag

// POL180–POL189, polc rollout: what a requirements change does to a
// corpus of users' configs, one finding per config, profile and platform.
var (
	// The config would not start under the new requirements.
	RolloutRefused = register("POL180", Error, "the requirements change refuses this config")
	// The config starts, but its profile may do less: paths, network
	// rules or approval settings are lost.
	RolloutNarrowed = register("POL181", Warning, "the requirements change narrows this config")
	// The config's profile may do more than under the baseline.
	RolloutWidened = register("POL182", Info, "the requirements change widens this config")
	// A change without a direction (an approval setting the user did not
	// choose, the auto-review text, proxy ports).
	RolloutChanged = register("POL183", Info, "the requirements change alters this config")
	// A corpus entry that could not be evaluated: unreadable, broken
	// TOML, a missing profile. Reported per file; the run goes on.
	RolloutBadInput = register("POL184", Error, "corpus entry cannot be evaluated")
	// A corpus path that holds no config at all.
	RolloutNoConfig = register("POL185", Warning, "corpus path holds no config")
)
