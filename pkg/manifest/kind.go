package manifest

import (
	"fmt"

	"github.com/takos-dev/takos-apply/internal/jsonptr"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/schema"
)

// Kind says what kind of file the loader reads, for the words of its
// findings: the loader (positions, limits, the YAML rules of "YAML loader")
// is the same for every kind.
type Kind struct {
	// Name is what a file of this kind holds: "manifest", "policy".
	Name string
	// Noun names one file of this kind in a sentence: "an app.yml".
	Noun string
	// Start says how such a file starts, for an empty one.
	Start string
	// Reader is who gives the file its meaning: "Takos".
	Reader string
	// MergeNote follows "merge key '<<' is not supported".
	MergeNote string
	// SizeFix follows the size-limit message: how to raise the limit.
	SizeFix string
}

// AppKind is the Takos app manifest, .takos/app.yml.
var AppKind = Kind{
	Name:      "manifest",
	Noun:      "an app.yml",
	Start:     "a manifest starts with apiVersion: takos.dev/v1alpha1 and kind: App",
	Reader:    "Takos",
	MergeNote: " by Takos, which ignores it",
	SizeFix:   " (or raise --max-file-size)",
}

// LoadSchema parses src as a file of kind and validates it against sch,
// the generic loader of every YAML file takos-apply reads besides app.yml
// (whose Load adds Takos's own reading of values): every finding is
// positioned, unknown fields at their key with a "did you mean", missing
// ones at the mapping that lacks them, everything else at the value. Parse
// findings stop before validation. The error is for a schema that fails.
func LoadSchema(path string, src []byte, lim Limits, kind Kind, sch *schema.Schema) (*Document, diag.List, error) {
	doc, diags := ParseKind(path, src, lim, kind)
	if doc.Value == nil || diags.HasErrors() {
		return doc, diags, nil
	}
	vs, err := sch.Validate(doc.Value)
	if err != nil {
		return doc, diags, fmt.Errorf("validating %s: %w", path, err)
	}
	for _, v := range vs {
		diags = append(diags, Position(doc, v))
	}
	diags.Sort()
	return doc, diags, nil
}

// Position turns one schema violation into a finding at its place in
// doc: an unknown field at its own key, a missing one at the key of the
// mapping that lacks it, anything else at the value.
func Position(doc *Document, v schema.Violation) diag.Diagnostic {
	switch v.Rule {
	case schema.RuleUnknownField:
		ptr := v.Pointer
		if last, ok := jsonptr.Last(ptr); v.Key != "" && (!ok || last != v.Key) {
			ptr += Pointer(v.Key)
		}
		return doc.KeyFinding(ptr, v.Rule, v.Message)
	case schema.RuleRequired:
		return doc.KeyFinding(v.Pointer, v.Rule, v.Message)
	}
	return doc.Finding(v.Pointer, v.Rule, v.Message)
}
