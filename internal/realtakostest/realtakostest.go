// Package realtakostest finds the real Takos control plane that
// ../shared/realtakos/start.sh runs on loopback, for the opt-in tests that
// compare takos-apply and its dev server with it. CI never sets
// TAKOS_REAL_COORDS, so those tests skip there.
package realtakostest

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// Env names the coordinates file start.sh writes (KEY=value lines: URL,
// PAT, DATA_DIR, ACCOUNT_ID, ADMIN_DOMAIN, ...).
const Env = "TAKOS_REAL_COORDS"

// Path is the coordinates file Env names, "" when it is not set.
func Path() string { return os.Getenv(Env) }

// Coords returns the pairs of the coordinates file, values unquoted. It
// skips t when Env is not set and fails it when a key of need is missing.
func Coords(t testing.TB, need ...string) map[string]string {
	t.Helper()
	path := Path()
	if path == "" {
		t.Skip(Env + " is not set: start the real Takos with ../shared/realtakos/start.sh COORDS and set " + Env + "=COORDS to run this test")
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	defer f.Close()
	kv := map[string]string{}
	for sc := bufio.NewScanner(f); sc.Scan(); {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = strings.Trim(v, `'"`)
		}
	}
	for _, k := range need {
		if kv[k] == "" {
			t.Fatalf("%s (%s) has no %s", path, Env, k)
		}
	}
	return kv
}
