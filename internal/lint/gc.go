package lint

import (
	"math"
	"runtime/debug"
	"sync/atomic"
)

// GCMemoryLimit bounds the heap of a lint run; see TuneGC.
const GCMemoryLimit = 16 << 20

// TuneGC sets the garbage collector of a process whose work is a lint run
// (lint, plan, apply): proportional collection is replaced by a memory
// limit, so a one-file lint never collects (about 1 ms of its 12 ms
// budget) and a run over thousands of files collects only near the limit,
// which keeps peak RSS under 25 MiB with a fraction of the collections
// (measured with scripts/bench.sh). GOGC or GOMEMLIMIT in the environment
// win. It changes process-wide state, so only main calls it (through
// cli.PrepareProcess), never a library or an in-process run. A manifest of
// LargeInput bytes or more brings proportional collection back (see
// noteInput).
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(GCMemoryLimit)
	gcLimited.Store(true)
}

// gcLimited is set while TuneGC's limit is in force.
var gcLimited atomic.Bool

// LargeInput is the manifest size from which the heap of one file can
// outgrow GCMemoryLimit: a 1 MiB manifest of list items holds some 100 MiB
// of nodes and findings, and a heap over the limit makes the collector run
// back to back (three times the CPU of a proportional one, measured on the
// hostile manifests of scripts/bench-hostile.sh).
const LargeInput = 64 << 10

// noteInput restores proportional garbage collection, once, when a
// manifest of LargeInput bytes or more is about to be linted (Source calls
// it). It changes nothing unless TuneGC limited the collector.
func noteInput(size int) {
	if size >= LargeInput && gcLimited.CompareAndSwap(true, false) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}
