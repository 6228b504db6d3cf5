package broker

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const examplePolicy = `version: 1
rules:
  - name: deploy-main
    match:
      repository_id: "123456789"
      ref: refs/heads/main
      event_name: [push, workflow_dispatch]
    ttl: 5m
  - name: org-release
    match:
      repository_owner_id: 65432
      ref: refs/tags/v*
`

func TestSubIdentity(t *testing.T) {
	for pat, ok := range map[string]bool{
		"repo:octo-org/octo-repo:environment:production":                  true,
		"repo:octo-org/*:ref:refs/heads/main":                             true,
		"repository_owner_id:65432:repository_id:123456789:environment:*": true,
		"repository_id:123456789":                                         true,
		"repository_owner:octo-org:environment:production":                true,
		"repo:*":                    false,
		"repository_owner_id:6*":    false,
		"**":                        false,
		"environment:production":    false,
		"repository_owner:*:x":      false,
		"repository_id:12345x:ref:": false,
	} {
		if got := identityProblem("sub", pat) == ""; got != ok {
			t.Errorf("identityProblem(sub, %q) accepts = %v, want %v", pat, got, ok)
		}
	}
}

func TestLoadPolicy(t *testing.T) {
	p, diags, err := LoadPolicy("policy.yml", []byte(examplePolicy))
	if err != nil || len(diags) != 0 {
		t.Fatalf("LoadPolicy() = %v, %v", diags, err)
	}
	want := &Policy{Path: "policy.yml", Rules: []Rule{
		{Name: "deploy-main", TTL: 5 * time.Minute, Match: []Condition{
			{"repository_id", []string{"123456789"}}, {"ref", []string{"refs/heads/main"}}, {"event_name", []string{"push", "workflow_dispatch"}}}},
		{Name: "org-release", TTL: DefaultTTL, Match: []Condition{
			{"repository_owner_id", []string{"65432"}}, {"ref", []string{"refs/tags/v*"}}}},
	}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("LoadPolicy() (-want +got):\n%s", diff)
	}
}

// TestLoadPolicyErrors: every error is positioned at file:line:col.
func TestLoadPolicyErrors(t *testing.T) {
	rule := func(match string) string {
		return "version: 1\nrules:\n  - name: r\n    match:\n" + match
	}
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "p.yml:1:1: error: file holds no policy; a policy starts with version: 1 and rules: [yaml-empty]"},
		{"null", "~\n", "p.yml:1:1: error: file holds no policy"},
		{"two documents", "version: 1\n---\nrules: []\n", "p.yml:2:1: error: file holds more than one YAML document; a policy is one"},
		{"syntax", "version: [1\n", "p.yml:1:"},
		{"duplicate key", "version: 1\nversion: 1\nrules: []\n", "p.yml:2:1: error:"},
		{"no rules", "version: 1\nrules: []\n", "p.yml:2:8: error: "},
		{"wrong version", "version: 2\nrules: [{name: r, match: {repository_id: '1'}}]\n", "p.yml:1:10: error: "},
		{"unknown top field", "version: 1\nrule: []\nrules: [{name: r, match: {repository_id: '1'}}]\n", `p.yml:2:1: error: unknown field "rule"; a policy has version and rules [policy-schema]`},
		{"unknown claim", rule("      repo: octo-org/octo-repo\n"), `p.yml:5:7: error: unknown field "repo"; match takes repository,`},
		{"id not numeric", rule("      repository_id: octo\n"), "p.yml:5:22: error: must be a numeric id (string or number) or a list of them [policy-schema]"},
		{"empty list", rule("      repository_id: []\n"), "p.yml:5:22: error: must be a numeric id"},
		{"no identity", rule("      ref: refs/heads/main\n"), "p.yml:4:5: error: the rule names no repository or owner"},
		{"owner glob", rule("      repository: '*/octo-repo'\n"), `p.yml:5:19: error: repository pattern "*/octo-repo" leaves the owner open`},
		{"sub without repo:", rule("      sub: 'octo-org/*'\n"), `p.yml:5:12: error: sub pattern "octo-org/*" must start with repo:OWNER/`},
		{"sub with an owner glob", rule("      sub: 'repo:*/x:ref:refs/heads/main'\n"), `p.yml:5:12: error: sub pattern "repo:*/x:ref:refs/heads/main" must start with repo:OWNER/`},
		{"customised sub with an id glob", rule("      sub: 'repository_owner_id:*:environment:production'\n"), `p.yml:5:12: error: sub pattern`},
		{"triple star", rule("      repository: octo-org/***\n"), `p.yml:5:19: error: repository pattern "octo-org/***": *** is not a pattern`},
		{"ttl too long", rule("      repository_id: '1'\n    ttl: 2h\n"), "p.yml:6:10: error: ttl 2h is outside 2m..60m"},
		{"ttl too short", rule("      repository_id: '1'\n    ttl: 90s\n"), "p.yml:6:10: error: ttl 90s is outside 2m..60m"},
		{"ttl malformed", rule("      repository_id: '1'\n    ttl: soon\n"), "p.yml:6:10: error: "},
		{"duplicate rule name", "version: 1\nrules:\n  - {name: r, match: {repository_id: '1'}}\n  - {name: r, match: {repository_id: '2'}}\n", `p.yml:4:12: error: rule name "r" is already used by rule 1`},
		{"missing match", "version: 1\nrules:\n  - name: r\n", "p.yml:3:5: error: missing required field match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, diags, err := LoadPolicy("p.yml", []byte(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			if p != nil || !diags.HasErrors() {
				t.Fatalf("LoadPolicy() = %v, %v; want no policy and errors", p, diags)
			}
			var got []string
			for _, d := range diags {
				got = append(got, d.String())
			}
			if !strings.HasPrefix(got[0], tc.want) {
				t.Errorf("first finding = %q, want prefix %q (all: %q)", got[0], tc.want, got)
			}
		})
	}
}

