package manifest

import (
	"slices"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/schema"
)

// helpLoader is the README section that documents the loader's rules.
const helpLoader = "https://github.com/takos-dev/takos-apply#yaml-loader"

// loaderRule registers one rule reported as an error in every environment.
func loaderRule(id, summary string) diag.Rule {
	return diag.Rule{ID: id, Production: diag.Error, Development: diag.Error, Summary: summary, HelpURL: helpLoader}
}

// loaderRules is the loader's part of the rule catalogue, in README order.
// A new Rule* constant (rules.go) gets a row here;
// lint's TestRuleConstantsRegistered fails otherwise.
var loaderRules = []diag.Rule{
	loaderRule(RuleSyntax, "invalid YAML, at the token that breaks the parse, with what to write for the common mistakes"),
	loaderRule(RuleEmpty, "empty file or a document that is only `null`"),
	loaderRule(RuleMultiDoc, "more than one document (`---`); Takos reads exactly one"),
	loaderRule(RuleDuplicate, "a key defined twice in one mapping"),
	loaderRule(RuleKeyType, "a non-string mapping key (`1:`, `~:`, `true:`, `? [a]`)"),
	loaderRule(RuleTag, "an explicit tag other than the core YAML ones (`!!binary`, custom `!tags`)"),
	loaderRule(RuleMergeKey, "a `<<` merge key, which the Takos parser ignores"),
	loaderRule(RuleEncoding, "invalid UTF-8 or a UTF-16/32 byte-order mark"),
	loaderRule(RuleControlChar, "a NUL, ESC, DEL or C1 control character, raw or from an escape"),
	loaderRule(RuleNumber, "`.nan`, `.inf` or an integer JSON cannot hold"),
	loaderRule(RuleSize, "the file is larger than `--max-file-size`"),
	loaderRule(RuleLimit, "nesting, mapping size or alias expansion over the loader's limits"),
	loaderRule(RuleLineEnding, "a carriage return without a line feed, where Takos's reader does not break the line"),
	loaderRule(RuleDirective, "a `%YAML` directive other than `%YAML 1.2`"),
	loaderRule(RuleComment, "a `#` glued to the previous token, which Takos's reader rejects"),
	loaderRule(RuleIndent, "a continuation line of a flow collection or quoted string not indented past its key"),
	loaderRule(RuleFlowToken, "a token YAML 1.1 and YAML 1.2 readers split differently (`?x` or `-` in a flow collection …)"),
	withSeverity(loaderRule(RuleYAML12Scalar, "an unquoted value YAML 1.1 tools read otherwise than Takos (`1_000`, `0b11`, `012` …)"), diag.Warning),
}

// helpValues is the README section that documents the rules of the values
// Takos normalises and of other manifest contracts.
const helpValues = "https://github.com/takos-dev/takos-apply#schema"

// valueRules are the checks of Validate beyond the schema's keywords.
var valueRules = []diag.Rule{
	withHelp(withSeverity(loaderRule(RuleValueWhitespace, "a string with surrounding white space, which Takos trims before it compares"), diag.Warning), helpValues),
	withHelp(withSeverity(loaderRule(RuleValueEmpty, "a field that is `null`, empty or blank, which Takos treats as absent"), diag.Info), helpValues),
	withHelp(loaderRule(RuleOtherContract, "a manifest shape from another Takos manifest contract (`spec.services.web.type: worker`)"), helpValues),
}

func withSeverity(r diag.Rule, s diag.Severity) diag.Rule {
	r.Production, r.Development = s, s
	return r
}

func withHelp(r diag.Rule, url string) diag.Rule {
	r.HelpURL = url
	return r
}

// Rules returns every rule Load can report: the loader's, Validate's and
// the schema's.
// The caller owns the slice.
func Rules() []diag.Rule {
	return slices.Concat(loaderRules, valueRules, schema.Rules())
}
