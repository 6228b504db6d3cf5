package schema

import (
	"slices"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// helpSchema is the README section that documents the schema's rules.
const helpSchema = "https://github.com/takos-dev/takos-apply#schema"

func schemaRule(id, summary string) diag.Rule {
	return diag.Rule{ID: id, Production: diag.Error, Development: diag.Error, Summary: summary, HelpURL: helpSchema}
}

// rules is the schema's part of the rule catalogue. A new Rule* constant
// gets a row here; TestRulesRegistered fails otherwise.
var rules = []diag.Rule{
	schemaRule(RuleUnknownField, "a field Takos does not know and silently drops, with a \"did you mean\" for near misses"),
	schemaRule(RuleRequired, "a missing required field, reported at the mapping that lacks it"),
	schemaRule(RuleType, "a value of the wrong type, with what to write (a quoted string, `true` for `yes`, a list for a string of words)"),
	schemaRule(RuleConst, "a value other than the one allowed (`apiVersion`, `kind`)"),
	schemaRule(RuleEnum, "a value outside the allowed set (update strategy, resource type, route method …)"),
	schemaRule(RulePattern, "a string in the wrong format (`spec.version` is not strict SemVer 2.0 …), with the corrected value when it is clear (`1.0` → `1.0.0`)"),
	schemaRule(RuleMinLength, "a string shorter than allowed"),
	schemaRule(RuleMinimum, "a number below the allowed minimum"),
	schemaRule(RuleUniqueItems, "a list that must not repeat an item repeats one"),
	schemaRule(RuleOneOf, "a value that matches none, or more than one, of the allowed shapes"),
	schemaRule(RuleFormat, "a string that is not of the declared format"),
	schemaRule(RuleMinItems, "a list with fewer items than required"),
	schemaRule(RuleInvalid, "a value the schema rejects for another reason"),
}

// Rules returns every rule Validate can report. The caller owns the slice.
func Rules() []diag.Rule { return slices.Clone(rules) }
