package manifest

import (
	"slices"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/schema"
)

// The rules of this package, each declared once with its severity, summary
// and help URL (see diag.Rule). Their IDs are stable: users grep for them,
// SARIF keys on them and suppressions name them, so never rename one. The
// loader and Validate report every rule with the same severity in both
// deploy environments.
var rules diag.RuleSet

// The README sections that document the rules.
const (
	helpLoader = "https://github.com/takos-dev/takos-apply#yaml-loader"
	helpValues = "https://github.com/takos-dev/takos-apply#schema"
)

func rule(id string, sev diag.Severity, help, summary string) *diag.Rule {
	return rules.Add(diag.Rule{ID: id, Production: sev, Development: sev, Summary: summary, HelpURL: help})
}

// Rules of the loader, in README order.
var (
	RuleSyntax       = rule("yaml-syntax", diag.Error, helpLoader, "invalid YAML, at the token that breaks the parse, with what to write for the common mistakes")
	RuleEmpty        = rule("yaml-empty", diag.Error, helpLoader, "empty file or a document that is only `null`")
	RuleMultiDoc     = rule("yaml-multi-document", diag.Error, helpLoader, "more than one document (`---`); Takos reads exactly one")
	RuleDuplicate    = rule("yaml-duplicate-key", diag.Error, helpLoader, "a key defined twice in one mapping")
	RuleKeyType      = rule("yaml-key-type", diag.Error, helpLoader, "a non-string mapping key (`1:`, `~:`, `true:`, `? [a]`)")
	RuleTag          = rule("yaml-tag", diag.Error, helpLoader, "an explicit tag other than the core YAML ones (`!!binary`, custom `!tags`)")
	RuleMergeKey     = rule("yaml-merge-key", diag.Error, helpLoader, "a `<<` merge key, which the Takos parser ignores")
	RuleEncoding     = rule("yaml-encoding", diag.Error, helpLoader, "invalid UTF-8 or a UTF-16/32 byte-order mark")
	RuleControlChar  = rule("yaml-control-char", diag.Error, helpLoader, "a NUL, ESC, DEL or C1 control character, raw or from an escape")
	RuleNumber       = rule("yaml-number", diag.Error, helpLoader, "`.nan`, `.inf` or an integer JSON cannot hold")
	RuleSize         = rule("yaml-size", diag.Error, helpLoader, "the file is larger than `--max-file-size`")
	RuleLimit        = rule("yaml-limit", diag.Error, helpLoader, "nesting, mapping size or alias expansion over the loader's limits")
	RuleLineEnding   = rule("yaml-line-ending", diag.Error, helpLoader, "a carriage return without a line feed, where Takos's reader does not break the line")
	RuleDirective    = rule("yaml-directive", diag.Error, helpLoader, "a `%YAML` directive other than `%YAML 1.2`")
	RuleComment      = rule("yaml-comment-spacing", diag.Error, helpLoader, "a `#` glued to the previous token, which Takos's reader rejects")
	RuleIndent       = rule("yaml-indentation", diag.Error, helpLoader, "a continuation line of a flow collection or quoted string not indented past its key")
	RuleFlowToken    = rule("yaml-flow-token", diag.Error, helpLoader, "a token YAML 1.1 and YAML 1.2 readers split differently (`?x` or `-` in a flow collection …)")
	RuleYAML12Scalar = rule("yaml-1.2-scalar", diag.Warning, helpLoader, "an unquoted value YAML 1.1 tools read otherwise than Takos (`1_000`, `0b11`, `012` …)")
)

// Rules of Validate beyond the schema's keywords: the value normalisation
// Takos applies before it validates, and a manifest written for another
// Takos manifest contract than the takos.dev/v1alpha1 it declares.
var (
	RuleValueWhitespace = rule("value-whitespace", diag.Warning, helpValues, "a string with surrounding white space, which Takos trims before it compares")
	RuleValueEmpty      = rule("value-empty", diag.Info, helpValues, "a field that is `null`, empty or blank, which Takos treats as absent")
	RuleOtherContract   = rule("other-takos-contract", diag.Error, helpValues, "a manifest shape from another Takos manifest contract (`spec.services.web.type: worker`)")
)

// Rules returns every rule Load can report: the loader's, Validate's and
// the schema's, in documentation order. The caller owns the slice.
func Rules() []diag.Rule {
	return slices.Concat(rules.Rules(), schema.Rules())
}
