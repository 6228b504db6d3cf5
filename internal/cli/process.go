package cli

import (
	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/schema"
)

// PrepareProcess tunes the process for the command in args: for the
// commands that lint, the garbage collector (lint.TuneGC) and a background
// compile of the embedded schema. It changes process-wide state, so Run
// never calls it: main does, once, before Run (and the test binary's
// takos-apply shim does the same), while in-process tests and other
// callers of Run keep their own settings.
func PrepareProcess(args []string, getenv func(string) string) {
	if cmd, _ := lookup(args); cmd != nil && cmd.lints {
		lint.TuneGC(getenv)
		schema.Preload()
	}
}
