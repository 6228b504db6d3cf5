package lint

import (
	"strings"
	"testing"
)

func TestExcluded(t *testing.T) {
	cases := []struct {
		pattern, path string
		want          bool
	}{
		{"testdata", "testdata/x/.takos/app.yml", true},
		{"testdata", "pkg/testdata/.takos/app.yml", false},
		{"**/testdata", "pkg/testdata/.takos/app.yml", true},
		{"**/testdata/**", "testdata/.takos/app.yml", true},
		{"./examples/*", "examples/hello/.takos/app.yml", true},
		{"examples/*", "./examples/hello/.takos/app.yml", true},
		{"examples/h?llo/.takos/app.yml", "examples/hello/.takos/app.yml", true},
		{"examples/*/app.yml", "examples/hello/.takos/app.yml", false},
		{"**/app.yaml", "a/b/.takos/app.yml", false},
		{"**", "a/.takos/app.yml", true},
		{"/abs/dir", "/abs/dir/.takos/app.yml", true},
	}
	for _, tc := range cases {
		if got := patterns(t, tc.pattern).Excluded(tc.path, ""); got != tc.want {
			t.Errorf("--exclude %q excluded(%q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	var kept []string
	for _, p := range []string{"a/1", "c/2", "b/3", "c/4"} {
		if !patterns(t, "a", "b").Excluded(p, "") {
			kept = append(kept, p)
		}
	}
	if strings.Join(kept, " ") != "c/2 c/4" {
		t.Errorf("kept %v, want [c/2 c/4]", kept)
	}
}
