package manifest

import (
	"fmt"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/schema"
)

// Validate checks doc.Value against the embedded JSON Schema and positions
// every violation: unknown fields at their key, missing fields at the
// mapping that lacks them, everything else at the offending value. The
// error is for a schema that fails to compile, never for the document.
func Validate(doc *Document) (diag.List, error) {
	if doc.Value == nil {
		return nil, nil
	}
	vs, err := schema.Validate(doc.Value)
	if err != nil {
		return nil, fmt.Errorf("validating %s: %w", doc.Path, err)
	}
	var out diag.List
	for _, v := range vs {
		msg := v.Message
		var d diag.Diagnostic
		switch v.Rule {
		case schema.RuleUnknownField:
			// An unknown field belongs on its own key.
			ptr := v.Pointer
			if toks := SplitPointer(ptr); v.Key != "" && (len(toks) == 0 || toks[len(toks)-1] != v.Key) {
				ptr += Pointer(v.Key)
			}
			d = doc.KeyFinding(ptr, diag.Error, v.Rule, msg)
		case schema.RuleRequired:
			// A missing field has no position: use the key of the mapping
			// that lacks it.
			d = doc.KeyFinding(v.Pointer, diag.Error, v.Rule, msg)
		case schema.RuleType:
			d = doc.Finding(v.Pointer, diag.Error, v.Rule, msg+quoteHint(doc, v))
		default:
			d = doc.Finding(v.Pointer, diag.Error, v.Rule, msg)
		}
		out = append(out, d)
	}
	return out, nil
}

// quoteHint turns "must be a string, got number" into advice: YAML read
// version: 1.0 as the number 1, which Takos then rejects as semver "1".
func quoteHint(doc *Document, v schema.Violation) string {
	if v.Got != "number" && v.Got != "boolean" && v.Got != "null" {
		return ""
	}
	if !strings.Contains(v.Message, "string") {
		return ""
	}
	text, _, ok := doc.Scalar(v.Pointer)
	if !ok {
		return ""
	}
	if v.Got == "null" && text == "" {
		return "; give it a value"
	}
	return fmt.Sprintf("; YAML reads unquoted %s as a %s, so quote it: \"%s\"", text, v.Got, text)
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
