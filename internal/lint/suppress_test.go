package lint

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// suppressApp is an OAuth app whose scope list (YAML lines under
// "scopes:", indented six spaces) the cases vary; head goes after the
// apiVersion line.
func suppressApp(head, scopes string) string {
	return "apiVersion: takos.dev/v1alpha1\n" + head + "kind: App\nmetadata:\n  name: s\nspec:\n  version: 1.0.0\n  oauth:\n" +
		"    clientName: S\n    redirectUris: [https://s.example.com/cb]\n    scopes:\n" + scopes
}

type suppressCase struct {
	name    string
	head    string
	scopes  string
	disable []string
	want    []want
}

// suppressCases: line 12 is the first scope.
var suppressCases = []suppressCase{
	{name: "nothing silenced", scopes: "      - runs:read\n      - file:read\n",
		want: []want{{sc(0), ruleScopeRuns, diag.Error}, {sc(1), ruleScopeUnknown, diag.Error}}},
	{name: "trailing comment silences its line only", scopes: "      - runs:read # takos-apply:ignore scope-runs\n      - runs:write\n",
		want: []want{{sc(1), ruleScopeRuns, diag.Error}}},
	{name: "own-line comment silences the next content line", scopes: "      # takos-apply:ignore scope-runs\n\n      # why\n      - runs:read\n      - runs:write\n",
		want: []want{{sc(1), ruleScopeRuns, diag.Error}}},
	{name: "several rules, commas and a reason", scopes: "      - openid\n      - openid # takos-apply:ignore scope-unknown,scope-duplicate -- on purpose\n",
		want: nil},
	{name: "other rule on the line is kept", scopes: "      - runs:read # takos-apply:ignore scope-unknown\n",
		want: []want{{sc(0), ruleScopeRuns, diag.Error}}},
	{name: "file-wide", head: "# takos-apply:ignore-file scope-runs scope-unknown\n", scopes: "      - runs:read\n      - file:read\n      - openid\n      - openid\n",
		want: []want{{sc(3), ruleScopeDuplicate, diag.Warning}}},
	{name: "disable flag", scopes: "      - runs:read\n      - file:read\n", disable: []string{ruleScopeRuns.ID},
		want: []want{{sc(1), ruleScopeUnknown, diag.Error}}},
	{name: "a # inside a value is no comment", scopes: "      - \"runs:read#takos-apply:ignore scope-grammar\"\n",
		want: []want{{sc(0), ruleScopeGrammar, diag.Error}}},
	{name: "a longer word is no directive", scopes: "      - runs:read # takos-apply:ignored scope-runs\n",
		want: []want{{sc(0), ruleScopeRuns, diag.Error}}},
	{name: "directive without rules", scopes: "      - runs:read # takos-apply:ignore\n",
		want: []want{{"", ruleIgnoreDirective, diag.Warning}, {sc(0), ruleScopeRuns, diag.Error}}},
	{name: "directive with an unknown rule", scopes: "      - openid # takos-apply:ignore scope-runz\n",
		want: []want{{"", ruleIgnoreDirective, diag.Warning}}},
	{name: "directive findings can be disabled", scopes: "      - openid # takos-apply:ignore nope\n", disable: []string{ruleIgnoreDirective.ID}},
}

func TestSuppress(t *testing.T) {
	t.Parallel()
	for _, tc := range suppressCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := suppressApp(tc.head, tc.scopes)
			got := Check(parse(t, src), Options{Env: prod, Disable: tc.disable})
			if diff := cmp.Diff(wantStrings(tc.want), summarize(got)); diff != "" {
				t.Errorf("Check() mismatch (-want +got):\n%s\nfindings: %v\nsource:\n%s", diff, got, src)
			}
		})
	}
}

