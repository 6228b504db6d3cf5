package lint

import (
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// rules is this package's part of the rule catalogue: each rule declared
// once below, in README order, with its severity in production and
// development, its summary and help URL (see diag.Rule). The redirect-URI
// rules belong to package redirecturi. IDs are stable: users grep for
// them, SARIF keys on them and suppressions name them, so never rename one.
var rules diag.RuleSet

// helpLint is the README section that documents this package's rules.
const helpLint = "https://github.com/takos-dev/takos-apply#oauth-scopes-metadata-and-cross-references"

func rule(id string, prod, dev diag.Severity, summary string) *diag.Rule {
	return securityRule(id, prod, dev, 0, summary)
}

// securityRule is a rule that guards the consent screen or the links it
// shows against an attack; score is its CVSS-style security severity.
func securityRule(id string, prod, dev diag.Severity, score float64, summary string) *diag.Rule {
	return rules.Add(diag.Rule{ID: id, Production: prod, Development: dev, Summary: summary, HelpURL: helpLint, SecuritySeverity: score})
}

var (
	ruleScopeEmpty            = rule("scope-empty", diag.Error, diag.Error, "`scopes` is an empty list: Takos stores `allowed_scopes = []` and every authorization fails with `invalid_scope`")
	ruleScopeGrammar          = rule("scope-grammar", diag.Error, diag.Error, "a scope is empty or contains a space, `\"`, `\\`, a control or a non-ASCII character (RFC 6749 §3.3)")
	ruleScopeRuns             = rule("scope-runs", diag.Error, diag.Error, "`runs:read`/`runs:write`: listed in the Takos docs but rejected by the Takos OAuth server")
	ruleScopeUnknown          = rule("scope-unknown", diag.Error, diag.Error, "a scope the Takos OAuth server (or the control plane's `scopes_supported`) does not know; names the closest known scope")
	ruleScopeDuplicate        = rule("scope-duplicate", diag.Warning, diag.Warning, "the same scope is listed twice")
	ruleScopeCaseDuplicate    = rule("scope-case-duplicate", diag.Warning, diag.Warning, "two scopes differ only in case (scopes are case-sensitive)")
	ruleScopeImpliedRead      = rule("scope-implied-read", diag.Info, diag.Info, "`X:read` listed together with `X:write`, which implies it on Takos (`hasAccess()`)")
	ruleMetadataURIInvalid    = rule("metadata-uri-invalid", diag.Error, diag.Error, "`logoUri`/`tosUri`/`policyUri` is empty, not an absolute URL, has no host or a non-ASCII host")
	ruleMetadataURIWhitespace = rule("metadata-uri-whitespace", diag.Error, diag.Error, "a metadata URL contains whitespace or control characters")
	ruleMetadataURIScheme     = securityRule("metadata-uri-scheme", diag.Error, diag.Error, 6.1, "a metadata URL uses a scheme other than `https` or `http` (`data:`, `javascript:`, ...)")
	ruleMetadataURIHTTPS      = securityRule("metadata-uri-https", diag.Error, diag.Warning, 5.3, "a metadata URL uses `http` instead of `https`")
	ruleMetadataURIUserinfo   = securityRule("metadata-uri-userinfo", diag.Error, diag.Error, 5.3, "a metadata URL contains user information (`user:pass@`)")
	ruleMetadataURIHost       = rule("metadata-uri-host", diag.Warning, diag.Warning, "a metadata URL's host is an IP literal or localhost, which end users cannot reach")
	ruleMetadataLogoSVG       = securityRule("metadata-logo-svg", diag.Warning, diag.Warning, 4.3, "`logoUri` points at an SVG file, which can carry script")
	ruleClientNameEmpty       = rule("client-name-empty", diag.Error, diag.Error, "`clientName` is empty after trimming")
	ruleClientNameControl     = securityRule("client-name-control", diag.Error, diag.Error, 6.1, "`clientName` contains control, bidirectional or invisible format characters or line breaks (consent-screen spoofing)")
	ruleClientNameLength      = rule("client-name-length", diag.Warning, diag.Warning, "`clientName` is longer than 128 characters")
	ruleRouteTarget           = rule("route-target-unknown", diag.Error, diag.Error, "`routes[].target` names no worker, container or service")
	ruleRouteIngress          = rule("route-ingress-unknown", diag.Error, diag.Error, "`routes[].ingress` names no worker")
	ruleMCPRoute              = rule("mcp-route-unknown", diag.Error, diag.Error, "`mcpServers[].route` names no `routes[].name` (a path such as `/mcp` is not a route name)")
	ruleMCPEndpointRoute      = rule("mcp-endpoint-or-route", diag.Error, diag.Error, "an `mcpServers[]` entry sets both or neither of `endpoint` and `route`")
	ruleMCPAuthSecret         = rule("mcp-auth-secret-unknown", diag.Error, diag.Error, "`mcpServers[].authSecretRef` names no `secretRef` resource")
	ruleWorkerContainer       = rule("worker-container-unknown", diag.Error, diag.Error, "`workers.W.containers[]` names no container")
	ruleDependsOn             = rule("depends-on-unknown", diag.Error, diag.Error, "`dependsOn[]` names no container, service or worker")
	ruleBinding               = rule("binding-unknown", diag.Error, diag.Error, "a binding list (`d1`/`sql`, `r2`/`objectStores`, `kv`, `queues`, `vectorize`/`vectorIndexes`, `analyticsEngine`/`analyticsStores`/`analytics`, `workflow`/`workflowRuntimes`/`workflows`, `durableObjects`/`durableNamespaces`) names no resource of the matching type")
	ruleQueueTrigger          = rule("queue-trigger-unknown", diag.Error, diag.Error, "`triggers.queues[].queue` names no queue resource")
	ruleDeadLetterQueue       = rule("dead-letter-queue-unknown", diag.Error, diag.Error, "`queue.deadLetterQueue` names no queue resource")
	ruleWorkflowService       = rule("workflow-service-unknown", diag.Error, diag.Error, "a workflow resource's `service` names no worker or service")
	ruleFromWorkflowPath      = rule("from-workflow-path", diag.Error, diag.Error, "`build.fromWorkflow.path`, normalised as Takos does, is not under `.takos/workflows/` or contains `..`")
	ruleLegacyBuild           = rule("legacy-build-field", diag.Error, diag.Error, "legacy local build fields (`build.command`, `build.output`, `build.cwd`, worker `entry`)")
	ruleWorkerBuildSource     = rule("worker-build-source", diag.Error, diag.Error, "a worker defines neither `build.fromWorkflow` nor `artifact.kind: bundle`")
	ruleImageSource           = rule("image-source", diag.Error, diag.Error, "a container or service defines none of `dockerfile`, `imageRef`, `artifact.kind: image`")
	ruleEnvInjectBraces       = rule("env-inject-braces", diag.Error, diag.Error, "an `env.inject` value has unbalanced `{{` and `}}`")
	ruleEnvInjectPath         = rule("env-inject-path", diag.Error, diag.Error, "an `env.inject` template reference has fewer than two parts")
	ruleEnvInjectSection      = rule("env-inject-section", diag.Error, diag.Error, "an `env.inject` template section is not routes, containers, services, workers or resources")
	ruleEnvInjectUnknown      = rule("env-inject-unknown", diag.Error, diag.Error, "an `env.inject` template names an entry the manifest does not define")
	ruleEnvInjectField        = rule("env-inject-field", diag.Warning, diag.Warning, "an `env.inject` template field is not one Takos resolves at deploy")
	ruleAutoEnvNoWorker       = rule("auto-env-no-worker", diag.Warning, diag.Warning, "`autoEnv: true` but `spec.workers` is empty: on Takos only workers receive environment (containers and services get none), so the credentials reach no component of the app")
	ruleIgnoreDirective       = rule("ignore-directive", diag.Warning, diag.Warning, "a `# takos-apply:ignore` comment names no rule or an unknown one, so it silences nothing")
	ruleYAML11Boolean         = rule("yaml11-boolean", diag.Info, diag.Info, "an unquoted `yes`/`no`/`on`/`off`/`y`/`n` string, which YAML 1.1 tools read as a boolean")
)

// Rules returns every rule of this package in documentation order. The
// caller owns the returned slice.
func Rules() []diag.Rule { return rules.Rules() }
