package hostiletest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestManifests checks the generator's contract, and writes the manifests
// to $TAKOS_HOSTILE_DIR when it is set (scripts/bench-hostile.sh).
func TestManifests(t *testing.T) {
	const size = 1 << 20
	seen := map[string]bool{}
	for _, m := range Manifests(size) {
		if seen[m.Name] {
			t.Errorf("%s: name used twice", m.Name)
		}
		seen[m.Name] = true
		if len(m.Data) > size || len(m.Data) < size-256 {
			t.Errorf("%s: %d bytes, want within 256 bytes under %d", m.Name, len(m.Data), size)
		}
	}
	dir := os.Getenv("TAKOS_HOSTILE_DIR")
	if dir == "" {
		return
	}
	for _, m := range Manifests(size) {
		if err := os.WriteFile(filepath.Join(dir, m.Name), m.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
