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
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/takos-dev/takos-apply/internal/fuzzy"
	"github.com/takos-dev/takos-apply/internal/jsonptr"
	"github.com/takos-dev/takos-apply/internal/safetext"
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

// Rule identifiers of violations. Every Violation.Rule is one of these.
const (
	RuleType         = "schema-type"
	RuleRequired     = "schema-required"
	RuleUnknownField = "schema-unknown-field"
	RuleEnum         = "schema-enum"
	RuleConst        = "schema-const"
	RulePattern      = "schema-pattern"
	RuleMinLength    = "schema-min-length"
	RuleMinimum      = "schema-minimum"
	RuleFormat       = "schema-format"
	RuleMinItems     = "schema-min-items"
	RuleUniqueItems  = "schema-unique-items"
	RuleOneOf        = "schema-one-of"
	RuleInvalid      = "schema-invalid"
)

// Violation is one way a manifest breaks the schema.
type Violation struct {
	// Pointer is the RFC 6901 location of the value concerned in the
	// manifest. For RuleRequired and RuleUnknownField it is the object that
	// lacks or holds the field, and Key names the field: append
	// "/"+escaped Key to reach an unknown field's value. For a duplicate
	// list item it is the later copy.
	Pointer string
	// Rule is one of the Rule* constants.
	Rule string
	// Message is one lowercase sentence naming the field and what to do.
	Message string
	// Key is the property name for RuleRequired (the missing key) and
	// RuleUnknownField (the unknown key), both children of Pointer; ""
	// otherwise.
	Key string
	// Got is the JSON type of the offending value for RuleType: "number",
	// "boolean", "string", "null", "object" or "array"; "" otherwise.
	Got string
}

// compiled is the schema compiled once per process. Both fields are
// read-only after construction, so it is shared by all goroutines.
type compiled struct {
	sch *jsonschema.Schema
	// doc is the parsed schema document, walked on the error path to find
	// allowed property names and x-message wording.
	doc any
}

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
		compiledSch, compileErr = compile(schemaJSON, true)
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

