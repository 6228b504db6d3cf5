package cli

import (
	"math"
	"runtime/debug"
	"sync/atomic"

	"github.com/takos-dev/takos-apply/schema"
)

// PrepareProcess tunes the process for the command in args: the garbage
// collector (see tuneGC) and a background compile of the embedded schema
// for the commands that lint. It changes process-wide state, so Run never
// calls it: main does, once, before Run (and the test binary's takos-apply
// shim does the same), while in-process tests and other callers of Run keep
// their own settings.
func PrepareProcess(args []string, getenv func(string) string) {
	if len(args) == 0 {
		return
	}
	switch args[0] {
	case "lint", "validate", "plan", "apply":
		tuneGC(getenv)
		schema.Preload()
	}
}

// gcMemoryLimit bounds the heap of a lint run; see tuneGC.
const gcMemoryLimit = 16 << 20

// tuneGC replaces proportional garbage collection with a memory limit for
// the short, allocation-heavy commands: a one-file lint then never collects
// (about 1 ms of its 12 ms budget), and a run over thousands of files
// collects only near the limit, which keeps peak RSS under 25 MiB while
// doing a fraction of the collections (measured with scripts/bench.sh).
// GOGC or GOMEMLIMIT in the environment win.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") != "" || getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(gcMemoryLimit)
	gcLimited.Store(true)
}

// gcLimited is set while tuneGC's limit is in force.
var gcLimited atomic.Bool

// largeInput is the manifest size from which the heap of one file can
// outgrow gcMemoryLimit: a 1 MiB manifest of list items holds some 100 MiB
// of nodes and findings, and a heap over the limit makes the collector run
// back to back (three times the CPU of a proportional one, measured on the
// hostile manifests of scripts/bench-hostile.sh).
const largeInput = 64 << 10

// noteInput restores proportional garbage collection, once, when a
// manifest of largeInput bytes or more is about to be linted. It changes
// nothing unless PrepareProcess limited the collector.
func noteInput(size int) {
	if size >= largeInput && gcLimited.CompareAndSwap(true, false) {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
	}
}
