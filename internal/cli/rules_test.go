package cli

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/lint"
)

// TestRulesJSONIsTheCatalogue: `rules --format json` is the catalogue lint
// and SARIF use, rule for rule and field for field.
func TestRulesJSONIsTheCatalogue(t *testing.T) {
	code, out, errOut := run(t, nil, "rules", "--format", "json")
	if code != 0 || errOut != "" {
		t.Fatalf("rules --format json: exit %d, stderr %q", code, errOut)
	}
	var got struct{ Rules []ruleJSON }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("rules --format json is not JSON: %v\n%s", err, out)
	}
	var want []ruleJSON
	for _, r := range lint.Catalog().Rules() {
		want = append(want, ruleJSON{ID: r.ID, Production: r.Production.String(), Development: r.Development.String(),
			Summary: r.Summary, HelpURI: r.HelpURL, Ref: r.Ref, SecuritySeverity: r.SecuritySeverity})
	}
	if diff := cmp.Diff(want, got.Rules); diff != "" {
		t.Errorf("rules --format json differs from lint.Catalog() (-want +got):\n%s", diff)
	}
	if len(got.Rules) < 100 {
		t.Errorf("rules --format json lists %d rules; the catalogue has more than 100", len(got.Rules))
	}
}

// TestRulesText: one table row per rule of the catalogue, with its
// severities, then the count.
func TestRulesText(t *testing.T) {
	code, out, errOut := run(t, nil, "rules")
	if code != 0 || errOut != "" {
		t.Fatalf("rules: exit %d, stderr %q", code, errOut)
	}
	table, _, _ := strings.Cut(out, "\n\n")
	rows := map[string][]string{}
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Errorf("rules: row %q has fewer than four columns", line)
			continue
		}
		rows[f[0]] = f[1:3]
	}
	rules := lint.Catalog().Rules()
	for _, r := range rules {
		if got, want := rows[r.ID], []string{r.Production.String(), r.Development.String()}; !cmp.Equal(got, want) {
			t.Errorf("rules: row of %s has severities %v, want %v", r.ID, got, want)
		}
	}
	if len(rows) != len(rules)+1 { // the header
		t.Errorf("rules printed %d rows, want %d rules and the header", len(rows), len(rules))
	}
	if !strings.HasSuffix(out, "\n"+strconv.Itoa(len(rules))+" rules. 'takos-apply explain RULE' describes one.\n") {
		t.Errorf("rules: output does not end with the count:\n%s", out[max(0, len(out)-200):])
	}
}

// TestExplainEveryRule: every rule of the catalogue can be explained, with
// its own severities, source, security score and docs.
func TestExplainEveryRule(t *testing.T) {
	for _, r := range lint.Catalog().Rules() {
		code, out, errOut := run(t, nil, "explain", r.ID)
		if code != 0 || errOut != "" {
			t.Errorf("explain %s: exit %d, stderr %q", r.ID, code, errOut)
			continue
		}
		sev := "  severity:  " + r.Production.String() + " in production and development\n"
		if r.Production != r.Development {
			sev = "  severity:  " + r.Production.String() + " in production, " + r.Development.String() + " in development (--env)\n"
		}
		for _, want := range []string{r.ID + ": " + plainSummary(r.Summary) + "\n", sev, "  docs:      " + r.HelpURL + "\n"} {
			if !strings.Contains(out, want) {
				t.Errorf("explain %s lacks %q:\n%s", r.ID, want, out)
			}
		}
		if (r.Ref != "") != strings.Contains(out, "  source:    "+r.Ref+"\n") {
			t.Errorf("explain %s: source line does not match the Ref %q:\n%s", r.ID, r.Ref, out)
		}
		if (r.SecuritySeverity > 0) != strings.Contains(out, "  security:  ") {
			t.Errorf("explain %s: security line does not match the score %v:\n%s", r.ID, r.SecuritySeverity, out)
		}
	}
}

// TestExplainUnknownRule: exit 2, a suggestion when one is close, nothing
// on stdout, whatever the output format.
func TestExplainUnknownRule(t *testing.T) {
	tests := []struct {
		args    []string
		suggest string
	}{
		{[]string{"explain", "scope-unknwn"}, `did you mean "scope-unknown"?`},
		{[]string{"explain", "--format", "json", "yaml-syntax", "yaml-sintax"}, `did you mean "yaml-syntax"?`},
		{[]string{"explain", "SCOPE-EMPTY"}, `did you mean "scope-empty"?`},
		{[]string{"explain", "nothing-like-any-rule-at-all"}, ""},
	}
	for _, tc := range tests {
		code, out, errOut := run(t, nil, tc.args...)
		if code != ExitUsage || out != "" {
			t.Errorf("%q: exit %d, stdout %q; want 2 and nothing on stdout", tc.args, code, out)
		}
		if !strings.Contains(errOut, "unknown rule") || !strings.Contains(errOut, "takos-apply rules") {
			t.Errorf("%q: stderr %q; want the unknown rule and a pointer to takos-apply rules", tc.args, errOut)
		}
		if tc.suggest != "" && !strings.Contains(errOut, tc.suggest) || tc.suggest == "" && strings.Contains(errOut, "did you mean") {
			t.Errorf("%q: stderr %q; want suggestion %q", tc.args, errOut, tc.suggest)
		}
	}
}

// TestReadmeExplainExample: the README's explain example is what explain
// prints.
func TestReadmeExplainExample(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "$ takos-apply explain redirect-uri-loopback\n"
	_, example, ok := strings.Cut(string(b), prompt)
	if !ok {
		t.Fatalf("README has no example starting %q", prompt)
	}
	example, _, _ = strings.Cut(example, "```")
	if _, out, _ := run(t, nil, "explain", "redirect-uri-loopback"); out != example {
		t.Errorf("README's explain example differs from the output:\n%s", cmp.Diff(example, out))
	}
}
