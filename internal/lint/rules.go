package lint

import (
	"slices"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// Rule identifiers. They are stable: users grep for them, SARIF keys on
// them and suppressions name them, so never rename one.
const (
	ruleScopeEmpty         = "scope-empty"
	ruleScopeGrammar       = "scope-grammar"
	ruleScopeRuns          = "scope-runs"
	ruleScopeUnknown       = "scope-unknown"
	ruleScopeDuplicate     = "scope-duplicate"
	ruleScopeCaseDuplicate = "scope-case-duplicate"
	ruleScopeImpliedRead   = "scope-implied-read"

	ruleMetadataURIInvalid    = "metadata-uri-invalid"
	ruleMetadataURIWhitespace = "metadata-uri-whitespace"
	ruleMetadataURIScheme     = "metadata-uri-scheme"
	ruleMetadataURIHTTPS      = "metadata-uri-https"
	ruleMetadataURIUserinfo   = "metadata-uri-userinfo"
	ruleMetadataURIHost       = "metadata-uri-host"
	ruleMetadataLogoSVG       = "metadata-logo-svg"

	ruleClientNameEmpty   = "client-name-empty"
	ruleClientNameControl = "client-name-control"
	ruleClientNameLength  = "client-name-length"

	ruleRouteTarget       = "route-target-unknown"
	ruleRouteIngress      = "route-ingress-unknown"
	ruleMCPRoute          = "mcp-route-unknown"
	ruleMCPEndpointRoute  = "mcp-endpoint-or-route"
	ruleMCPAuthSecret     = "mcp-auth-secret-unknown"
	ruleWorkerContainer   = "worker-container-unknown"
	ruleDependsOn         = "depends-on-unknown"
	ruleBinding           = "binding-unknown"
	ruleQueueTrigger      = "queue-trigger-unknown"
	ruleDeadLetterQueue   = "dead-letter-queue-unknown"
	ruleWorkflowService   = "workflow-service-unknown"
	ruleFromWorkflowPath  = "from-workflow-path"
	ruleLegacyBuild       = "legacy-build-field"
	ruleWorkerBuildSource = "worker-build-source"
	ruleImageSource       = "image-source"
	ruleEnvInjectBraces   = "env-inject-braces"
	ruleEnvInjectPath     = "env-inject-path"
	ruleEnvInjectSection  = "env-inject-section"
	ruleEnvInjectUnknown  = "env-inject-unknown"
	ruleEnvInjectField    = "env-inject-field"
	ruleYAML11Boolean     = "yaml11-boolean"
	ruleAutoEnvNoWorker   = "auto-env-no-worker"
)

// helpLint is the README section that documents this package's rules.
const helpLint = "https://github.com/takos-dev/takos-apply#oauth-scopes-metadata-and-cross-references"

func lintRule(id string, prod, dev diag.Severity, summary string) diag.Rule {
	return diag.Rule{ID: id, Production: prod, Development: dev, Summary: summary, HelpURL: helpLint}
}

// securityRule is a rule that guards the consent screen or the links it
// shows against an attack; score is its CVSS-style security severity.
func securityRule(id string, prod, dev diag.Severity, summary string, score float64) diag.Rule {
	r := lintRule(id, prod, dev, summary)
	r.SecuritySeverity = score
	return r
}

// rules is this package's part of the rule catalogue, in README order. The
// redirect-URI rules belong to package redirecturi. A new rule constant gets
// a row here; TestEveryRuleIsTriggered fails otherwise.
var rules = []diag.Rule{
	lintRule(ruleScopeEmpty, diag.Error, diag.Error, "`scopes` is an empty list: Takos stores `allowed_scopes = []` and every authorization fails with `invalid_scope`"),
	lintRule(ruleScopeGrammar, diag.Error, diag.Error, "a scope is empty or contains a space, `\"`, `\\`, a control or a non-ASCII character (RFC 6749 §3.3)"),
	lintRule(ruleScopeRuns, diag.Error, diag.Error, "`runs:read`/`runs:write`: listed in the Takos docs but rejected by the Takos OAuth server"),
	lintRule(ruleScopeUnknown, diag.Error, diag.Error, "a scope the Takos OAuth server (or the control plane's `scopes_supported`) does not know; names the closest known scope"),
	lintRule(ruleScopeDuplicate, diag.Warning, diag.Warning, "the same scope is listed twice"),
	lintRule(ruleScopeCaseDuplicate, diag.Warning, diag.Warning, "two scopes differ only in case (scopes are case-sensitive)"),
	lintRule(ruleScopeImpliedRead, diag.Info, diag.Info, "`X:read` listed together with `X:write`, which implies it on Takos (`hasAccess()`)"),
	lintRule(ruleMetadataURIInvalid, diag.Error, diag.Error, "`logoUri`/`tosUri`/`policyUri` is empty, not an absolute URL, has no host or a non-ASCII host"),
	lintRule(ruleMetadataURIWhitespace, diag.Error, diag.Error, "a metadata URL contains whitespace or control characters"),
	securityRule(ruleMetadataURIScheme, diag.Error, diag.Error, "a metadata URL uses a scheme other than `https` or `http` (`data:`, `javascript:`, ...)", 6.1),
	securityRule(ruleMetadataURIHTTPS, diag.Error, diag.Warning, "a metadata URL uses `http` instead of `https`", 5.3),
	securityRule(ruleMetadataURIUserinfo, diag.Error, diag.Error, "a metadata URL contains user information (`user:pass@`)", 5.3),
	lintRule(ruleMetadataURIHost, diag.Warning, diag.Warning, "a metadata URL's host is an IP literal or localhost, which end users cannot reach"),
	securityRule(ruleMetadataLogoSVG, diag.Warning, diag.Warning, "`logoUri` points at an SVG file, which can carry script", 4.3),
	lintRule(ruleClientNameEmpty, diag.Error, diag.Error, "`clientName` is empty after trimming"),
	securityRule(ruleClientNameControl, diag.Error, diag.Error, "`clientName` contains control, bidirectional or invisible format characters or line breaks (consent-screen spoofing)", 6.1),
	lintRule(ruleClientNameLength, diag.Warning, diag.Warning, "`clientName` is longer than 128 characters"),
	lintRule(ruleRouteTarget, diag.Error, diag.Error, "`routes[].target` names no worker, container or service"),
	lintRule(ruleRouteIngress, diag.Error, diag.Error, "`routes[].ingress` names no worker"),
	lintRule(ruleMCPRoute, diag.Error, diag.Error, "`mcpServers[].route` names no `routes[].name` (a path such as `/mcp` is not a route name)"),
	lintRule(ruleMCPEndpointRoute, diag.Error, diag.Error, "an `mcpServers[]` entry sets both or neither of `endpoint` and `route`"),
	lintRule(ruleMCPAuthSecret, diag.Error, diag.Error, "`mcpServers[].authSecretRef` names no `secretRef` resource"),
	lintRule(ruleWorkerContainer, diag.Error, diag.Error, "`workers.W.containers[]` names no container"),
	lintRule(ruleDependsOn, diag.Error, diag.Error, "`dependsOn[]` names no container, service or worker"),
	lintRule(ruleBinding, diag.Error, diag.Error, "a binding list (`d1`/`sql`, `r2`/`objectStores`, `kv`, `queues`, `vectorize`/`vectorIndexes`, `analyticsEngine`/`analyticsStores`/`analytics`, `workflow`/`workflowRuntimes`/`workflows`, `durableObjects`/`durableNamespaces`) names no resource of the matching type"),
	lintRule(ruleQueueTrigger, diag.Error, diag.Error, "`triggers.queues[].queue` names no queue resource"),
	lintRule(ruleDeadLetterQueue, diag.Error, diag.Error, "`queue.deadLetterQueue` names no queue resource"),
	lintRule(ruleWorkflowService, diag.Error, diag.Error, "a workflow resource's `service` names no worker or service"),
	lintRule(ruleFromWorkflowPath, diag.Error, diag.Error, "`build.fromWorkflow.path`, normalised as Takos does, is not under `.takos/workflows/` or contains `..`"),
	lintRule(ruleLegacyBuild, diag.Error, diag.Error, "legacy local build fields (`build.command`, `build.output`, `build.cwd`, worker `entry`)"),
	lintRule(ruleWorkerBuildSource, diag.Error, diag.Error, "a worker defines neither `build.fromWorkflow` nor `artifact.kind: bundle`"),
	lintRule(ruleImageSource, diag.Error, diag.Error, "a container or service defines none of `dockerfile`, `imageRef`, `artifact.kind: image`"),
	lintRule(ruleEnvInjectBraces, diag.Error, diag.Error, "an `env.inject` value has unbalanced `{{` and `}}`"),
	lintRule(ruleEnvInjectPath, diag.Error, diag.Error, "an `env.inject` template reference has fewer than two parts"),
	lintRule(ruleEnvInjectSection, diag.Error, diag.Error, "an `env.inject` template section is not routes, containers, services, workers or resources"),
	lintRule(ruleEnvInjectUnknown, diag.Error, diag.Error, "an `env.inject` template names an entry the manifest does not define"),
	lintRule(ruleEnvInjectField, diag.Warning, diag.Warning, "an `env.inject` template field is not one Takos resolves at deploy"),
	lintRule(ruleAutoEnvNoWorker, diag.Warning, diag.Warning, "`autoEnv: true` but `spec.workers` is empty: on Takos only workers receive environment (containers and services get none), so the credentials reach no component of the app"),
	lintRule(ruleIgnoreDirective, diag.Warning, diag.Warning, "a `# takos-apply:ignore` comment names no rule or an unknown one, so it silences nothing"),
	lintRule(ruleYAML11Boolean, diag.Info, diag.Info, "an unquoted `yes`/`no`/`on`/`off`/`y`/`n` string, which YAML 1.1 tools read as a boolean"),
}

// Rules returns every rule of this package in documentation order. The
// caller owns the returned slice.
func Rules() []diag.Rule { return slices.Clone(rules) }
