package diag

import (
	"strings"
	"testing"
)

func TestNewCatalog(t *testing.T) {
	ok := Rule{ID: "b-rule", Production: Error, Development: Warning, Summary: "finds b"}
	cases := []struct {
		name    string
		sets    [][]Rule
		wantErr string
	}{
		{"valid", [][]Rule{{ok}, {{ID: "a-rule", Summary: "finds a", SecuritySeverity: 10}}}, ""},
		{"duplicate across sets", [][]Rule{{ok}, {ok}}, `rule "b-rule" is registered twice`},
		{"empty id", [][]Rule{{{Summary: "x"}}}, "has no ID"},
		{"empty summary", [][]Rule{{{ID: "x"}}}, `rule "x" needs a one-line summary`},
		{"multi-line summary", [][]Rule{{{ID: "x", Summary: "a\nb"}}}, "one-line summary"},
		{"security score too high", [][]Rule{{{ID: "x", Summary: "s", SecuritySeverity: 10.5}}}, "outside 0–10"},
		{"security score negative", [][]Rule{{{ID: "x", Summary: "s", SecuritySeverity: -1}}}, "outside 0–10"},
		{"laxer in production", [][]Rule{{{ID: "x", Summary: "s", Production: Info, Development: Warning}}}, `rule "x" is info in production but warning in development`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewCatalog(tc.sets...)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("NewCatalog() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rules := c.Rules()
			if len(rules) != 2 || rules[0].ID != "a-rule" || rules[1].ID != "b-rule" || c.Len() != 2 {
				t.Fatalf("Rules() = %v, want a-rule, b-rule", rules)
			}
			if r, found := c.Lookup("b-rule"); !found || r != ok {
				t.Errorf("Lookup(b-rule) = %v, %v", r, found)
			}
			if _, found := c.Lookup("c-rule"); found {
				t.Error("Lookup(c-rule) found a rule that is not registered")
			}
			rules[0].ID = "mutated"
			if c.Rules()[0].ID != "a-rule" {
				t.Error("Rules() returned the catalogue's own slice")
			}
		})
	}
}

func TestRuleSeverity(t *testing.T) {
	r := Rule{Production: Error, Development: Info}
	if r.Severity(true) != Error || r.Severity(false) != Info {
		t.Errorf("Severity() = %v/%v, want error/info", r.Severity(true), r.Severity(false))
	}
}

func TestMustCatalogPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustCatalog accepted a duplicate rule")
		}
	}()
	MustCatalog([]Rule{{ID: "x", Summary: "s"}, {ID: "x", Summary: "s"}})
}

func TestRuleSet(t *testing.T) {
	var set RuleSet
	if got := set.Rules(); len(got) != 0 {
		t.Fatalf("zero RuleSet.Rules() = %v, want none", got)
	}
	b := set.Add(Rule{ID: "b-rule", Production: Warning, Development: Info, Summary: "finds b"})
	a := set.Add(Rule{ID: "a-rule", Production: Error, Development: Error, Summary: "finds a"})
	rules := set.Rules()
	if len(rules) != 2 || rules[0] != *b || rules[1] != *a {
		t.Fatalf("Rules() = %v, want b-rule then a-rule (declaration order)", rules)
	}
	rules[0].Production = Info
	if set.Rules()[0].Production != Warning {
		t.Error("Rules() returned the set's own rules")
	}
	if _, err := NewCatalog(set.Rules()); err != nil {
		t.Errorf("NewCatalog(set.Rules()) = %v", err)
	}
}

// TestRuleFinding: a finding takes its rule's ID and production severity;
// the caller chooses nothing but the position and the message.
func TestRuleFinding(t *testing.T) {
	r := &Rule{ID: "x-rule", Production: Warning, Development: Info, Summary: "finds x"}
	got := r.Finding("app.yml", Pos{Line: 3, Column: 5}, "fix x")
	want := Diagnostic{File: "app.yml", Pos: Pos{Line: 3, Column: 5}, Severity: Warning, Rule: "x-rule", Message: "fix x"}
	if got != want {
		t.Errorf("Finding() = %+v, want %+v", got, want)
	}
	if r.String() != "x-rule" {
		t.Errorf("String() = %q, want the ID", r.String())
	}
}
