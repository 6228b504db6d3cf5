package broker

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
	"github.com/takos-dev/takos-apply/schema"
)

//go:embed policy.schema.json
var policySchemaJSON []byte

// PolicySchemaID is the $id of the embedded policy schema.
const PolicySchemaID = "https://schemas.takos.dev/takos-apply/broker-policy.schema.json"

// PolicySchema returns the embedded JSON Schema of the trust policy (a
// fresh copy).
func PolicySchema() []byte { return bytes.Clone(policySchemaJSON) }

// TTL bounds of the job's access token.
const (
	DefaultTTL = 10 * time.Minute
	MinTTL     = 2 * time.Minute // takos-apply renews a token 1 min before expiry
	MaxTTL     = 60 * time.Minute
)

// MatchClaims are the claims a rule can match, in the order they are
// checked and printed.
var MatchClaims = [...]string{
	"repository", "repository_id", "repository_owner", "repository_owner_id", "ref", "ref_type",
	"environment", "event_name", "job_workflow_ref", "runner_environment", "sub",
}

// Capabilities a rule can grant: what the job's token may do through the
// gateway (routes.go maps every route to one). A write capability
// includes its read.
const (
	CapClientsRead  = "clients:read"
	CapClientsWrite = "clients:write"
	CapEnvRead      = "env:read"
	CapEnvWrite     = "env:write"
)

// Capabilities lists every capability, in the order they are printed.
var Capabilities = [...]string{CapClientsRead, CapClientsWrite, CapEnvRead, CapEnvWrite}

// Policy is a loaded trust policy: deny by default, the first matching
// rule grants.
type Policy struct {
	Path  string
	Rules []Rule
}

// Rule grants an access token of TTL with Permissions to tokens whose
// claims all match.
type Rule struct {
	Name        string
	TTL         time.Duration
	Match       []Condition
	Permissions Permissions
}

// Condition is one claim and the patterns (any of) it must match.
type Condition struct {
	Claim    string
	Patterns []string
}

// Permissions say what a rule's token may do through the gateway.
type Permissions struct {
	// Allow holds the capabilities, reads implied by writes included, in
	// Capabilities order.
	Allow []string
	// Spaces are the space ids (or "me") whose env the token may reach;
	// nil means every space of the deploy account.
	Spaces []string
	// Clients are client_name patterns of the OAuth clients the token may
	// see and manage; nil means every client.
	Clients []string
}

// DefaultPermissions are exactly what takos-apply apply needs.
func DefaultPermissions() Permissions {
	return Permissions{Allow: Capabilities[:]}
}

// Has reports whether the permissions include capability c.
func (p Permissions) Has(c string) bool { return slices.Contains(p.Allow, c) }

// String renders the permissions for messages and the token's scope.
func (p Permissions) String() string { return strings.Join(p.Allow, " ") }

// Rule returns the rule named name, or nil.
func (p *Policy) Rule(name string) *Rule {
	for i := range p.Rules {
		if p.Rules[i].Name == name {
			return &p.Rules[i]
		}
	}
	return nil
}

// PolicyKind is the trust policy for the YAML loader's messages.
var PolicyKind = manifest.Kind{
	Name:   "policy",
	Noun:   "a trust policy",
	Start:  "a policy starts with version: 1 and rules:",
	Reader: "the broker",
}

// policyLimits bound a policy file: a real one is a few KiB.
var policyLimits = manifest.Limits{MaxBytes: 1 << 20, MaxDepth: 16, MaxKeys: 1000, MaxNodes: 100_000}

// LoadPolicy parses and checks a policy file through the same positioned
// YAML and schema loader as app.yml (manifest.LoadSchema), so every
// finding names path:line:col and reads like a lint finding. It returns
// nil and the findings when any is an error; the broker must not start
// then. The error is for an embedded schema that does not compile.
func LoadPolicy(path string, src []byte) (*Policy, diag.List, error) {
	p, _, diags, err := CheckPolicy(path, src)
	return p, diags, err
}

