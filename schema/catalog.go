package schema

import (
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// The rules of Validate, each declared once with its severity, summary and
// help URL (see diag.Rule); every Violation.Rule is one of them. All are
// errors in every deploy environment. Their IDs are stable: never rename
// one.
var rules diag.RuleSet

// helpSchema is the README section that documents the schema's rules.
const helpSchema = "https://github.com/takos-dev/takos-apply#schema"

func rule(id, summary string) *diag.Rule {
	return rules.Add(diag.Rule{ID: id, Production: diag.Error, Development: diag.Error, Summary: summary, HelpURL: helpSchema})
}

// Rules of violations, in README order.
var (
	RuleUnknownField = rule("schema-unknown-field", "a field Takos does not know and silently drops, with a \"did you mean\" for near misses")
	RuleRequired     = rule("schema-required", "a missing required field, reported at the mapping that lacks it")
	RuleType         = rule("schema-type", "a value of the wrong type, with what to write (a quoted string, `true` for `yes`, a list for a string of words)")
	RuleConst        = rule("schema-const", "a value other than the one allowed (`apiVersion`, `kind`)")
	RuleEnum         = rule("schema-enum", "a value outside the allowed set (update strategy, resource type, route method …)")
	RulePattern      = rule("schema-pattern", "a string in the wrong format (`spec.version` is not strict SemVer 2.0 …), with the corrected value when it is clear (`1.0` → `1.0.0`)")
	RuleMinLength    = rule("schema-min-length", "a string shorter than allowed")
	RuleMinimum      = rule("schema-minimum", "a number below the allowed minimum")
	RuleUniqueItems  = rule("schema-unique-items", "a list that must not repeat an item repeats one")
	RuleOneOf        = rule("schema-one-of", "a value that matches none, or more than one, of the allowed shapes")
	RuleFormat       = rule("schema-format", "a string that is not of the declared format")
	RuleMinItems     = rule("schema-min-items", "a list with fewer items than required")
	RuleInvalid      = rule("schema-invalid", "a value the schema rejects for another reason")
)

// Rules returns every rule Validate can report, in documentation order.
// The caller owns the slice.
func Rules() []diag.Rule { return rules.Rules() }
