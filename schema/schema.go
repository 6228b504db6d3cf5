// Package schema embeds the JSON Schema of the Takos App manifest
// (.takos/app.yml, takos.dev/v1alpha1) and validates JSON-shaped manifests
// against it, turning the validator's error tree into flat, actionable
// violations.
//
// The schema is stricter than the Takos parser in one deliberate way: Takos
// silently drops unknown fields, so a typo such as redirectUri never reaches
// the control plane and nobody notices. Here every unknown field is an error,
// with a "did you mean" hint computed from the schema itself.
//
// Stability: package schema is public and may change until takos-apply v1.
package schema

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

//go:embed app.schema.json
var schemaJSON []byte

// ID is the $id of the embedded schema: the URL editors and
// yaml-language-server use to refer to it.
const ID = "https://schemas.takos.dev/takos-apply/app.schema.json"

// JSON returns the embedded schema document. It returns a fresh copy on every
// call, so callers may modify or retain it without affecting validation.
func JSON() []byte {
	return bytes.Clone(schemaJSON)
}

// Violation is one way a manifest breaks the schema.
type Violation struct {
	// Pointer is the RFC 6901 location of the value concerned in the
	// manifest. For RuleRequired and RuleUnknownField it is the object that
	// lacks or holds the field, and Key names the field: append
	// "/"+escaped Key to reach an unknown field's value. For a duplicate
	// list item it is the later copy.
	Pointer string
	// Rule is one of the Rule* values.
	Rule *diag.Rule
	// Message is one lowercase sentence naming the field and what to do.
	Message string
	// Key is the property name for RuleRequired (the missing key) and
	// RuleUnknownField (the unknown key), both children of Pointer; ""
	// otherwise.
	Key string
	// Got is the JSON type of the offending value for RuleType: "number",
	// "boolean", "string", "null", "object" or "array"; "" otherwise.
	Got string
	// Suggestion is the allowed field a RuleUnknownField key most likely
	// misspells ("did you mean"), or "".
	Suggestion string
	// Fix is a value that would pass, when the schema knows how to derive
	// one from the value written (x-fix: "semver" turns 1.0 into "1.0.0");
	// "" otherwise.
	Fix string

	where string // "in spec.oauth", for rewording a RuleUnknownField message
	tail  string // what ends that message (see unknownFieldMessage)
}

// compiled is a schema compiled once per process. Its fields are
// read-only after construction, so it is shared by all goroutines.
type compiled struct {
	sch *jsonschema.Schema
	// doc is the parsed schema document, walked on the error path to find
	// allowed property names and x-message wording.
	doc any
	// opts says what the schema validates, for the words of messages.
	opts Options
}

// Options describe the documents a schema validates, for the messages of
// its violations.
type Options struct {
	// ID is the schema's $id: the location it is compiled under.
	ID string
	// Document names a whole document: "the manifest", "the policy".
	Document string
	// UnknownNote ends every unknown-field message, e.g. why an unknown
	// field matters; "" adds nothing.
	UnknownNote string
	// ListFields makes an unknown-field message without a "did you mean"
	// list the fields the mapping takes (for small schemas).
	ListFields bool
}

// appOptions are the app schema's.
var appOptions = Options{ID: ID, Document: "the manifest", UnknownNote: "(Takos silently drops unknown fields)"}

// Schema is a compiled JSON Schema whose violations read like the app
// schema's: positioned by pointer, "did you mean" for unknown fields,
// x-message wording. It is safe for concurrent use.
type Schema struct{ c *compiled }

// Compile compiles a JSON Schema (draft 2020-12) for another kind of
// document than the app manifest, e.g. the broker's trust policy. Formats
// are asserted.
func Compile(src []byte, o Options) (*Schema, error) {
	c, err := compileAs(src, o, false)
	if err != nil {
		return nil, err
	}
	return &Schema{c: c}, nil
}

// Validate checks a JSON-shaped value against s; see the package-level
// Validate.
func (s *Schema) Validate(v any) ([]Violation, error) { return s.c.validate(v) }

var (
	compileOnce sync.Once
	compiledSch *compiled
	compileErr  error
)

// load compiles the embedded schema on first use. A compile error is kept
// and returned to every caller: it means the embedded file is broken, which
// the package tests catch, but a library must not panic over it.
func load() (*compiled, error) {
	compileOnce.Do(func() {
		compiledSch, compileErr = compileAs(schemaJSON, appOptions, true)
	})
	return compiledSch, compileErr
}

// Preload starts compiling the schema in the background and returns at
// once, so that a short-lived process overlaps the compile (a few
// milliseconds) with reading and parsing its input. Validate waits for it.
func Preload() {
	go load()
}

// trustedURL is the location the embedded schema is registered under when
// it is compiled at run time. jsonschema/v6 validates every schema it adds
// against its draft's metaschema — about 3.5 ms of the 12 ms a one-file
// lint may take — except resources located under json-schema.org, which it
// trusts as metaschemas. The embedded schema is fixed at build time and
// TestCompile validates it against the 2020-12 metaschema (trusted=false),
// so the per-process re-check buys nothing. Only the retrieval location
// changes: the document's $id is still ID, and references resolve against
// it.
const trustedURL = "https://json-schema.org/takos-apply-embedded/app.schema.json"

// compile compiles the app schema src. With trusted, src is not
// re-validated against the metaschema (see trustedURL); tests compile
// with trusted false.
func compile(src []byte, trusted bool) (*compiled, error) { return compileAs(src, appOptions, trusted) }