func TestPolicySchemaIsValid(t *testing.T) {
	// Compiled against the 2020-12 metaschema, and its claim list is
	// MatchClaims.
	c := jsonschema.NewCompiler()
	doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(PolicySchema())))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.AddResource("x.json", doc); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("x.json"); err != nil {
		t.Fatal(err)
	}
	var s struct {
		Defs struct {
			Rule struct {
				Properties struct {
					Match struct {
						Properties map[string]any `json:"properties"`
					} `json:"match"`
				} `json:"properties"`
			} `json:"rule"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(PolicySchema(), &s); err != nil {
		t.Fatal(err)
	}
	if got := len(s.Defs.Rule.Properties.Match.Properties); got != len(MatchClaims) {
		t.Errorf("schema match has %d claims, MatchClaims %d", got, len(MatchClaims))
	}
	for _, c := range MatchClaims {
		if _, ok := s.Defs.Rule.Properties.Match.Properties[c]; !ok {
			t.Errorf("schema lacks claim %s", c)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		p, s string
		want bool
	}{
		{"refs/heads/main", "refs/heads/main", true},
		{"refs/heads/main", "refs/heads/mainx", false},
		{"refs/tags/v*", "refs/tags/v1.2.3", true},
		{"refs/tags/v*", "refs/tags/v1/evil", false},
		{"refs/heads/**", "refs/heads/feature/x", true},
		{"octo-org/*", "octo-org/octo-repo", true},
		{"octo-org/*", "octo-org-evil/octo-repo", false},
		{"repo:octo-org/*:environment:production", "repo:octo-org/a:environment:production", true},
		{"repo:octo-org/*:environment:production", "repo:octo-org/a:ref:refs/heads/x:environment:production", false},
		{"repo:octo-org/**:environment:production", "repo:octo-org/a:ref:refs/heads/x:environment:production", true},
		{"v?", "v1", true},
		{"v?", "v/", false},
		{"*", "", true},
		{"a*a*a*a*a*a*a*a*b", strings.Repeat("a", 200), false},
	} {
		if got := globMatch(tc.p, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tc.p, tc.s, got, tc.want)
		}
	}
}

func githubClaims() Claims {
	return Claims{
		"repository": "octo-org/octo-repo", "repository_id": "123456789", "repository_owner": "octo-org",
		"repository_owner_id": "65432", "ref": "refs/heads/main", "ref_type": "branch", "event_name": "push",
		"environment": "production", "sub": "repo:octo-org/octo-repo:environment:production",
	}
}

func TestEvaluate(t *testing.T) {
	p, _, _ := LoadPolicy("p.yml", []byte(examplePolicy))
	with := func(k, v string) Claims { c := githubClaims(); c[k] = v; return c }
	for _, tc := range []struct {
		name      string
		claims    Claims
		rule      string
		misses    []Miss
		untrusted bool
	}{
		{name: "main push", claims: githubClaims(), rule: "deploy-main"},
		{name: "tag", claims: with("ref", "refs/tags/v1.0.0"), rule: "org-release",
			misses: []Miss{{"deploy-main", `ref is "refs/tags/v1.0.0", rule wants "refs/heads/main"`}}},
		{name: "renamed repository keeps its id", claims: with("repository", "octo-org/renamed"), rule: "deploy-main"},
		{name: "re-created repository has another id", claims: with("repository_id", "999"), misses: []Miss{
			{"deploy-main", `repository_id is "999", rule wants "123456789"`},
			{"org-release", `ref is "refs/heads/main", rule wants "refs/tags/v*"`}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Evaluate(tc.claims)
			got := ""
			if d.Rule != nil {
				got = d.Rule.Name
			}
			if got != tc.rule {
				t.Errorf("Evaluate().Rule = %q, want %q", got, tc.rule)
			}
			if diff := cmp.Diff(tc.misses, d.Misses); diff != "" {
				t.Errorf("Misses (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUntrustedEvents(t *testing.T) {
	src := `version: 1
rules:
  - name: any-event
    match: {repository_owner: octo-org}
  - name: glob-event
    match: {repository_owner: octo-org, event_name: "pull_*"}
  - name: named
    match: {repository_owner: octo-org, event_name: [pull_request_target]}
`
	p, diags, _ := LoadPolicy("p.yml", []byte(src))
	if p == nil {
		t.Fatal(diags)
	}
	for event, want := range map[string]string{"push": "any-event", "pull_request": "", "pull_request_target": "named"} {
		c := githubClaims()
		c["event_name"] = event
		d := p.Evaluate(c)
		got := ""
		if d.Rule != nil {
			got = d.Rule.Name
		}
		if got != want {
			t.Errorf("event %s: rule %q, want %q (misses %v)", event, got, want, d.Misses)
		}
		if want == "" && (!d.Untrusted || len(d.Misses) != 3 || !strings.Contains(d.Misses[0].Reason, "can run code from a fork")) {
			t.Errorf("event %s: %+v, want Untrusted with the reason", event, d)
		}
	}
}

// FuzzBrokerPolicy: the loader never panics, and it returns either a
// policy or positioned errors, never both nor neither.
func FuzzBrokerPolicy(f *testing.F) {
	f.Add([]byte(examplePolicy))
	// The README's examples seed the corpus too.
	if readme, err := os.ReadFile("../../README.md"); err == nil {
		for _, block := range strings.Split(string(readme), "```yaml\n")[1:] {
			if src, _, _ := strings.Cut(block, "```"); strings.HasPrefix(src, "version: 1") {
				f.Add([]byte(src))
			}
		}
	}
	f.Add([]byte("version: 1\nrules:\n  - name: r\n    match: {repository: 'a/**', sub: [repo:a/b]}\n    ttl: 2m\n"))
	f.Add([]byte("version: 1\nrules: [{name: r, match: {repository_id: 1}}, &a {name: s}]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, diags, err := LoadPolicy("f.yml", src)
		if err != nil {
			t.Fatal(err)
		}
		if (p == nil) != diags.HasErrors() {
			t.Fatalf("policy %v with findings %v", p != nil, diags)
		}
		for _, d := range diags {
			if d.Pos.Line < 1 || d.Pos.Column < 1 {
				t.Fatalf("unpositioned finding %s", d)
			}
		}
		if p != nil {
			p.Evaluate(githubClaims())
		}
	})
}