// CheckPolicy is LoadPolicy that also returns the parsed document, for
// findings shown with their source lines.
func CheckPolicy(path string, src []byte) (*Policy, *manifest.Document, diag.List, error) {
	sch, err := compiledPolicySchema()
	if err != nil {
		return nil, nil, nil, err
	}
	doc, diags, err := manifest.LoadSchema(path, src, policyLimits, PolicyKind, sch)
	if err != nil {
		return nil, nil, nil, err
	}
	if doc.Value == nil || diags.HasErrors() {
		return nil, doc, diags, nil
	}
	p := &Policy{Path: path}
	seen := map[string]int{}
	for i, raw := range doc.Value.(map[string]any)["rules"].([]any) {
		ptr := manifest.Pointer("rules", fmt.Sprint(i))
		r, ds := buildRule(doc, ptr, raw.(map[string]any))
		diags = append(diags, ds...)
		if prev, dup := seen[r.Name]; dup {
			diags = append(diags, doc.Finding(ptr+"/name", RulePolicyRule,
				fmt.Sprintf("rule name %q is already used by rule %d; give every rule its own name (the audit log records it)", r.Name, prev+1)))
		} else {
			seen[r.Name] = i
		}
		p.Rules = append(p.Rules, r)
	}
	diags.Sort()
	if diags.HasErrors() {
		return nil, doc, diags, nil
	}
	return p, doc, diags, nil
}

// identityClaims pin whose workflows a rule trusts. Every rule needs one,
// so that no rule can grant to every repository on GitHub.
var identityClaims = []string{"repository", "repository_id", "repository_owner", "repository_owner_id", "sub"}

func buildRule(doc *manifest.Document, ptr string, m map[string]any) (Rule, diag.List) {
	var diags diag.List
	r := Rule{Name: m["name"].(string), TTL: DefaultTTL, Permissions: DefaultPermissions()}
	if s, ok := m["ttl"].(string); ok {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			diags = append(diags, doc.Finding(ptr+"/ttl", RulePolicyRule, fmt.Sprintf("ttl %q is not a duration such as 10m", s)))
		case d < MinTTL:
			diags = append(diags, doc.Finding(ptr+"/ttl", RulePolicyRule,
				fmt.Sprintf("ttl %s is shorter than 2m: takos-apply renews its token a minute before it expires, so it would fetch a new one for almost every request; write 2m or more (default 10m)", s)))
		case d > MaxTTL:
			diags = append(diags, doc.Finding(ptr+"/ttl", RulePolicyRule,
				fmt.Sprintf("ttl %s is longer than 60m: the job's token acts with the rule's permissions until it expires, and a deploy needs minutes; write 60m or less (default 10m)", s)))
		default:
			r.TTL = d
		}
	}
	match := m["match"].(map[string]any)
	identified := false
	for _, claim := range MatchClaims {
		v, ok := match[claim]
		if !ok {
			continue
		}
		cptr := ptr + "/match/" + claim
		var pats []string
		_, list := v.([]any)
		if list {
			for _, e := range v.([]any) {
				pats = append(pats, scalarString(e))
			}
		} else {
			pats = []string{scalarString(v)}
		}
		for j, pat := range pats {
			pptr := cptr
			if list {
				pptr = cptr + "/" + fmt.Sprint(j)
			}
			if msg := patternProblem(claim, pat); msg != "" {
				diags = append(diags, doc.Finding(pptr, RulePolicyRule, msg))
			}
			if slices.Contains(identityClaims, claim) {
				identified = true
			}
		}
		r.Match = append(r.Match, Condition{Claim: claim, Patterns: pats})
	}
	if !identified {
		diags = append(diags, doc.KeyFinding(ptr+"/match", RulePolicyRule,
			"the rule names no repository or owner: add repository_id (recommended), repository_owner_id, repository, repository_owner or sub, or it would trust every GitHub repository"))
	}
	if pm, ok := m["permissions"].(map[string]any); ok {
		var ds diag.List
		r.Permissions, ds = buildPermissions(doc, ptr+"/permissions", pm)
		diags = append(diags, ds...)
	}
	return r, diags
}

// patternProblem checks one match pattern beyond the schema.
func patternProblem(claim, pat string) string {
	if err := checkGlob(pat); err != nil {
		return fmt.Sprintf("%s pattern %s: %v", claim, safetext.Quote(pat, 200), err)
	}
	switch claim {
	case "repository_id", "repository_owner_id":
		// The schema lets integers through; 4.2e1 and 42.0 are integers
		// to it, but a token's id is its digits.
		if !canonicalInt().MatchString(pat) || strings.HasPrefix(pat, "-") {
			msg := fmt.Sprintf("%s %s is not written as GitHub writes ids (digits, no leading zero, fraction or exponent), so it would match no token", claim, pat)
			if r, ok := new(big.Rat).SetString(pat); ok && r.IsInt() && r.Sign() >= 0 {
				msg += fmt.Sprintf("; write \"%s\"", r.Num())
			}
			return msg
		}
	case "event_name":
		if l := strings.ToLower(pat); l != pat {
			return fmt.Sprintf("event_name pattern %s: GitHub's event names are lower case; write %s", safetext.Quote(pat, 60), safetext.Quote(l, 60))
		}
	}
	if slices.Contains(identityClaims, claim) {
		return identityProblem(claim, pat)
	}
	return ""
}

