package cli

import "testing"

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
