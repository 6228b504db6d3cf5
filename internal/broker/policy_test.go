package broker

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/takos-dev/takos-apply/pkg/diag"
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

// TestUntrustedEventsByDefault (audit finding): a rule without event_name
// once granted issue_comment, workflow_run and
// pull_request_review_comment, and the fork-event check was exact-case, so
// Pull_Request_Target passed. Every event of forks and outsiders is now
// refused unless the matching rule names it literally, in any case.
func TestUntrustedEventsByDefault(t *testing.T) {
	p, diags, _ := LoadPolicy("p.yml", []byte(`version: 1
rules:
  - name: any-event
    match: {repository_id: "123456789"}
  - name: glob-event
    match: {repository_id: "123456789", event_name: ["*", "issue_*", "pull_request?target"]}
`))
	if p == nil {
		t.Fatal(diags)
	}
	var events []string
	for _, e := range UntrustedEvents {
		events = append(events, e, strings.ToUpper(e), strings.ToUpper(e[:1])+e[1:])
	}
	events = append(events, "Pull_Request_Target", "Issue_Comment", "WORKFLOW_RUN")
	for _, e := range events {
		c := githubClaims()
		c["event_name"] = e
		d := p.Evaluate(c)
		if d.Rule != nil || !d.Untrusted {
			t.Errorf("event %s: rule %v, untrusted %v; want refused as untrusted", e, d.Rule.nameOr(), d.Untrusted)
		}
		if code := PolicyRefusal(d, c).Code; code != "unauthorized_client" {
			t.Errorf("event %s: refusal %s, want unauthorized_client", e, code)
		}
	}
	for _, want := range []string{"pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment",
		"issue_comment", "issues", "discussion", "discussion_comment", "workflow_run"} {
		if !slices.Contains(UntrustedEvents, want) {
			t.Errorf("UntrustedEvents lacks %s", want)
		}
	}
	for _, e := range []string{"push", "workflow_dispatch", "release", "schedule", "merge_group"} {
		c := githubClaims()
		c["event_name"] = e
		if d := p.Evaluate(c); d.Rule == nil || d.Rule.Name != "any-event" {
			t.Errorf("event %s: %+v, want any-event", e, d)
		}
	}
	// Named literally, in any case, the event is allowed by that rule.
	named, _, _ := LoadPolicy("p.yml", []byte("version: 1\nrules:\n  - name: comments\n    match: {repository_id: \"123456789\", event_name: [issue_comment, push]}\n"))
	for _, e := range []string{"issue_comment", "Issue_Comment"} {
		c := githubClaims()
		c["event_name"] = e
		d := named.Evaluate(c)
		if e == "issue_comment" && (d.Rule == nil || d.Untrusted) {
			t.Errorf("event %s named by the rule: %+v, want granted", e, d)
		}
		if e == "Issue_Comment" && d.Rule != nil {
			// The glob comparison is exact: a mixed-case event matches no
			// lower-case pattern, so it is denied (never granted by case).
			t.Errorf("event %s: granted by %s, want denied", e, d.Rule.Name)
		}
	}
}

// TestDecodeClaims (audit finding): a signed repository_id 41.6 or 4.2e1
// was rendered "42" and granted by a repository_id "42" rule, while broker
// check said denied. A number claim is now an integer in canonical form or
// nothing, with a note, in the one decoder the server and check share.
func TestDecodeClaims(t *testing.T) {
	p, _, _ := LoadPolicy("p.yml", []byte("version: 1\nrules:\n  - name: r42\n    match: {repository_id: \"42\"}\n"))
	for _, tc := range []struct {
		payload string
		value   string // "" = absent
		granted bool
	}{
		{`{"repository_id": "42"}`, "42", true},
		{`{"repository_id": 42}`, "42", true},
		{`{"repository_id": 41.6}`, "", false},
		{`{"repository_id": 4.2e1}`, "", false},
		{`{"repository_id": 42.0}`, "", false},
		{`{"repository_id": 420e-1}`, "", false},
		{`{"repository_id": -0}`, "", false},
		{`{"repository_id": true}`, "", false},
		{`{"repository_id": ["42"]}`, "", false},
		{`{"repository_id": null}`, "", false},
		{`{"repository_id": "42 "}`, "42 ", false},
		{`{"repository_id": "4.2e1"}`, "4.2e1", false},
	} {
		c, notes, err := DecodeClaims([]byte(tc.payload))
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := c["repository_id"]; got != tc.value || ok != (tc.value != "") {
			t.Errorf("%s: repository_id = %q (%v), want %q", tc.payload, got, ok, tc.value)
		}
		if tc.value == "" && (len(notes) != 1 || !strings.Contains(notes[0], "neither a string nor an integer written in canonical form")) {
			t.Errorf("%s: notes %q, want one saying why the claim was left out", tc.payload, notes)
		}
		d, _, err := p.Decide([]byte(tc.payload))
		if err != nil || (d.Rule != nil) != tc.granted {
			t.Errorf("%s: Decide = %+v, %v; want granted %v", tc.payload, d, err, tc.granted)
		}
		if !tc.granted && tc.value == "" && !strings.Contains(PolicyRefusal(d, c).Description, "canonical form") {
			t.Errorf("%s: refusal %q does not say why the claim was not used", tc.payload, PolicyRefusal(d, c).Description)
		}
	}
	for _, bad := range []string{`[1]`, `null`, `"x"`, `{`} {
		if _, _, err := DecodeClaims([]byte(bad)); err == nil {
			t.Errorf("DecodeClaims(%s) = nil error", bad)
		}
	}
}