// buildPermissions reads a rule's permissions: reads implied by writes
// are added, so Has answers for the route table directly.
func buildPermissions(doc *manifest.Document, ptr string, m map[string]any) (Permissions, diag.List) {
	var diags diag.List
	p := DefaultPermissions()
	if allow, ok := m["allow"].([]any); ok {
		set := map[string]bool{}
		for _, a := range allow {
			c := a.(string)
			set[c] = true
			switch c {
			case CapClientsWrite:
				set[CapClientsRead] = true
			case CapEnvWrite:
				set[CapEnvRead] = true
			}
		}
		p.Allow = nil
		for _, c := range Capabilities {
			if set[c] {
				p.Allow = append(p.Allow, c)
			}
		}
	}
	if spaces, ok := m["spaces"].([]any); ok {
		for _, s := range spaces {
			p.Spaces = append(p.Spaces, s.(string))
		}
		if !p.Has(CapEnvRead) {
			diags = append(diags, doc.KeyFinding(ptr+"/spaces", rulePolicyNoEffect,
				"spaces has no effect: the rule allows neither env:read nor env:write"))
		}
	}
	if clients, ok := m["clients"].([]any); ok {
		for i, c := range clients {
			pat := c.(string)
			if err := checkGlob(pat); err != nil {
				diags = append(diags, doc.Finding(fmt.Sprintf("%s/clients/%d", ptr, i), RulePolicyRule,
					fmt.Sprintf("clients pattern %s: %v", safetext.Quote(pat, 200), err)))
			}
			p.Clients = append(p.Clients, pat)
		}
		if !p.Has(CapClientsRead) {
			diags = append(diags, doc.KeyFinding(ptr+"/clients", rulePolicyNoEffect,
				"clients has no effect: the rule allows neither clients:read nor clients:write"))
		}
	}
	return p, diags
}

// subIdentity matches the literal start of a sub pattern that pins an
// owner: GitHub's default repo:OWNER/REPO:… or its immutable
// repo:OWNER@OWNER_ID/REPO@REPO_ID:…, or a customised subject template
// that starts with an id or owner claim
// (repository_owner_id:65432:repository_id:…).
var subIdentity = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(repo:[^/*?]+/|(repository_owner_id|repository_id):[0-9]+(:|$)|repository_owner:[^:*?]+(:|$))`)
})

// identityProblem refuses identity patterns that would match any owner.
func identityProblem(claim, pat string) string {
	owner := pat
	switch claim {
	case "repository":
		owner, _, _ = strings.Cut(pat, "/")
	case "sub":
		if !subIdentity().MatchString(pat) {
			return fmt.Sprintf("sub pattern %s must start with repo:OWNER/ or repo:OWNER@OWNER_ID/ (GitHub's subject formats), or repository_owner_id:ID: or repository_id:ID: (a customised subject), with no wildcard before", safetext.Quote(pat, 200))
		}
		return ""
	}
	if owner == "" || strings.ContainsAny(owner, "*?") {
		return fmt.Sprintf("%s pattern %s leaves the owner open; the owner part must be literal", claim, safetext.Quote(pat, 200))
	}
	return ""
}

func scalarString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case json.Number:
		return t.String()
	}
	return fmt.Sprint(v)
}

var (
	policySchemaOnce sync.Once
	policySchema     *schema.Schema
	policySchemaErr  error
)

func compiledPolicySchema() (*schema.Schema, error) {
	policySchemaOnce.Do(func() {
		policySchema, policySchemaErr = schema.Compile(policySchemaJSON, schema.Options{
			ID: PolicySchemaID, Document: "the policy", ListFields: true,
			UnknownNote: "(the broker does not start with a field it does not know)",
		})
	})
	return policySchema, policySchemaErr
}
