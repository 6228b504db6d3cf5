package cli

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/lint"
)

// TestRunLeavesProcessAlone checks that Run changes no process-wide
// setting (an embedding program or test keeps its own garbage collector),
// and that PrepareProcess, which main calls, does.
func TestRunLeavesProcessAlone(t *testing.T) {
	prevPercent := debug.SetGCPercent(123)
	prevLimit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(prevPercent)
		debug.SetMemoryLimit(prevLimit)
	})
	p := filepath.Join(t.TempDir(), "app.yml")
	if err := os.WriteFile(p, []byte(faultManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	noEnv := func(string) string { return "" }
	if code := Run(context.Background(), []string{"lint", p}, noEnv, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
		t.Fatalf("lint exit %d:\n%s", code, stderr.String())
	}
	if got := debug.SetGCPercent(123); got != 123 {
		t.Errorf("after Run, GC percent = %d, want 123 (untouched)", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after Run, memory limit = %d, want untouched", got)
	}

	PrepareProcess([]string{"lint", p}, noEnv)
	if got := debug.SetGCPercent(123); got != -1 {
		t.Errorf("after PrepareProcess(lint), GC percent = %d, want -1", got)
	}
	if got := debug.SetMemoryLimit(-1); got != lint.GCMemoryLimit {
		t.Errorf("after PrepareProcess(lint), memory limit = %d, want %d", got, lint.GCMemoryLimit)
	}
	// A large manifest brings proportional collection back (a heap over the
	// limit would be collected back to back), once; a small one does not.
	// The lint run itself tells the collector (lint.Source).
	large := filepath.Join(t.TempDir(), "app.yml")
	pad := strings.Repeat("# "+strings.Repeat("x", 77)+"\n", lint.LargeInput/80+1)
	if err := os.WriteFile(large, []byte(faultManifest+pad), 0o644); err != nil {
		t.Fatal(err)
	}
	lintOK := func(path string) {
		t.Helper()
		stdout.Reset()
		stderr.Reset()
		if code := Run(context.Background(), []string{"lint", path}, noEnv, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
			t.Fatalf("lint %s: exit %d:\n%s", path, code, stderr.String())
		}
	}
	PrepareProcess([]string{"lint", p}, noEnv)
	lintOK(p)
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Errorf("after a small manifest, GC percent = %d, want -1", got)
	}
	lintOK(large)
	if got := debug.SetGCPercent(-1); got != 100 {
		t.Errorf("after a large manifest, GC percent = %d, want 100", got)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("after a large manifest, memory limit = %d, want none", got)
	}
	lintOK(large)
	if got := debug.SetGCPercent(123); got != -1 {
		t.Errorf("a second large manifest changed the GC percent again (to %d)", got)
	}

	debug.SetMemoryLimit(math.MaxInt64)
	PrepareProcess([]string{"lint", p}, func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(123); got != 123 {
		t.Errorf("with GOGC set, PrepareProcess changed GC percent to %d", got)
	}
}