// TestSubFormHint: a pattern in the old subject form never matches the
// immutable form GitHub gives repositories created or renamed from
// 2026-07-15; the refusal (and broker check) says so and what to write.
func TestSubFormHint(t *testing.T) {
	p, diags, _ := LoadPolicy("p.yml", []byte(`version: 1
rules:
  - name: old-sub
    match: {sub: "repo:octo-org/octo-repo:environment:production"}
  - name: new-sub
    match: {sub: "repo:octo-org@65432/octo-repo@123456789:environment:staging"}
`))
	if p == nil {
		t.Fatal(diags)
	}
	c := githubClaims()
	c["sub"] = "repo:octo-org@65432/octo-repo@123456789:environment:production"
	d := p.Evaluate(c)
	if d.Rule != nil {
		t.Fatalf("granted by %s", d.Rule.Name)
	}
	want := `the pattern "repo:octo-org/octo-repo:environment:production" uses the old subject form repo:OWNER/REPO:…, but this token's sub has GitHub's immutable form ` +
		`(repositories created or renamed from 2026-07-15), which the old form never matches: write "repo:octo-org@65432/octo-repo@123456789:environment:production", or match repository_id instead`
	if !strings.Contains(d.Misses[0].Reason, want) {
		t.Errorf("old-sub miss = %q, want the hint %q", d.Misses[0].Reason, want)
	}
	if strings.Contains(d.Misses[1].Reason, "old subject form") {
		t.Errorf("new-sub miss = %q: a new-form pattern needs no hint", d.Misses[1].Reason)
	}
	// The immutable form with an environment, and an old-form token, both
	// match their own form.
	c["sub"] = "repo:octo-org@65432/octo-repo@123456789:environment:staging"
	if d := p.Evaluate(c); d.Rule == nil || d.Rule.Name != "new-sub" {
		t.Errorf("immutable sub: %+v, want new-sub", d)
	}
	c["sub"] = "repo:octo-org/octo-repo:environment:production"
	if d := p.Evaluate(c); d.Rule == nil || d.Rule.Name != "old-sub" {
		t.Errorf("old sub: %+v, want old-sub", d)
	}
}

func TestPermissions(t *testing.T) {
	p, diags, _ := LoadPolicy("p.yml", []byte(`version: 1
rules:
  - name: plan-only
    match: {repository_id: "1"}
    permissions: {allow: [env:read, clients:read]}
  - name: clients
    match: {repository_id: "2"}
    permissions: {allow: [clients:write], clients: ["Demo*", "demo-app"]}
  - name: one-space
    match: {repository_id: "3"}
    permissions: {spaces: [me, spc_0123]}
`))
	if p == nil {
		t.Fatal(diags)
	}
	want := []Permissions{
		{Allow: []string{CapClientsRead, CapEnvRead}},
		{Allow: []string{CapClientsRead, CapClientsWrite}, Clients: []string{"Demo*", "demo-app"}},
		{Allow: Capabilities[:], Spaces: []string{"me", "spc_0123"}},
	}
	for i, r := range p.Rules {
		if diff := cmp.Diff(want[i], r.Permissions); diff != "" {
			t.Errorf("rule %s permissions (-want +got):\n%s", r.Name, diff)
		}
	}
	// A limit on something the rule cannot reach is a warning.
	_, diags, _ = LoadPolicy("p.yml", []byte("version: 1\nrules:\n  - name: r\n    match: {repository_id: \"1\"}\n    permissions: {allow: [clients:read], spaces: [me]}\n"))
	if len(diags) != 1 || diags[0].String() != "p.yml:5:42: warning: spaces has no effect: the rule allows neither env:read nor env:write [policy-no-effect]" {
		t.Errorf("diags = %v", diags)
	}
}

// TestCheckDecidesAsTheServer (audit finding: broker check said denied
// where the server granted): for each token, the server's answer and
// Decide on the same payload — what broker check runs — agree.
func TestCheckDecidesAsTheServer(t *testing.T) {
	f := newFixture(t, `version: 1
rules:
  - name: r42
    match: {repository_id: "42"}
  - name: main
    match: {repository_id: "123456789", ref: refs/heads/main}
`)
	for _, mod := range []map[string]any{
		{"repository_id": "42"},
		{"repository_id": 42},
		{"repository_id": 41.6},
		{"repository_id": json.Number("4.2e1")},
		{"repository_id": json.Number("42.0")},
		{"event_name": "Pull_Request_Target"},
		{"event_name": "issue_comment"},
		{"event_name": "workflow_run"},
		{"ref": "refs/heads/dev"},
		{},
	} {
		claims := f.gh.Claims(f.cfg.URL)
		for k, v := range mod {
			claims[k] = v
		}
		tok, err := f.gh.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		a := f.post(exchangeForm(tok))
		payload, _ := TokenPayload([]byte(tok))
		d, c, err := f.cfg.Policy.Decide(payload)
		if err != nil {
			t.Fatal(err)
		}
		check := "granted"
		if d.Rule == nil {
			check = PolicyRefusal(d, c).Code
		}
		server := "granted"
		if a.status != 200 {
			server, _ = a.body["error"].(string)
		}
		if check != server {
			t.Errorf("%v: broker check says %s, the server %s (%s)", mod, check, server, a.raw)
		}
	}
}

// TestCatalog: the broker's rules form a catalogue (one ID each).
func TestCatalog(t *testing.T) {
	c, err := diag.NewCatalog(rules.Rules())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"policy-rule", "policy-no-effect", "policy-test", "policy-test-token"} {
		if _, ok := c.Lookup(id); !ok {
			t.Errorf("the broker's catalogue lacks %s", id)
		}
	}
}
