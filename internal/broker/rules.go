package broker

import "github.com/takos-dev/takos-apply/pkg/diag"

// The rules of the broker's own findings (see diag.Rule), beyond the
// schema's, whose findings carry the schema's rules as app.yml's do. They
// are about the trust policy and its test cases, not an app.yml, so they
// are not in lint's catalogue; TestCatalog keeps their IDs unique.
var rules diag.RuleSet

// The README sections that document them.
const (
	helpPolicy     = "https://github.com/takos-dev/takos-apply#the-trust-policy"
	helpPolicyTest = "https://github.com/takos-dev/takos-apply#testing-a-policy"
)

func rule(id string, sev diag.Severity, help, summary string) *diag.Rule {
	return rules.Add(diag.Rule{ID: id, Production: sev, Development: sev, Summary: summary, HelpURL: help})
}

var (
	// RulePolicyRule is a policy rule that cannot work as written.
	RulePolicyRule = rule("policy-rule", diag.Error, helpPolicy,
		"a policy rule is unusable: a duplicate name, a bad ttl or pattern, or no identity claim")
	// rulePolicyNoEffect is a field of a policy rule that has no effect.
	rulePolicyNoEffect = rule("policy-no-effect", diag.Warning, helpPolicy,
		"a field of a policy rule that has no effect (spaces or clients without the capability they scope)")
	// RulePolicyTest is a case of broker test that the policy decides
	// otherwise.
	RulePolicyTest = rule("policy-test", diag.Error, helpPolicyTest, "a case the policy decides otherwise")
	// RuleCaseToken is a case whose token cannot be built.
	RuleCaseToken = rule("policy-test-token", diag.Error, helpPolicyTest, "a case whose token cannot be built")
)
