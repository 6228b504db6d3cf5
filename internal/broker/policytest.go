package broker

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
	"github.com/takos-dev/takos-apply/schema"
)

//go:embed cases.schema.json
var casesSchemaJSON []byte

// CasesSchema returns the embedded JSON Schema of broker test's cases
// file (a fresh copy).
func CasesSchema() []byte { return bytes.Clone(casesSchemaJSON) }

// Deny reasons a case can expect.
const (
	DenyNoMatch        = "no-match"        // no rule matches: invalid_grant
	DenyUntrustedEvent = "untrusted-event" // an event of forks or outsiders: unauthorized_client
)

// CasesKind is the cases file for the YAML loader's messages.
var CasesKind = manifest.Kind{
	Name:   "cases",
	Noun:   "a policy test file",
	Start:  "a cases file starts with version: 1 and cases:",
	Reader: "broker test",
}

// Case is one case of a cases file.
type Case struct {
	Name string
	// Payload is the JSON object of claims the case decides on: the
	// file's claims, then the token's, then the case's own.
	Payload []byte
	Allow   string
	Deny    string
	Because string

	ptr string // the case's place in the file
}

// Cases is a loaded cases file.
type Cases struct {
	Doc   *manifest.Document
	Cases []Case
}

// LoadCases reads a cases file with the loader of the policy (positions,
// did-you-mean, snippets). readToken reads a case's token file, named
// relative to the cases file. It returns nil and the findings when any is
// an error; the document is returned whenever it could be read, for
// findings shown with their source lines.
func LoadCases(path string, src []byte, readToken func(name string) ([]byte, error)) (*Cases, *manifest.Document, diag.List, error) {
	sch, err := compiledCasesSchema()
	if err != nil {
		return nil, nil, nil, err
	}
	doc, diags, err := manifest.LoadSchema(path, src, policyLimits, CasesKind, sch)
	if err != nil {
		return nil, nil, nil, err
	}
	if doc.Value == nil || diags.HasErrors() {
		return nil, doc, diags, nil
	}
	top := doc.Value.(map[string]any)
	base, _ := top["claims"].(map[string]any)
	out := &Cases{Doc: doc}
	for i, raw := range top["cases"].([]any) {
		m := raw.(map[string]any)
		ptr := manifest.Pointer("cases", fmt.Sprint(i))
		c := Case{ptr: ptr, Name: m["name"].(string)}
		c.Allow, _ = m["allow"].(string)
		c.Deny, _ = m["deny"].(string)
		c.Because, _ = m["because"].(string)
		claims := maps.Clone(base)
		if claims == nil {
			claims = map[string]any{}
		}
		if name, ok := m["token"].(string); ok {
			tc, err := tokenClaims(name, readToken)
			if err != nil {
				diags = append(diags, doc.Finding(ptr+"/token", RuleCaseToken, err.Error()))
				continue
			}
			maps.Copy(claims, tc)
		}
		own, _ := m["claims"].(map[string]any)
		for k, v := range own {
			claims[k] = v
		}
		maps.DeleteFunc(claims, func(_ string, v any) bool { return v == nil })
		if c.Payload, err = json.Marshal(claims); err != nil {
			return nil, doc, nil, fmt.Errorf("case %d: %w", i+1, err)
		}
		out.Cases = append(out.Cases, c)
	}
	diags.Sort()
	if diags.HasErrors() {
		return nil, doc, diags, nil
	}
	return out, doc, diags, nil
}

// tokenClaims reads the claims of a captured token file (its payload; the
// signature is not checked, and nothing of the token is ever printed).
func tokenClaims(name string, read func(string) ([]byte, error)) (map[string]any, error) {
	raw, err := read(name)
	if err != nil {
		return nil, fmt.Errorf("reading the token %s: %v", safetext.Quote(name, 200), err)
	}
	payload, err := TokenPayload(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", safetext.Quote(name, 200), err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, fmt.Errorf("%s: the token's payload is not a JSON object", safetext.Quote(name, 200))
	}
	return m, nil
}

// TokenPayload returns the payload of a JWT in compact form (a captured
// GitHub OIDC token), unverified. Its errors never quote the token.
func TokenPayload(raw []byte) ([]byte, error) {
	parts := strings.Split(strings.TrimSpace(string(raw)), ".")
	if len(parts) != 3 {
		return nil, errors.New("not a JWT (three dot-separated base64url parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("the JWT's payload is not base64url")
	}
	return payload, nil
}

// Run decides every case with p, as the server would (Decide), and
// returns a finding for each case decided otherwise, at the case's
// expectation in the file, and how many cases passed.
func (cs *Cases) Run(p *Policy) (diag.List, int) {
	var out diag.List
	passed := 0
	for _, c := range cs.Cases {
		d, claims, err := p.Decide(c.Payload)
		if err != nil {
			out = append(out, cs.Doc.Finding(c.ptr, RulePolicyTest, fmt.Sprintf("case %s: %v", safetext.Quote(c.Name, 100), err)))
			continue
		}
		msg := c.mismatch(p, d, claims)
		if msg == "" {
			passed++
			continue
		}
		key := c.ptr + "/allow"
		if c.Deny != "" {
			key = c.ptr + "/deny"
		}
		out = append(out, cs.Doc.KeyFinding(key, RulePolicyTest, fmt.Sprintf("case %s: %s", safetext.Quote(c.Name, 100), msg)))
	}
	out.Sort()
	return out, passed
}

// mismatch says how the decision differs from the case's expectation,
// or "".
func (c *Case) mismatch(p *Policy, d Decision, claims Claims) string {
	got := "allowed by rule " + d.Rule.nameOr()
	if d.Rule == nil {
		reason := DenyNoMatch
		if d.Untrusted {
			reason = DenyUntrustedEvent
		}
		got = "denied (" + reason + "): " + PolicyRefusal(d, claims).Description
	}
	switch {
	case c.Allow != "" && d.Rule == nil:
		return fmt.Sprintf("want allowed by rule %s, got %s", c.Allow, got)
	case c.Allow != "" && d.Rule.Name != c.Allow:
		why := "; the policy has no rule " + c.Allow
		if r := p.Rule(c.Allow); r != nil {
			why = "; rule " + c.Allow + " matches too, but the first matching rule grants"
			if reason := r.miss(claims); reason != "" {
				why = "; rule " + c.Allow + " does not match: " + reason
			}
		}
		return fmt.Sprintf("want allowed by rule %s, got %s%s", c.Allow, got, why)
	case c.Deny != "" && d.Rule != nil:
		return fmt.Sprintf("want denied (%s), got %s", c.Deny, got)
	case c.Deny == DenyUntrustedEvent && !d.Untrusted, c.Deny == DenyNoMatch && d.Untrusted:
		return fmt.Sprintf("want denied (%s), got %s", c.Deny, got)
	case c.Deny != "" && c.Because != "" && !strings.Contains(got, c.Because):
		return fmt.Sprintf("want a refusal that says %s, got %s", safetext.Quote(c.Because, 200), got)
	}
	return ""
}

func (r *Rule) nameOr() string {
	if r == nil {
		return ""
	}
	return r.Name
}

var (
	casesSchemaOnce sync.Once
	casesSchema     *schema.Schema
	casesSchemaErr  error
)

func compiledCasesSchema() (*schema.Schema, error) {
	casesSchemaOnce.Do(func() {
		casesSchema, casesSchemaErr = schema.Compile(casesSchemaJSON, schema.Options{
			ID: "https://schemas.takos.dev/takos-apply/broker-policy-cases.schema.json", Document: "the cases file", ListFields: true,
		})
	})
	return casesSchema, casesSchemaErr
}
