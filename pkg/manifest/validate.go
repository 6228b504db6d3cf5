package manifest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/schema"
)

// Validate checks doc.Value against the embedded JSON Schema and positions
// every violation: unknown fields at their key, missing fields at the
// mapping that lacks them, everything else at the value. The schema sees
// the manifest as Takos's parser does (see takosView): trimmed, with null
// and blank optional fields absent. The findings are sorted
// (diag.Collector.Sorted). The error is for a schema that fails to
// compile, never for the document.
func Validate(doc *Document) (diag.List, error) {
	var col diag.Collector
	if err := ValidateInto(&col, doc); err != nil {
		return nil, err
	}
	return col.Sorted(), nil
}

// ValidateInto is Validate reporting its findings into col.
func ValidateInto(col *diag.Collector, doc *Document) error {
	if doc.Value == nil {
		return nil
	}
	w := newViewer(doc, col)
	view := w.view(doc.Value, nil)
	vs, err := schema.Violations(view)
	if err != nil {
		return fmt.Errorf("validating %s: %w", doc.Path, err)
	}
	for _, d := range blankInjectKeys(doc) {
		col.Add(d)
	}
	contract := otherContract(view)
	for _, d := range contractFindings(doc, contract) {
		col.Add(d)
	}
	required := map[string]bool{} // stripped fields reported as missing
	for _, v := range vs {
		if underContract(contract, v.Pointer) {
			continue // the contract finding says what is wrong
		}
		if v.Rule == schema.RuleRequired {
			if child := v.Pointer + Pointer(v.Key); w.stripped[child] != "" {
				required[child] = true
			}
		}
		col.Add(position(doc, w, v))
	}
	for p, why := range w.stripped {
		if !required[p] {
			col.Add(emptyFinding(doc, p, why))
		}
	}
	return nil
}

// position turns one schema violation into a positioned finding.
func position(doc *Document, w *viewer, v schema.Violation) diag.Diagnostic {
	msg := v.Message
	if v.Rule == schema.RuleRequired {
		if child := v.Pointer + Pointer(v.Key); w.stripped[child] != "" {
			// The field is there but null or blank, which Takos reads as
			// missing: say so at the field itself.
			what := "null"
			if w.stripped[child] == "blank" {
				what = "blank (Takos trims surrounding white space, so it counts as missing)"
			}
			return doc.KeyFinding(child, v.Rule, fmt.Sprintf("%s is %s; give it a value", fieldName(SplitPointer(child)), what))
		}
	}
	switch {
	case v.Rule == schema.RuleMinLength && w.blanked[v.Pointer]:
		msg += "; Takos trims surrounding white space, so a blank value counts as missing"
	}
	if v.Rule == schema.RuleType {
		msg += quoteHint(doc, v)
	}
	v.Message = msg
	return Position(doc, v)
}

// emptyFinding tells that an optional field Takos reads as absent was
// left out of the check.
func emptyFinding(doc *Document, p, why string) diag.Diagnostic {
	msg := fmt.Sprintf("%s is empty, so Takos treats it as absent; remove it or give it a value", fieldName(SplitPointer(p)))
	if why == "null" {
		msg = fmt.Sprintf("%s has no value, so Takos treats it as absent; remove it or give it a value", fieldName(SplitPointer(p)))
	}
	return doc.KeyFinding(p, RuleValueEmpty, msg)
}

// blankInjectKeys reports env.inject variables whose name is blank: Takos
// trims the names and requires one. The schema cannot see it (keys are
// not values).
func blankInjectKeys(doc *Document) diag.List {
	inject, _ := Lookup(doc.Value, "/spec/env/inject")
	m, _ := inject.(map[string]any)
	var out diag.List
	for k := range m {
		if TrimJS(k) == "" {
			out = append(out, doc.KeyFinding(Pointer("spec", "env", "inject", k), schema.RuleRequired,
				fmt.Sprintf("spec.env.inject has the blank variable name %s; Takos trims names and requires one, so name the variable", quoteValue(k))))
		}
	}
	return out
}

func contractFindings(doc *Document, contract map[string]bool) diag.List {
	var out diag.List
	for name := range contract {
		out = append(out, doc.KeyFinding(Pointer("spec", "services", name, "type"), RuleOtherContract,
			fmt.Sprintf("spec.services.%s has type: worker, a manifest shape from newer Takos docs (the flat app.yml contract), not from takos.dev/v1alpha1, which this file declares; here a worker goes under spec.workers.%s with build.fromWorkflow {path, job, artifact, artifactPath}", quoteKey(name), quoteKey(name))))
	}
	return out
}

