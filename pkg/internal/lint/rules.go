package lint

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
)

// RuleInfo describes one rule for documentation and tests.
type RuleInfo struct {
	ID string
	// Severity is "error", "warning", "info", or a description of how it
	// depends on the environment.
	Severity    string
	Description string
}

// Rules returns every rule of this package in documentation order. The
// redirect-URI rules belong to package redirecturi and are not listed. The
// caller owns the returned slice.
func Rules() []RuleInfo {
	return []RuleInfo{
		{ruleScopeEmpty, "error", "`scopes` is an empty list: Takos stores `allowed_scopes = []` and every authorization fails with `invalid_scope`"},
		{ruleScopeGrammar, "error", "a scope is empty or contains a space, `\"`, `\\`, a control or a non-ASCII character (RFC 6749 §3.3)"},
		{ruleScopeRuns, "error", "`runs:read`/`runs:write`: listed in the Takos docs but rejected by the Takos OAuth server"},
		{ruleScopeUnknown, "error", "a scope the Takos OAuth server (or the control plane's `scopes_supported`) does not know; names the closest known scope"},
		{ruleScopeDuplicate, "warning", "the same scope is listed twice"},
		{ruleScopeCaseDuplicate, "warning", "two scopes differ only in case (scopes are case-sensitive)"},
		{ruleScopeImpliedRead, "info", "`X:read` listed together with `X:write`, which implies it on Takos (`hasAccess()`)"},
		{ruleMetadataURIInvalid, "error", "`logoUri`/`tosUri`/`policyUri` is empty, not an absolute URL, has no host or a non-ASCII host"},
		{ruleMetadataURIWhitespace, "error", "a metadata URL contains whitespace or control characters"},
		{ruleMetadataURIScheme, "error", "a metadata URL uses a scheme other than `https` or `http` (`data:`, `javascript:`, ...)"},
		{ruleMetadataURIHTTPS, "error (production) / warning (development)", "a metadata URL uses `http` instead of `https`"},
		{ruleMetadataURIUserinfo, "error", "a metadata URL contains user information (`user:pass@`)"},
		{ruleMetadataURIHost, "warning", "a metadata URL's host is an IP literal or localhost, which end users cannot reach"},
		{ruleMetadataLogoSVG, "warning", "`logoUri` points at an SVG file, which can carry script"},
		{ruleClientNameEmpty, "error", "`clientName` is empty after trimming"},
		{ruleClientNameControl, "error", "`clientName` contains control, bidirectional or invisible format characters or line breaks (consent-screen spoofing)"},
		{ruleClientNameLength, "warning", "`clientName` is longer than 128 characters"},
		{ruleRouteTarget, "error", "`routes[].target` names no worker, container or service"},
		{ruleRouteIngress, "error", "`routes[].ingress` names no worker"},
		{ruleMCPRoute, "error", "`mcpServers[].route` names no `routes[].name` (a path such as `/mcp` is not a route name)"},
		{ruleMCPEndpointRoute, "error", "an `mcpServers[]` entry sets both or neither of `endpoint` and `route`"},
		{ruleMCPAuthSecret, "error", "`mcpServers[].authSecretRef` names no `secretRef` resource"},
		{ruleWorkerContainer, "error", "`workers.W.containers[]` names no container"},
		{ruleDependsOn, "error", "`dependsOn[]` names no container, service or worker"},
		{ruleBinding, "error", "a binding list (`d1`/`sql`, `r2`/`objectStores`, `kv`, `queues`, `vectorize`/`vectorIndexes`, `analyticsEngine`/`analyticsStores`/`analytics`, `workflow`/`workflowRuntimes`/`workflows`, `durableObjects`/`durableNamespaces`) names no resource of the matching type"},
		{ruleQueueTrigger, "error", "`triggers.queues[].queue` names no queue resource"},
		{ruleDeadLetterQueue, "error", "`queue.deadLetterQueue` names no queue resource"},
		{ruleWorkflowService, "error", "a workflow resource's `service` names no worker or service"},
		{ruleFromWorkflowPath, "error", "`build.fromWorkflow.path`, normalised as Takos does, is not under `.takos/workflows/` or contains `..`"},
		{ruleLegacyBuild, "error", "legacy local build fields (`build.command`, `build.output`, `build.cwd`, worker `entry`)"},
		{ruleWorkerBuildSource, "error", "a worker defines neither `build.fromWorkflow` nor `artifact.kind: bundle`"},
		{ruleImageSource, "error", "a container or service defines none of `dockerfile`, `imageRef`, `artifact.kind: image`"},
		{ruleEnvInjectBraces, "error", "an `env.inject` value has unbalanced `{{` and `}}`"},
		{ruleEnvInjectPath, "error", "an `env.inject` template reference has fewer than two parts"},
		{ruleEnvInjectSection, "error", "an `env.inject` template section is not routes, containers, services, workers or resources"},
		{ruleEnvInjectUnknown, "error", "an `env.inject` template names an entry the manifest does not define"},
		{ruleEnvInjectField, "warning", "an `env.inject` template field is not one Takos resolves at deploy"},
		{ruleYAML11Boolean, "info", "an unquoted `yes`/`no`/`on`/`off`/`y`/`n` string, which YAML 1.1 tools read as a boolean"},
	}
}
