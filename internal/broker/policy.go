package broker

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/takos-dev/takos-apply/internal/jsonptr"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

//go:embed policy.schema.json
var policySchemaJSON []byte

// PolicySchemaID is the $id of the embedded policy schema.
const PolicySchemaID = "https://schemas.takos.dev/takos-apply/broker-policy.schema.json"

// PolicySchema returns the embedded JSON Schema of the trust policy (a
// fresh copy).
func PolicySchema() []byte { return bytes.Clone(policySchemaJSON) }

// Rule identifiers of policy findings.
const (
	RulePolicySchema = "policy-schema"
	RulePolicyRule   = "policy-rule"
)

// TTL bounds of a minted PAT: short, because a PAT acts as the deploy
// account on all of /api/me until it expires.
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

// untrustedEvents run code or inputs a fork can control with the base
// repository's OIDC permission: a token from them is refused unless the
// matching rule names the event literally in event_name.
var untrustedEvents = []string{"pull_request", "pull_request_target"}

// Policy is a loaded trust policy: deny by default, the first matching
// rule grants.
type Policy struct {
	Path  string
	Rules []Rule
}

// Rule grants a PAT of TTL to tokens whose claims all match.
type Rule struct {
	Name  string
	TTL   time.Duration
	Match []Condition
}

// Condition is one claim and the patterns (any of) it must match.
type Condition struct {
	Claim    string
	Patterns []string
}

// LoadPolicy parses and checks a policy file through the same positioned
// YAML loader as app.yml, so every finding names path:line:col. It returns
// nil and the findings when any is an error; the broker must not start
// then. The error is for an embedded schema that does not compile.
func LoadPolicy(path string, src []byte) (*Policy, diag.List, error) {
	doc, diags := manifest.Parse(path, src, manifest.Limits{MaxBytes: 1 << 20, MaxDepth: 16, MaxKeys: 1000, MaxNodes: 100_000})
	if doc.Value == nil || diags.HasErrors() {
		return nil, policyWording(diags), nil
	}
	sch, err := compiledPolicySchema()
	if err != nil {
		return nil, nil, err
	}
	if verr := sch.Validate(doc.Value); verr != nil {
		var ve *jsonschema.ValidationError
		if !errors.As(verr, &ve) {
			return nil, nil, fmt.Errorf("validating %s: %w", path, verr)
		}
		diags = append(diags, schemaFindings(doc, ve)...)
		diags.Sort()
		return nil, diags, nil
	}
	p := &Policy{Path: path}
	seen := map[string]int{}
	for i, raw := range doc.Value.(map[string]any)["rules"].([]any) {
		ptr := manifest.Pointer("rules", fmt.Sprint(i))
		r, ds := buildRule(doc, ptr, raw.(map[string]any))
		diags = append(diags, ds...)
		if prev, dup := seen[r.Name]; dup {
			diags = append(diags, doc.Finding(ptr+"/name", diag.Error, RulePolicyRule,
				fmt.Sprintf("rule name %q is already used by rule %d; give every rule its own name (the audit log records it)", r.Name, prev+1)))
		} else {
			seen[r.Name] = i
		}
		p.Rules = append(p.Rules, r)
	}
	if diags.HasErrors() {
		diags.Sort()
		return nil, diags, nil
	}
	return p, diags, nil
}

// policyWording rewords the loader's findings that speak of an app.yml.
func policyWording(diags diag.List) diag.List {
	for i, d := range diags {
		switch d.Rule {
		case manifest.RuleEmpty:
			diags[i].Message = "file holds no policy; a policy starts with version: 1 and rules:"
		case manifest.RuleSize:
			diags[i].Message = "file is larger than 1 MiB; a trust policy is a few KiB, so check that this is the right file"
		case manifest.RuleMultiDoc:
			diags[i].Message = "file holds more than one YAML document; a policy is one, so remove the '---' separator and everything after it"
		case manifest.RuleTag:
			diags[i].Message = strings.Replace(d.Message, "Takos reads plain YAML values", "a policy is plain YAML", 1)
		case manifest.RuleMergeKey:
			diags[i].Message = "merge key '<<' is not supported; write the keys out"
		case manifest.RuleLimit:
			diags[i].Message = strings.Replace(d.Message, "an app.yml needs", "a policy needs", 1)
		}
	}
	return diags
}

// identityClaims pin whose workflows a rule trusts. Every rule needs one,
// so that no rule can grant to every repository on GitHub.
var identityClaims = []string{"repository", "repository_id", "repository_owner", "repository_owner_id", "sub"}

