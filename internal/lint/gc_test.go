package lint

import (
	"math"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// TestNoteInput: after TuneGC, a manifest of LargeInput bytes or more
// restores proportional collection, once; a smaller one does not, and
// without TuneGC nothing changes.
func TestNoteInput(t *testing.T) {
	prevPercent := debug.SetGCPercent(123)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		gcLimited.Store(false)
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
	noEnv := func(string) string { return "" }

	noteInput(LargeInput)
	if got := debug.SetGCPercent(123); got != 123 {
		t.Errorf("without TuneGC, a large manifest set GC percent %d", got)
	}

	TuneGC(noEnv)
	noteInput(LargeInput - 1)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("after a small manifest, GC percent = %d, want -1", got)
	}
	if got := debug.SetMemoryLimit(-1); got != GCMemoryLimit {
		t.Errorf("after a small manifest, memory limit = %d, want %d", got, GCMemoryLimit)
	}
	noteInput(LargeInput)
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("after a large manifest, GC percent = %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after a large manifest, memory limit = %d, want none", got)
	}
	noteInput(LargeInput)
	if got := debug.SetGCPercent(123); got != -1 {
		t.Errorf("a second large manifest changed the GC percent again (to %d)", got)
	}

	// Source tells the collector.
	TuneGC(noEnv)
	if _, _, err := Source("app.yml", []byte(strings.Repeat("#\n", LargeInput/2)), manifest.DefaultLimits(), Options{}); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(123); got != 100 {
		t.Errorf("after Source of a large manifest, GC percent = %d, want 100", got)
	}
}