// TestSuppressLoaderFindings checks that Suppress also drops what the
// loader and the schema report, which Check never sees.
func TestSuppressLoaderFindings(t *testing.T) {
	t.Parallel()
	src := "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: s\nspec:\n  version: 1.0 # takos-apply:ignore schema-type\n  nope: 1\n"
	doc, diags, err := manifest.Load("app.yml", []byte(src), manifest.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	rules := func(l diag.List) string {
		var s []string
		for _, d := range l {
			s = append(s, d.Rule)
		}
		return strings.Join(s, " ")
	}
	if !strings.Contains(rules(diags), "schema-type") || !strings.Contains(rules(diags), "schema-unknown-field") {
		t.Fatalf("manifest.Load findings = %s, want schema-type and schema-unknown-field", rules(diags))
	}
	got := Suppress(doc, diags, nil)
	if r := rules(got); strings.Contains(r, "schema-type") || !strings.Contains(r, "schema-unknown-field") {
		t.Errorf("Suppress() = %s, want schema-type silenced and schema-unknown-field kept", r)
	}
	if got := Suppress(doc, diags, []string{"schema-unknown-field"}); strings.Contains(rules(got), "schema-") {
		t.Errorf("Suppress(disable schema-unknown-field) = %s, want no schema finding", rules(got))
	}
	// Without a document only --disable applies: the comment's schema-type
	// stays, the disabled rule goes.
	if got := rules(Suppress(nil, diags, []string{"schema-unknown-field"})); !strings.Contains(got, "schema-type") || strings.Contains(got, "schema-unknown-field") {
		t.Errorf("Suppress(nil doc, disable schema-unknown-field) = %s, want schema-type kept and schema-unknown-field dropped", got)
	}
}

func TestKnownRule(t *testing.T) {
	t.Parallel()
	if err := KnownRule("redirect-uri-http"); err != nil {
		t.Errorf("KnownRule(redirect-uri-http) = %v", err)
	}
	if err := KnownRule("yaml-syntax"); err != nil {
		t.Errorf("KnownRule(yaml-syntax) = %v", err)
	}
	if err := KnownRule("redirect-uri-htp"); err == nil || !strings.Contains(err.Error(), `did you mean "redirect-uri-http"`) {
		t.Errorf("KnownRule(redirect-uri-htp) = %v, want a suggestion", err)
	}
	if err := KnownRule("zzzzzzzzzzzz"); err == nil || strings.Contains(err.Error(), "did you mean") {
		t.Errorf("KnownRule(zzzzzzzzzzzz) = %v, want an error without a suggestion", err)
	}
}

// TestDirectiveSuggestionBudget: a file of made-up rule IDs gets the "did
// you mean" search for its first maxRuleSuggestions distinct IDs (in line
// order, which is the order a report lists them in) and a plain message
// for the rest; a repeated ID gets the message it got the first time.
func TestDirectiveSuggestionBudget(t *testing.T) {
	var scopes strings.Builder
	n := maxRuleSuggestions + 20
	for i := range n {
		fmt.Fprintf(&scopes, "      - openid # takos-apply:ignore scope-duplicat%d\n", i)
	}
	scopes.WriteString("      - openid # takos-apply:ignore scope-duplicat0\n")
	doc, diags := manifest.Parse("app.yml", []byte(suppressApp("", scopes.String())), manifest.DefaultLimits())
	if doc.Value == nil {
		t.Fatalf("parse: %v", diags)
	}
	var got diag.List
	for _, d := range Check(doc, Options{}) {
		if d.Rule == ruleIgnoreDirective.ID {
			got = append(got, d)
		}
	}
	if len(got) != n+1 {
		t.Fatalf("%d ignore-directive findings, want %d", len(got), n+1)
	}
	for i, d := range got[:n] {
		suggested := strings.Contains(d.Message, `did you mean "scope-duplicate"?`)
		if suggested != (i < maxRuleSuggestions) {
			t.Errorf("finding %d (line %d): %q; want a suggestion only for the first %d IDs", i, d.Pos.Line, d.Message, maxRuleSuggestions)
		}
	}
	if got[n].Message != got[0].Message {
		t.Errorf("the repeated ID got %q, first time %q", got[n].Message, got[0].Message)
	}
}