func buildRule(doc *manifest.Document, ptr string, m map[string]any) (Rule, diag.List) {
	var diags diag.List
	r := Rule{Name: m["name"].(string), TTL: DefaultTTL}
	if s, ok := m["ttl"].(string); ok {
		d, err := time.ParseDuration(s)
		switch {
		case err != nil:
			diags = append(diags, doc.Finding(ptr+"/ttl", diag.Error, RulePolicyRule, fmt.Sprintf("ttl %q is not a duration such as 10m", s)))
		case d < MinTTL || d > MaxTTL:
			diags = append(diags, doc.Finding(ptr+"/ttl", diag.Error, RulePolicyRule,
				fmt.Sprintf("ttl %s is outside 2m..60m; a minted PAT acts as the deploy account until it expires, so keep it short", s)))
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
		switch t := v.(type) {
		case []any:
			for _, e := range t {
				pats = append(pats, scalarString(e))
			}
		default:
			pats = []string{scalarString(t)}
		}
		for j, pat := range pats {
			pptr := cptr
			if _, list := v.([]any); list {
				pptr = cptr + "/" + fmt.Sprint(j)
			}
			if err := checkGlob(pat); err != nil {
				diags = append(diags, doc.Finding(pptr, diag.Error, RulePolicyRule, fmt.Sprintf("%s pattern %q: %v", claim, pat, err)))
			}
			if slices.Contains(identityClaims, claim) {
				identified = true
				if msg := identityProblem(claim, pat); msg != "" {
					diags = append(diags, doc.Finding(pptr, diag.Error, RulePolicyRule, msg))
				}
			}
		}
		r.Match = append(r.Match, Condition{Claim: claim, Patterns: pats})
	}
	if !identified {
		diags = append(diags, doc.KeyFinding(ptr+"/match", diag.Error, RulePolicyRule,
			"the rule names no repository or owner: add repository_id (recommended), repository_owner_id, repository, repository_owner or sub, or it would trust every GitHub repository"))
	}
	return r, diags
}

// subIdentity matches the literal start of a sub pattern that pins an
// owner: GitHub's default repo:OWNER/REPO:…, or a customised subject
// template that starts with an id or owner claim
// (repository_owner_id:65432:repository_id:…).
var subIdentity = regexp.MustCompile(`^(repo:[^/*?]+/|(repository_owner_id|repository_id):[0-9]+(:|$)|repository_owner:[^:*?]+(:|$))`)

// identityProblem refuses identity patterns that would match any owner.
func identityProblem(claim, pat string) string {
	owner := pat
	switch claim {
	case "repository":
		owner, _, _ = strings.Cut(pat, "/")
	case "sub":
		if !subIdentity.MatchString(pat) {
			return fmt.Sprintf("sub pattern %q must start with repo:OWNER/ (GitHub's subject format), or repository_owner_id:ID: or repository_id:ID: (a customised subject), with no wildcard before", pat)
		}
		return ""
	}
	if owner == "" || strings.ContainsAny(owner, "*?") {
		return fmt.Sprintf("%s pattern %q leaves the owner open; the owner part must be literal", claim, pat)
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
	policySchema     *jsonschema.Schema
	policySchemaErr  error
)

func compiledPolicySchema() (*jsonschema.Schema, error) {
	policySchemaOnce.Do(func() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(policySchemaJSON))
		if err != nil {
			policySchemaErr = fmt.Errorf("parse embedded policy schema: %w", err)
			return
		}
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource(PolicySchemaID, doc); err != nil {
			policySchemaErr = fmt.Errorf("add embedded policy schema: %w", err)
			return
		}
		policySchema, policySchemaErr = c.Compile(PolicySchemaID)
	})
	return policySchema, policySchemaErr
}

var printer = message.NewPrinter(language.English)

// schemaFindings positions the leaves of a validation error tree: unknown
// and missing keys at their mapping's key, everything else at the value.
// A oneOf whose branches all failed is reported once, at its value.
func schemaFindings(doc *manifest.Document, ve *jsonschema.ValidationError) diag.List {
	var out diag.List
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		ptr := jsonptr.Format(e.InstanceLocation...)
		switch k := e.ErrorKind.(type) {
		case *kind.OneOf:
			out = append(out, doc.Finding(ptr, diag.Error, RulePolicySchema, oneOfMessage(ptr)))
			return
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				out = append(out, doc.KeyFinding(jsonptr.Format(append(slices.Clone(e.InstanceLocation), p)...), diag.Error, RulePolicySchema,
					fmt.Sprintf("unknown field %s%s", safetext.Quote(p, 60), allowedHint(ptr))))
			}
			return
		case *kind.Required:
			out = append(out, doc.KeyFinding(ptr, diag.Error, RulePolicySchema,
				fmt.Sprintf("missing required field %s", strings.Join(k.Missing, ", "))))
			return
		}
		if len(e.Causes) == 0 {
			out = append(out, doc.Finding(ptr, diag.Error, RulePolicySchema, e.ErrorKind.LocalizedString(printer)))
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	return out
}

func oneOfMessage(ptr string) string {
	if strings.HasSuffix(ptr, "_id") {
		return "must be a numeric id (string or number) or a list of them"
	}
	return "must be a string or a non-empty list of distinct strings"
}

func allowedHint(ptr string) string {
	toks := jsonptr.Split(ptr)
	switch {
	case len(toks) == 0:
		return "; a policy has version and rules"
	case len(toks) == 2 && toks[0] == "rules":
		return "; a rule has name, description, match and ttl"
	case len(toks) == 3 && toks[2] == "match":
		return "; match takes " + strings.Join(MatchClaims[:], ", ")
	}
	return ""
}
