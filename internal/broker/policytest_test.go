package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
)

// loadCases loads testdata/policy.yml and a cases file whose token files
// are served from files.
func loadCases(t *testing.T, src string, files map[string]string) (*Policy, *Cases, []string) {
	t.Helper()
	psrc, err := os.ReadFile("testdata/policy.yml")
	if err != nil {
		t.Fatal(err)
	}
	p, diags, err := LoadPolicy("testdata/policy.yml", psrc)
	if err != nil || p == nil {
		t.Fatalf("policy: %v %v", diags, err)
	}
	cs, _, diags, err := LoadCases("cases.yml", []byte(src), func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return []byte(b), nil
		}
		return nil, os.ErrNotExist
	})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range diags {
		out = append(out, d.String())
	}
	return p, cs, out
}

// TestPolicyCases runs testdata/cases.yml against testdata/policy.yml:
// the immutable sub, environment subjects, a reusable workflow and a
// captured token (from the GitHub fake: the claims of a real token).
func TestPolicyCases(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	c := gh.Claims("https://takos-broker.example")
	c["sub"] = "repo:octo-org@65432/octo-repo@123456789:environment:production"
	tok, err := gh.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "cases.yml"))
	if err != nil {
		t.Fatal(err)
	}
	p, cs, diags := loadCases(t, string(src), map[string]string{"main.jwt": tok + "\n"})
	if cs == nil {
		t.Fatalf("cases: %v", diags)
	}
	found, passed := cs.Run(p)
	if len(found) != 0 || passed != 7 {
		t.Errorf("Run() = %v, %d passed; want all 7 to pass", found, passed)
	}
}

// TestPolicyCaseMismatches: a case the policy decides otherwise is an
// error at its expectation, saying what was expected and what happened.
func TestPolicyCaseMismatches(t *testing.T) {
	src := `version: 1
claims: {repository_id: "123456789", repository_owner_id: "65432", ref: refs/heads/main, event_name: push}
cases:
  - name: old-form sub
    claims: {sub: "repo:octo-org/octo-repo:environment:production", environment: production}
    allow: octo-repo-production
  - name: wrong rule
    claims: {environment: staging}
    allow: org-shared-deploy
  - name: allowed after all
    claims: {environment: staging}
    deny: no-match
  - name: wrong reason
    claims: {event_name: workflow_run, environment: staging}
    deny: no-match
  - name: wrong because
    claims: {ref: refs/heads/dev}
    deny: no-match
    because: ref is "refs/heads/x"
`
	p, cs, diags := loadCases(t, src, nil)
	if cs == nil {
		t.Fatal(diags)
	}
	found, passed := cs.Run(p)
	var got []string
	for _, d := range found {
		got = append(got, d.String())
	}
	want := []string{
		`cases.yml:6:5: error: case "old-form sub": want allowed by rule octo-repo-production, got denied (no-match): no trust policy rule matches (octo-repo-production: sub is "repo:octo-org/octo-repo:environment:production", rule wants "repo:octo-org@65432/octo-repo@123456789:environment:production"`,
		`cases.yml:9:5: error: case "wrong rule": want allowed by rule org-shared-deploy, got allowed by rule octo-repo-staging; rule org-shared-deploy does not match: the token has no job_workflow_ref claim`,
		`cases.yml:12:5: error: case "allowed after all": want denied (no-match), got allowed by rule octo-repo-staging [policy-test]`,
		`cases.yml:15:5: error: case "wrong reason": want denied (no-match), got denied (untrusted-event)`,
		`cases.yml:18:5: error: case "wrong because": want a refusal that says "ref is \"refs/heads/x\"", got denied (no-match)`,
	}
	if len(got) != len(want) || passed != 0 {
		t.Fatalf("findings = %q (%d passed), want %d", got, passed, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("finding %d = %q\nwant prefix %q", i, got[i], want[i])
		}
	}
}

// TestCasesFileErrors: the cases file is read by the same loader, with
// positioned findings.
func TestCasesFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, src, want string }{
		{"no expectation", "version: 1\ncases:\n  - name: x\n", `cases.yml:3:5: error: cases[0] must say the expected decision with exactly one of allow: RULE or deny: no-match|untrusted-event [schema-one-of]`},
		{"both", "version: 1\ncases:\n  - {name: x, allow: a, deny: no-match}\n", `cases.yml:3:5: error: cases[0] must say the expected decision`},
		{"unknown reason", "version: 1\ncases:\n  - {name: x, deny: fork}\n", `cases.yml:3:21: error: cases[0].deny must be no-match (no rule matches: invalid_grant) or untrusted-event`},
		{"unknown field", "version: 1\ncases:\n  - {name: x, allow: a, claim: {}}\n", `cases.yml:3:25: error: unknown field "claim" in cases[0]; did you mean "claims"?`},
		{"missing token", "version: 1\ncases:\n  - {name: x, allow: a, token: gone.jwt}\n", `cases.yml:3:32: error: reading the token "gone.jwt": file does not exist [policy-test-token]`},
		{"not a token", "version: 1\ncases:\n  - {name: x, allow: a, token: bad.jwt}\n", `cases.yml:3:32: error: "bad.jwt": not a JWT (three dot-separated base64url parts) [policy-test-token]`},
		{"empty", "", "cases.yml:1:1: error: file is empty; a cases file starts with version: 1 and cases: [yaml-empty]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cs, got := loadCases(t, tc.src, map[string]string{"bad.jwt": "eyJ.not-a-token"})
			if cs != nil || len(got) == 0 || !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("findings = %q, want first %q", got, tc.want)
			}
		})
	}
}
