package manifest

// Rule identifiers of the findings of this package, all in one place. They
// are stable: users grep for them, SARIF keys on them and suppressions name
// them, so never rename one. All report errors except RuleYAML12Scalar and
// RuleValueWhitespace (warnings) and RuleValueEmpty (information).

// Rule identifiers of the loader's findings.
const (
	RuleSyntax      = "yaml-syntax"
	RuleSize        = "yaml-size"
	RuleEncoding    = "yaml-encoding"
	RuleDuplicate   = "yaml-duplicate-key"
	RuleMultiDoc    = "yaml-multi-document"
	RuleKeyType     = "yaml-key-type"
	RuleTag         = "yaml-tag"
	RuleMergeKey    = "yaml-merge-key"
	RuleLimit       = "yaml-limit"
	RuleNumber      = "yaml-number"
	RuleEmpty       = "yaml-empty"
	RuleControlChar = "yaml-control-char"
)

// Loader rules for the YAML 1.1 / 1.2 differences.
const (
	RuleLineEnding   = "yaml-line-ending"
	RuleDirective    = "yaml-directive"
	RuleComment      = "yaml-comment-spacing"
	RuleIndent       = "yaml-indentation"
	RuleFlowToken    = "yaml-flow-token"
	RuleYAML12Scalar = "yaml-1.2-scalar"
)

// Rules of the value normalisation Takos applies before it validates.
const (
	RuleValueWhitespace = "value-whitespace"
	RuleValueEmpty      = "value-empty"
)

// RuleOtherContract marks a manifest written for another Takos manifest
// contract than the takos.dev/v1alpha1 it declares.
const RuleOtherContract = "other-takos-contract"
