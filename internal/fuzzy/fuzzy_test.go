package fuzzy

import "testing"

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"scopes", "scopes", 0},
		{"scoeps", "scopes", 1}, // adjacent transposition
		{"scope", "scopes", 1},
		{"file:read", "files:read", 1},
		{"kitten", "sitting", 3},
		{"descirption", "description", 1},
		{"ca", "abc", 3}, // OSA, unlike full Damerau-Levenshtein (2)
		{"ünï", "uni", 2},
	}
	for _, tc := range tests {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cmds := []string{"lint", "plan", "apply", "auth", "broker", "schema", "version"}
	for _, tc := range []struct{ word, want string }{
		{"lnit", "lint"}, {"plna", "plan"}, {"aply", "apply"}, {"lint", "lint"},
		{"x", ""}, {"frobnicate", ""}, {"", ""}, {"brokr", "broker"},
		{"jsn", "json"}, {"yaml", ""},
	} {
		cands := cmds
		if tc.word == "jsn" || tc.word == "yaml" {
			cands = []string{"text", "json", "github", "sarif"}
		}
		if got := Closest(tc.word, cands); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}
