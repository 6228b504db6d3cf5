package cli

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
		g := globList{tc.pattern}
		if got := g.excluded(tc.path); got != tc.want {
			t.Errorf("--exclude %q excluded(%q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
	if got := (globList{"a", "b"}).filter([]string{"a/1", "c/2", "b/3", "c/4"}); strings.Join(got, " ") != "c/2 c/4" {
		t.Errorf("filter = %v, want [c/2 c/4]", got)
	}
}

func TestRuleListSet(t *testing.T) {
	var r ruleList
	if err := r.Set("scope-runs, yaml-syntax,"); err != nil {
		t.Fatal(err)
	}
	if err := r.Set("schema-type"); err != nil {
		t.Fatal(err)
	}
	if r.String() != "scope-runs,yaml-syntax,schema-type" {
		t.Errorf("ruleList = %s", r.String())
	}
	if err := r.Set("scope-runz"); err == nil {
		t.Error("Set(scope-runz) accepted an unknown rule")
	}
}