// otherContract returns the services written as workers of the newer
// Takos contract (spec.services.NAME.type: worker).
func otherContract(view any) map[string]bool {
	out := map[string]bool{}
	services, _ := Lookup(view, "/spec/services")
	m, _ := services.(map[string]any)
	for name, s := range m {
		e, _ := s.(map[string]any)
		if t, _ := e["type"].(string); t == "worker" {
			out[name] = true
		}
	}
	return out
}

func underContract(contract map[string]bool, ptr string) bool {
	if len(contract) == 0 {
		return false // the usual case: no pointer to split
	}
	toks := SplitPointer(ptr)
	return len(toks) >= 3 && toks[0] == "spec" && toks[1] == "services" && contract[toks[2]]
}

// quoteKey renders a name for a message: plain when it is a simple
// identifier, quoted otherwise.
func quoteKey(s string) string {
	for _, r := range s {
		if !(r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return quoteValue(s)
		}
	}
	return s
}

// quoteHint turns "must be a string, got number" into advice, and says
// why takos-apply does not coerce like Takos: Takos's String() and
// Number() accept such values but change them (version: 1.0 becomes the
// semver "1", true becomes port 1), so the value Takos uses is not the one
// written.
func quoteHint(doc *Document, v schema.Violation) string {
	text, _, ok := doc.Scalar(v.Pointer)
	if !ok {
		return ""
	}
	wantsString := strings.Contains(v.Message, "a string")
	wantsNumber := strings.Contains(v.Message, "a number") || strings.Contains(v.Message, "an integer")
	wantsBool := strings.Contains(v.Message, "a boolean")
	wantsList := strings.Contains(v.Message, "an array")
	switch {
	case v.Got == "null" && text == "":
		return "; give it a value"
	case wantsString && v.Fix != "" && v.Got == "number":
		return fmt.Sprintf("; YAML reads unquoted %s as a number (Takos would turn it back into text with String(), which rewrites numbers: 1.0 becomes \"1\"), so write the full version, quoted: \"%s\"", text, v.Fix)
	case wantsBool && v.Got == "string":
		if b, ok := yaml11Bool(text); ok {
			return fmt.Sprintf("; write %s (Takos reads YAML 1.2, where %s is text, not a boolean)", b, text)
		}
		return "; write true or false"
	case wantsList && (v.Got == "string" || v.Got == "number" || v.Got == "boolean"):
		return "; write a list: " + listExample(text) + ", or one '- item' per line"
	case wantsNumber && v.Got == "boolean":
		n := "1"
		if text == "false" {
			n = "0"
		}
		return fmt.Sprintf("; Takos would read it with Number(), which makes %s of %s, so write the number you mean", n, text)
	case wantsString && (v.Got == "number" || v.Got == "boolean"):
		return fmt.Sprintf("; YAML reads unquoted %s as a %s, so quote it: \"%s\" (Takos would turn it back into text with String(), which rewrites numbers: 1.0 becomes \"1\", 1e3 \"1000\")", text, v.Got, text)
	case wantsNumber && v.Got == "string":
		return "; Takos would read it with Number(), which makes NaN of it, so write a number"
	}
	return ""
}

// Load parses and schema-validates one manifest. Parse findings stop the
// pipeline (there is no value to validate); schema findings are appended.
func Load(path string, src []byte, lim Limits) (*Document, diag.List, error) {
	doc, diags := Parse(path, src, lim)
	if doc.Value == nil {
		return doc, diags, nil
	}
	sd, err := Validate(doc)
	if err != nil {
		return doc, diags, err
	}
	return doc, append(diags, sd...), nil
}

// LoadInto is Load reporting its findings into col, which may keep only
// some of them (diag.Collector); validation runs when parsing found no
// error, kept or not.
func LoadInto(col *diag.Collector, path string, src []byte, lim Limits) (*Document, error) {
	doc := ParseInto(col, path, src, lim, AppKind)
	if doc.Value == nil {
		return doc, nil
	}
	return doc, ValidateInto(col, doc)
}

// yaml11Bool maps the YAML 1.1 spellings of a boolean (yes, on, y …) to
// the YAML 1.2 one.
func yaml11Bool(text string) (string, bool) {
	switch strings.ToLower(text) {
	case "yes", "y", "on", "true":
		return "true", true
	case "no", "n", "off", "false":
		return "false", true
	}
	return "", false
}

// listExample turns a scalar meant as a list ("openid profile",
// "a, b") into a flow list, quoting items YAML would not read as plain
// text.
func listExample(text string) string {
	items := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' })
	if len(items) == 0 {
		items = []string{text}
	}
	for i, it := range items {
		if strings.ContainsAny(it, "[]{}#&*!|>'\"%@`") || strings.Contains(it, ": ") || strings.HasSuffix(it, ":") {
			items[i] = strconv.Quote(it)
		}
	}
	return "[" + strings.Join(items, ", ") + "]"
}
