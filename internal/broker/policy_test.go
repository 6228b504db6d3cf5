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
			{"repository_id", []string{"123456789"}}, {"ref", []string{"refs/heads/main"}}, {"event_name", []string{"push", "workflow_dispatch"}}},
			Permissions: DefaultPermissions()},
		{Name: "org-release", TTL: DefaultTTL, Match: []Condition{
			{"repository_owner_id", []string{"65432"}}, {"ref", []string{"refs/tags/v*"}}},
			Permissions: DefaultPermissions()},
	}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("LoadPolicy() (-want +got):\n%s", diff)
	}
}

// TestLoadPolicyErrors: every error is positioned at file:line:col and
// worded for a policy, by the loader app.yml uses (no schema jargon such
// as "minProperties: got 0, want 1", no app.yml wording).
func TestLoadPolicyErrors(t *testing.T) {
	rule := func(match string) string {
		return "version: 1\nrules:\n  - name: r\n    match:\n" + match
	}
	for _, tc := range []struct{ name, src, want string }{
		{"empty", "", "p.yml:1:1: error: file is empty; a policy starts with version: 1 and rules: [yaml-empty]"},
		{"null", "~\n", "p.yml:1:1: error: file holds no policy"},
		{"two documents", "version: 1\n---\nrules: []\n", "p.yml:2:1: error: file holds more than one YAML document; the broker reads exactly one, so remove the '---' separator"},
		{"merge key", "version: 1\nx: &a {name: r}\nrules: [{<<: *a, match: {repository_id: '1'}}]\n", "p.yml:3:10: error: merge key '<<' is not supported; write the keys out [yaml-merge-key]"},
		{"tag", "version: !!binary MQ==\nrules: []\n", "p.yml:1:10: error: tag !!binary is not supported; remove it (the broker reads plain YAML values)"},
		{"syntax", "version: [1\n", "p.yml:1:"},
		{"duplicate key", "version: 1\nversion: 1\nrules: []\n", "p.yml:2:1: error:"},
		{"no rules", "version: 1\nrules: []\n", "p.yml:2:8: error: rules must list at least one rule; a policy without rules denies every token"},
		{"wrong version", "version: 2\nrules: [{name: r, match: {repository_id: '1'}}]\n", "p.yml:1:10: error: version must be 1, the only policy format version, got 2 [schema-const]"},
		{"unknown top field", "version: 1\nrule: []\nrules: [{name: r, match: {repository_id: '1'}}]\n", `p.yml:2:1: error: unknown field "rule" at the top level; remove it or fix its name; the policy takes rules and version (the broker does not start with a field it does not know) [schema-unknown-field]`},
		{"unknown claim", rule("      repo: octo-org/octo-repo\n"), `p.yml:5:7: error: unknown field "repo" in rules[0].match; did you mean "repository"?`},
		{"unknown rule field", rule("      repository_id: '1'\n    permission: {allow: [env:read]}\n"), `p.yml:6:5: error: unknown field "permission" in rules[0]; did you mean "permissions"?`},
		{"unknown rule field, no near miss", rule("      repository_id: '1'\n    scope: x\n"), `p.yml:6:5: error: unknown field "scope" in rules[0]; remove it or fix its name; rules[0] takes description, match, name, permissions and ttl (the broker does not start with a field it does not know) [schema-unknown-field]`},
		{"empty match", "version: 1\nrules:\n  - name: r\n    match: {}\n", "p.yml:4:12: error: rules[0].match must name at least one claim; start with repository_id (recommended) [schema-invalid]"},
		{"id not numeric", rule("      repository_id: octo\n"), `p.yml:5:22: error: rules[0].match.repository_id must be a numeric id, such as "123456789"`},
		{"id with a leading zero", rule("      repository_owner_id: '042'\n"), `p.yml:5:28: error: repository_owner_id 042 is not written as GitHub writes ids`},
		{"empty list", rule("      repository_id: []\n"), "p.yml:5:22: error: rules[0].match.repository_id must list at least one item"},
		{"event in upper case", rule("      repository_id: '1'\n      event_name: Push\n"), `p.yml:6:19: error: event_name pattern "Push": GitHub's event names are lower case; write "push"`},
		{"unknown capability", rule("      repository_id: '1'\n    permissions: {allow: [clients:admin]}\n"), `p.yml:6:27: error: rules[0].permissions.allow[0] must be one of clients:read, clients:write, env:read, env:write, got "clients:admin"`},
		{"bad space id", rule("      repository_id: '1'\n    permissions: {spaces: [a/b]}\n"), `p.yml:6:28: error: rules[0].permissions.spaces[0] must be a space id (letters, digits, '_' or '-') or me, got "a/b"`},
		{"client glob typo", rule("      repository_id: '1'\n    permissions: {clients: ['a***']}\n"), `p.yml:6:29: error: clients pattern "a***": *** is not a pattern`},
		{"ttl not a duration", rule("      repository_id: '1'\n    ttl: 10\n"), "p.yml:6:10: error: rules[0].ttl must be a string, got number"},
		{"no identity", rule("      ref: refs/heads/main\n"), "p.yml:4:5: error: the rule names no repository or owner"},
		{"owner glob", rule("      repository: '*/octo-repo'\n"), `p.yml:5:19: error: repository pattern "*/octo-repo" leaves the owner open`},
		{"sub without repo:", rule("      sub: 'octo-org/*'\n"), `p.yml:5:12: error: sub pattern "octo-org/*" must start with repo:OWNER/`},
		{"sub with an owner glob", rule("      sub: 'repo:*/x:ref:refs/heads/main'\n"), `p.yml:5:12: error: sub pattern "repo:*/x:ref:refs/heads/main" must start with repo:OWNER/`},
		{"customised sub with an id glob", rule("      sub: 'repository_owner_id:*:environment:production'\n"), `p.yml:5:12: error: sub pattern`},
		{"triple star", rule("      repository: octo-org/***\n"), `p.yml:5:19: error: repository pattern "octo-org/***": *** is not a pattern`},
		{"ttl too long", rule("      repository_id: '1'\n    ttl: 2h\n"), "p.yml:6:10: error: ttl 2h is longer than 60m: the job's token acts with the rule's permissions until it expires"},
		{"ttl too short", rule("      repository_id: '1'\n    ttl: 1m\n"), "p.yml:6:10: error: ttl 1m is shorter than 2m: takos-apply renews its token a minute before it expires"},
		{"ttl malformed", rule("      repository_id: '1'\n    ttl: soon\n"), `p.yml:6:10: error: rules[0].ttl must be a duration such as 10m, 90s or 1h, got "soon"`},
		{"duplicate rule name", "version: 1\nrules:\n  - {name: r, match: {repository_id: '1'}}\n  - {name: r, match: {repository_id: '2'}}\n", `p.yml:4:12: error: rule name "r" is already used by rule 1`},
		{"missing match", "version: 1\nrules:\n  - name: r\n", `p.yml:3:5: error: missing required field "match" in rules[0] [schema-required]`},
		{"bad rule name", "version: 1\nrules:\n  - {name: 'a b', match: {repository_id: '1'}}\n", `p.yml:3:12: error: rules[0].name must be letters, digits, '.', '_' or '-'`},
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
		if want == "" && (!d.Untrusted || len(d.Misses) != 3 || !strings.Contains(d.Misses[0].Reason, "can run code or inputs of a fork or an outsider")) {
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