func compileAs(src []byte, o Options, trusted bool) (*compiled, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("parse embedded schema %s: %w", o.ID, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// format is only an annotation in 2020-12 unless asserted; the schema
	// uses format: uri for metadata URLs and means it.
	c.AssertFormat()
	loc := o.ID
	if trusted {
		loc = trustedURL
	}
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("add embedded schema %s: %w", o.ID, err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile embedded schema %s: %w", o.ID, err)
	}
	return &compiled{sch: sch, doc: doc, opts: o}, nil
}

// Validate checks a JSON-shaped manifest (map[string]any, []any, string,
// json.Number, bool, nil) against the embedded schema. It returns nil
// violations for a valid manifest. Violations are leaves of the validator's
// error tree, one per problem, sorted by pointer, then rule, then message.
// The error is non-nil only when the schema cannot be compiled or the
// validator fails for a reason other than the manifest being invalid.
//
// Validate is safe for concurrent use.
func Validate(v any) ([]Violation, error) {
	c, err := load()
	if err != nil {
		return nil, err
	}
	return c.validate(v)
}

// Violations is Validate without the sort: the same violations, in no
// particular order. A caller that orders them itself (the manifest loader
// positions each and sorts by position) saves sorting what may be tens of
// thousands of them.
func Violations(v any) ([]Violation, error) {
	c, err := load()
	if err != nil {
		return nil, err
	}
	return c.violations(v)
}

func (c *compiled) validate(v any) ([]Violation, error) {
	vs, err := c.violations(v)
	if err != nil || vs == nil {
		return vs, err
	}
	slices.SortFunc(vs, func(a, b Violation) int {
		return cmp.Or(compare(a.Pointer, b.Pointer), compare(a.Rule.ID, b.Rule.ID), compare(a.Message, b.Message), compare(a.Key, b.Key))
	})
	return vs, nil
}

// compare is strings.Compare, with the common case of the same string
// (the violations of one mapping share its pointer) decided by ==, which
// skips equal data.
func compare(a, b string) int {
	if a == b {
		return 0
	}
	return strings.Compare(a, b)
}

// violations is Violations.
func (c *compiled) violations(v any) ([]Violation, error) {
	verr := c.sch.Validate(v)
	if verr == nil {
		return nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return nil, fmt.Errorf("validate %s: %w", c.opts.Document, verr)
	}
	f := flattener{c: c, root: v}
	// Sized once: a file may have tens of thousands of violations, and
	// growing a slice of them copies and clears it over and over.
	out := f.collect(ve, make([]Violation, 0, leaves(ve)))
	return tidy(out), nil
}

// leaves bounds the violations collect makes of e: one per missing or
// unknown field, one per other failed keyword.
func leaves(e *jsonschema.ValidationError) int {
	if len(e.Causes) == 0 {
		switch k := e.ErrorKind.(type) {
		case *kind.AdditionalProperties:
			return len(k.Properties)
		case *kind.Required:
			return len(k.Missing)
		}
		return 1
	}
	n := 0
	for _, c := range e.Causes {
		n += leaves(c)
	}
	return max(n, 1)
}

// tidy drops violations made redundant by a type error at the same place
// or by a misspelling of the missing field, and exact duplicates.
func tidy(vs []Violation) []Violation {
	vs = mergeMisspelled(vs)
	typed := map[string]bool{}
	for _, v := range vs {
		if v.Rule == RuleType {
			typed[v.Pointer] = true
		}
	}
	if len(typed) > 0 {
		vs = slices.DeleteFunc(vs, func(v Violation) bool {
			return v.Rule != RuleType && typed[v.Pointer]
		})
	}
	// Exact duplicates share pointer, rule and key; only the few
	// violations that share those are compared whole.
	type key struct {
		ptr, key string
		rule     *diag.Rule
	}
	first := make(map[key]int, len(vs)) // index in out of the first of each key
	out := vs[:0]
	for _, v := range vs {
		k := key{v.Pointer, v.Key, v.Rule}
		if i, ok := first[k]; ok {
			if slices.Contains(out[i:], v) {
				continue
			}
		} else {
			first[k] = len(out)
		}
		out = append(out, v)
	}
	return out
}

// mergeMisspelled makes one finding of one mistake: a misspelled required
// key ("clientNme") is both an unknown field and a missing one. The
// missing-field violation goes, and the unknown field's message says that
// the field it most likely means is required.
func mergeMisspelled(vs []Violation) []Violation {
	type field struct{ ptr, key string }
	meant := map[field]bool{}
	for _, v := range vs {
		if v.Rule == RuleUnknownField && v.Suggestion != "" {
			meant[field{v.Pointer, v.Suggestion}] = true
		}
	}
	if len(meant) == 0 {
		return vs
	}
	missing := map[field]bool{}
	vs = slices.DeleteFunc(vs, func(v Violation) bool {
		f := field{v.Pointer, v.Key}
		if v.Rule == RuleRequired && meant[f] {
			missing[f] = true
			return true
		}
		return false
	})
	for i, v := range vs {
		if v.Rule == RuleUnknownField && missing[field{v.Pointer, v.Suggestion}] {
			vs[i].Message = unknownFieldMessage(v.Key, v.where, v.Suggestion, v.tail, true)
		}
	}
	return vs
}