// compile compiles src. With trusted, src is not re-validated against the
// metaschema (see trustedURL); tests compile with trusted false.
func compile(src []byte, trusted bool) (*compiled, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, fmt.Errorf("parse embedded app schema: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// format is only an annotation in 2020-12 unless asserted; the schema
	// uses format: uri for metadata URLs and means it.
	c.AssertFormat()
	loc := ID
	if trusted {
		loc = trustedURL
	}
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("add embedded app schema: %w", err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("compile embedded app schema: %w", err)
	}
	return &compiled{sch: sch, doc: doc}, nil
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
	verr := c.sch.Validate(v)
	if verr == nil {
		return nil, nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(verr, &ve) {
		return nil, fmt.Errorf("validate manifest: %w", verr)
	}
	f := flattener{c: c, root: v}
	out := f.collect(ve, nil)
	return tidy(out), nil
}

// tidy drops violations made redundant by a type error at the same place,
// sorts and removes exact duplicates.
func tidy(vs []Violation) []Violation {
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
	slices.SortFunc(vs, func(a, b Violation) int {
		if c := strings.Compare(a.Pointer, b.Pointer); c != 0 {
			return c
		}
		if c := strings.Compare(a.Rule, b.Rule); c != 0 {
			return c
		}
		if c := strings.Compare(a.Message, b.Message); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return slices.Compact(vs)
}

type flattener struct {
	c    *compiled
	root any
}

// collect appends the leaf violations of e to out. Inner nodes (the root
// "doesn't validate", $ref and allOf groups) carry no information of their
// own and are skipped; oneOf/anyOf nodes are summarised by alternatives.
func (f *flattener) collect(e *jsonschema.ValidationError, out []Violation) []Violation {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		return append(out, f.alternatives(e)...)
	}
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			out = f.collect(c, out)
		}
		return out
	}
	return append(out, f.leaf(e)...)
}

// alternatives turns a failed oneOf/anyOf into one useful report instead of
// every branch's complaints:
//   - no branch accepts the value's type: one type violation listing the
//     types that would do;
//   - exactly one branch accepts the type: that branch's own violations
//     (the user clearly meant that shape);
//   - otherwise the schema's x-message for the keyword, or, lacking one,
//     the branch with the fewest violations.
func (f *flattener) alternatives(e *jsonschema.ValidationError) []Violation {
	tokens := e.InstanceLocation
	ptr := jsonptr.Format(tokens...)
	kw := e.ErrorKind.KeywordPath()[0]
	custom := f.xMessage(e.SchemaURL, kw)
	if one, ok := e.ErrorKind.(*kind.OneOf); ok && len(one.Subschemas) > 0 {
		msg := custom
		if msg == "" {
			msg = "matches more than one allowed shape; keep only one"
		}
		return []Violation{{Pointer: ptr, Rule: RuleOneOf, Message: f.name(tokens) + " " + msg}}
	}
	var (
		compatible [][]Violation
		wants      []string
	)
	for _, c := range e.Causes {
		leaves := f.collect(c, nil)
		mismatch := false
		for _, l := range leaves {
			if l.Rule == RuleType && l.Pointer == ptr {
				mismatch = true
				wants = appendUnique(wants, f.wantedTypes(c, ptr)...)
			}
		}
		if !mismatch {
			compatible = append(compatible, leaves)
		}
	}
	switch {
	case len(compatible) == 0 && len(wants) > 0:
		return []Violation{f.typeViolation(tokens, wants)}
	case len(compatible) == 1:
		return compatible[0]
	case custom != "":
		return []Violation{{Pointer: ptr, Rule: RuleOneOf, Message: f.name(tokens) + " " + custom}}
	case len(compatible) > 1:
		best := compatible[0]
		for _, c := range compatible[1:] {
			if len(c) < len(best) {
				best = c
			}
		}
		return best
	}
	return []Violation{{Pointer: ptr, Rule: RuleOneOf, Message: f.name(tokens) + " does not match any allowed shape"}}
}

// wantedTypes finds the type keyword failures at ptr inside e's subtree.
func (f *flattener) wantedTypes(e *jsonschema.ValidationError, ptr string) []string {
	var out []string
	if t, ok := e.ErrorKind.(*kind.Type); ok && jsonptr.Format(e.InstanceLocation...) == ptr {
		out = append(out, t.Want...)
	}
	for _, c := range e.Causes {
		out = append(out, f.wantedTypes(c, ptr)...)
	}
	return out
}

func appendUnique(dst []string, src ...string) []string {
	for _, s := range src {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

var printer = message.NewPrinter(language.English)

// leaf converts one keyword failure into violations.
func (f *flattener) leaf(e *jsonschema.ValidationError) []Violation {
	tokens := e.InstanceLocation
	ptr := jsonptr.Format(tokens...)
	name := f.name(tokens)
	var kw string
	if p := e.ErrorKind.KeywordPath(); len(p) > 0 {
		kw = p[0]
	}
	custom := f.xMessage(e.SchemaURL, kw)
	value := func(def string) string {
		if custom != "" {
			return custom
		}
		return def
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		return []Violation{f.typeViolation(tokens, k.Want)}
	case *kind.Required:
		out := make([]Violation, 0, len(k.Missing))
		for _, m := range k.Missing {
			out = append(out, Violation{
				Pointer: ptr, Rule: RuleRequired, Key: m,
				Message: fmt.Sprintf("missing required field %q %s", m, f.where(tokens)),
			})
		}
		return out
	case *kind.AdditionalProperties:
		out := make([]Violation, 0, len(k.Properties))
		for _, p := range k.Properties {
			out = append(out, f.unknownField(e.SchemaURL, tokens, p))
		}
		return out
	case *kind.FalseSchema:
		return []Violation{f.falseSchema(e.SchemaURL, tokens)}
	case *kind.Enum:
		return []Violation{{Pointer: ptr, Rule: RuleEnum,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be one of "+joinValues(k.Want)), display(k.Got))}}
	case *kind.Const:
		return []Violation{{Pointer: ptr, Rule: RuleConst,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be "+display(k.Want)), display(k.Got))}}
	case *kind.Pattern:
		return []Violation{{Pointer: ptr, Rule: RulePattern,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must match the pattern "+k.Want), display(k.Got))}}
	case *kind.MinLength:
		def := "must not be empty"
		if k.Want > 1 {
			def = fmt.Sprintf("must be at least %d characters long", k.Want)
		}
		return []Violation{{Pointer: ptr, Rule: RuleMinLength, Message: name + " " + value(def)}}
	case *kind.Minimum:
		return []Violation{{Pointer: ptr, Rule: RuleMinimum,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be at least "+ratString(k.Want)), ratString(k.Got))}}
	case *kind.ExclusiveMinimum:
		return []Violation{{Pointer: ptr, Rule: RuleMinimum,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be greater than "+ratString(k.Want)), ratString(k.Got))}}
	case *kind.Format:
		return []Violation{{Pointer: ptr, Rule: RuleFormat,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be "+formatName(k.Want)), display(k.Got))}}
	case *kind.MinItems:
		def := fmt.Sprintf("must have at least %d items", k.Want)
		if k.Want == 1 {
			def = "must list at least one item"
		}
		return []Violation{{Pointer: ptr, Rule: RuleMinItems, Message: name + " " + value(def)}}
	case *kind.UniqueItems:
		i, j := k.Duplicates[0], k.Duplicates[1]
		first := append(slices.Clip(tokens), strconv.Itoa(i))
		dup := append(slices.Clip(tokens), strconv.Itoa(j))
		got, _ := jsonptr.Lookup(f.root, dup)
		return []Violation{{Pointer: jsonptr.Format(dup...), Rule: RuleUniqueItems,
			Message: fmt.Sprintf("%s repeats %s (%s); remove the duplicate", f.name(dup), f.name(first), display(got))}}
	default:
		return []Violation{{Pointer: ptr, Rule: RuleInvalid,
			Message: name + ": " + e.ErrorKind.LocalizedString(printer)}}
	}
}

func (f *flattener) typeViolation(tokens []string, want []string) Violation {
	v, _ := jsonptr.Lookup(f.root, tokens)
	got := jsonType(v)
	// No "quote it" advice here: the caller knows the source text
	// (manifest.Validate appends it), the schema only sees the value.
	msg := fmt.Sprintf("%s must be %s, got %s", f.name(tokens), typeList(want), got)
	return Violation{Pointer: jsonptr.Format(tokens...), Rule: RuleType, Message: msg, Got: got}
}

const silentDrop = "(Takos silently drops unknown fields)"

func (f *flattener) unknownField(schemaURL string, parent []string, key string) Violation {
	v := Violation{Pointer: jsonptr.Format(parent...), Rule: RuleUnknownField, Key: key}
	node, _ := f.schemaNode(schemaURL).(map[string]any)
	if removed, ok := node["x-removed"].(map[string]any); ok {
		if why, ok := removed[key].(string); ok {
			v.Message = fmt.Sprintf("unsupported field %s %s: %s", quote(key), f.where(parent), why)
			return v
		}
	}
	if len(parent) == 0 {
		if spec := f.specProperties(); spec[key] != nil {
			v.Message = fmt.Sprintf("unknown field %s at the top level; move it under spec %s", quote(key), silentDrop)
			return v
		}
	}
	props, _ := node["properties"].(map[string]any)
	present, _ := jsonptr.Lookup(f.root, parent)
	obj, _ := present.(map[string]any)
	if s := suggest(key, props, obj); s != "" {
		v.Message = fmt.Sprintf("unknown field %s %s; did you mean %q? %s", quote(key), f.where(parent), s, silentDrop)
	} else {
		v.Message = fmt.Sprintf("unknown field %s %s; remove it or fix its name %s", quote(key), f.where(parent), silentDrop)
	}
	return v
}

// falseSchema reports a property the schema forbids in this context (a
// resource section that does not match the resource type). The forbidding
// schema sits at <then>/properties/<key>; its x-message explains when the
// field would be read.
func (f *flattener) falseSchema(schemaURL string, tokens []string) Violation {
	if len(tokens) == 0 {
		return Violation{Rule: RuleInvalid, Message: "the manifest is not allowed here"}
	}
	key := tokens[len(tokens)-1]
	parent := tokens[:len(tokens)-1]
	why := f.xMessage(parentSchemaURL(schemaURL, 2), "false")
	if why == "" {
		why = "is not allowed here"
	}
	return Violation{Pointer: jsonptr.Format(parent...), Rule: RuleUnknownField, Key: key,
		Message: fmt.Sprintf("field %s %s %s; remove it %s", quote(key), f.where(parent), why, silentDrop)}
}

func (f *flattener) specProperties() map[string]any {
	root, _ := f.c.doc.(map[string]any)
	props, _ := root["properties"].(map[string]any)
	spec, _ := props["spec"].(map[string]any)
	out, _ := spec["properties"].(map[string]any)
	return out
}

// xMessage returns the takos-apply wording for keyword kw of the schema at
// schemaURL: the schema's "x-message" object maps keywords to a predicate
// such as "must be a positive number".
func (f *flattener) xMessage(schemaURL, kw string) string {
	if kw == "" {
		return ""
	}
	node, _ := f.schemaNode(schemaURL).(map[string]any)
	xm, _ := node["x-message"].(map[string]any)
	s, _ := xm[kw].(string)
	return s
}

// schemaNode resolves a dereferenced schema location (ID + "#" + JSON
// pointer, percent-encoded as a URI fragment) inside the parsed schema
// document. The fragment is percent-decoded before it is split: a "/" in a
// name is "~1" in the pointer, never "%2F", so decoding cannot create a
// separator.
func (f *flattener) schemaNode(schemaURL string) any {
	_, frag, ok := strings.Cut(schemaURL, "#")
	if !ok {
		return nil
	}
	if p, err := url.PathUnescape(frag); err == nil {
		frag = p
	}
	node, _ := jsonptr.Lookup(f.c.doc, jsonptr.Split(frag))
	return node
}

// parentSchemaURL drops the last n pointer tokens of a schema location.
func parentSchemaURL(schemaURL string, n int) string {
	for range n {
		i := strings.LastIndexByte(schemaURL, '/')
		if i < 0 || i < strings.IndexByte(schemaURL, '#') {
			return schemaURL
		}
		schemaURL = schemaURL[:i]
	}
	return schemaURL
}

// suggest picks the allowed property closest to key, or "" when none is
// close enough to be a plausible typo. Properties the object already has are
// not suggested: "did you mean redirectUris" is useless next to one.
func suggest(key string, allowed map[string]any, present map[string]any) string {
	lk := strings.ToLower(key)
	best, bestScore := "", 1<<30
	for cand := range allowed {
		if _, dup := present[cand]; dup {
			continue
		}
		lc := strings.ToLower(cand)
		score := -1
		switch {
		case lc == lk:
			score = 0
		case lc == lk+"s" || lk == lc+"s" || lc == lk+"es" || lk == lc+"es":
			score = 1
		case len(lk) >= 3 && strings.HasPrefix(lc, lk):
			score = 3
		default:
			if d := fuzzy.Distance(lk, lc); d <= typoBudget(len(lk)) {
				score = 1 + d
			}
		}
		if score < 0 {
			continue
		}
		if score < bestScore || (score == bestScore && cand < best) {
			best, bestScore = cand, score
		}
	}
	return best
}

// typoBudget is the edit distance tolerated for a key of n characters: one
// slip in a short name, two in a long one.
func typoBudget(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 5:
		return 1
	case n <= 10:
		return 2
	default:
		return 3
	}
}

// name renders an instance location the way users write it:
// spec.routes[0].methods[1], spec.resources["a.b"]; the root is "the
// manifest". A key that is not a short identifier is quoted (and cut) as
// user text.
func (f *flattener) name(tokens []string) string {
	if len(tokens) == 0 {
		return "the manifest"
	}
	var b strings.Builder
	v := f.root
	for i, tok := range tokens {
		arr, isArr := v.([]any)
		switch {
		case isArr:
			b.WriteString("[" + tok + "]")
			if n, err := strconv.Atoi(tok); err == nil && n >= 0 && n < len(arr) {
				v = arr[n]
			} else {
				v = nil
			}
			continue
		case plainKey(tok) && len(tok) <= maxQuoted:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
		default:
			b.WriteString("[" + quote(tok) + "]")
		}
		if m, ok := v.(map[string]any); ok {
			v = m[tok]
		} else {
			v = nil
		}
	}
	return b.String()
}

// where names the object holding a field, for required/unknown messages.
func (f *flattener) where(tokens []string) string {
	if len(tokens) == 0 {
		return "at the top level"
	}
	return "in " + f.name(tokens)
}

func plainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '$' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// jsonType names the JSON type of a JSON-shaped value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func typeList(want []string) string {
	words := make([]string, len(want))
	for i, w := range want {
		switch w {
		case "object", "array", "integer":
			words[i] = "an " + w
		default:
			words[i] = "a " + w
		}
	}
	switch len(words) {
	case 0:
		return "of another type"
	case 1:
		return words[0]
	default:
		return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
	}
}

// maxQuoted caps, in runes, the manifest text one message quotes.
const maxQuoted = 60

// quote renders text from the manifest (a key, a string value) for a
// message: Go-quoted, so control and invisible characters show as escapes,
// and cut at maxQuoted runes (safetext.Quote).
func quote(s string) string { return safetext.Quote(s, maxQuoted) }

// display renders a value for a message: strings quoted (and shortened),
// numbers and booleans as written, containers by their type.
func display(v any) string {
	switch t := v.(type) {
	case string:
		return quote(t)
	case json.Number:
		return t.String()
	case nil:
		return "null"
	case bool, float64, float32, int, int64:
		return fmt.Sprint(t)
	default:
		return "an " + jsonType(v)
	}
}

func joinValues(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		if s, ok := v.(string); ok {
			parts[i] = s
		} else {
			parts[i] = display(v)
		}
	}
	return strings.Join(parts, ", ")
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func formatName(f string) string {
	switch f {
	case "uri":
		return "an absolute URI (for example https://example.com/terms)"
	case "email":
		return "an email address"
	default:
		return "a valid " + f
	}
}
