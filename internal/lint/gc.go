package lint

import "runtime/debug"

// GCMemoryLimit bounds the heap of a lint run; see TuneGC.
const GCMemoryLimit = 16 << 20

// TuneGC sets the garbage collector of a process whose work is a lint run
// (lint, plan, apply): proportional collection is replaced by a memory
// limit, so a one-file lint never collects (about 1 ms of its 12 ms
// budget) and a run over thousands of files collects only near the limit,
// which keeps peak RSS under 25 MiB with a fraction of the collections
// (measured with scripts/bench.sh). GOGC or GOMEMLIMIT in the environment
// win. It changes process-wide state, so only main calls it (through
// cli.PrepareProcess), never a library or an in-process run.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(GCMemoryLimit)
}
