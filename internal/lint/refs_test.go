package lint

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// specApp returns a manifest whose spec holds version 1.0.0 and body,
// which is indented by two spaces.
func specApp(body string) string {
	return header + "spec:\n  version: 1.0.0\n" + body
}

// Definitions most cross-reference cases resolve against.
const (
	workerDefs = `  workers:
    web: {build: {fromWorkflow: {path: .takos/workflows/build.yml, job: build, artifact: web, artifactPath: dist/web.js}}}
`
	otherDefs = `  containers:
    box: {dockerfile: Dockerfile, port: 8080}
  services:
    api: {imageRef: "ghcr.io/x/api:1", port: 80}
  resources:
    db: {type: d1}
    files: {type: r2}
    cache: {type: kv}
    jobs: {type: queue}
    token: {type: secret_ref}
`
	defs = workerDefs + otherDefs
	// fw is a valid build block for workers defined by a case.
	fw = "build: {fromWorkflow: {path: .takos/workflows/build.yml, job: b, artifact: a, artifactPath: dist/a.js}}"
)

type refCase struct {
	name string
	body string // spec body after version
	want []want
	msg  string
}

var refCases = []refCase{
	// routes
	{name: "route targets of every kind", body: defs + "  routes:\n    - {name: a, target: web}\n    - {name: b, target: box}\n    - {name: c, target: api}\n"},
	{name: "route target unknown", body: defs + "  routes:\n    - {name: a, target: nope}\n",
		want: []want{{"/spec/routes/0/target", ruleRouteTarget, diag.Error}}, msg: `one of "api", "box", "web"`},
	{name: "route target is case-sensitive", body: defs + "  routes:\n    - {name: a, target: web}\n    - {name: b, target: Web}\n",
		want: []want{{"/spec/routes/1/target", ruleRouteTarget, diag.Error}}},
	{name: "route target with nothing defined", body: "  routes:\n    - {name: a, target: web}\n",
		want: []want{{"/spec/routes/0/target", ruleRouteTarget, diag.Error}}, msg: "none is defined"},
	{name: "route target resource is not a workload", body: defs + "  routes:\n    - {name: a, target: db}\n",
		want: []want{{"/spec/routes/0/target", ruleRouteTarget, diag.Error}}},
	{name: "route ingress worker", body: defs + "  routes:\n    - {name: a, target: api, ingress: web}\n"},
	{name: "route ingress container", body: defs + "  routes:\n    - {name: a, target: api, ingress: box}\n",
		want: []want{{"/spec/routes/0/ingress", ruleRouteIngress, diag.Error}}, msg: "names no worker"},
	{name: "route ingress unknown", body: defs + "  routes:\n    - {name: a, target: web, ingress: edge}\n",
		want: []want{{"/spec/routes/0/ingress", ruleRouteIngress, diag.Error}}},
	{name: "routes of the wrong type are the schema's", body: defs + "  routes: {a: b}\n"},
	{name: "route elements of the wrong type are the schema's", body: defs + "  routes: [web, 5, null]\n"},

	// mcpServers
	{name: "mcp route by name", body: defs + "  routes:\n    - {name: mcp, target: web, path: /mcp}\n  mcpServers:\n    - {name: m, route: mcp}\n"},
	{name: "mcp route written as the path", body: defs + "  routes:\n    - {name: mcp-route, target: web, path: /mcp}\n  mcpServers:\n    - {name: m, route: /mcp}\n",
		want: []want{{"/spec/mcpServers/0/route", ruleMCPRoute, diag.Error}}, msg: `use "mcp-route", the route with that path`},
	{name: "mcp route path without a matching route", body: defs + "  routes:\n    - {name: app, target: web, path: /}\n  mcpServers:\n    - {name: m, route: /mcp}\n",
		want: []want{{"/spec/mcpServers/0/route", ruleMCPRoute, diag.Error}}, msg: "is a path"},
	{name: "mcp route unknown name", body: defs + "  routes:\n    - {name: app, target: web}\n  mcpServers:\n    - {name: m, route: mcp}\n",
		want: []want{{"/spec/mcpServers/0/route", ruleMCPRoute, diag.Error}}, msg: `one of "app"`},
	{name: "mcp endpoint only", body: defs + "  mcpServers:\n    - {name: m, endpoint: https://mcp.example.com/mcp}\n"},
	{name: "mcp both endpoint and route", body: defs + "  routes:\n    - {name: mcp, target: web}\n  mcpServers:\n    - {name: m, endpoint: https://mcp.example.com, route: mcp}\n",
		want: []want{{"/spec/mcpServers/0", ruleMCPEndpointRoute, diag.Error}}, msg: "both"},
	{name: "mcp neither endpoint nor route", body: defs + "  mcpServers:\n    - {name: m, transport: streamable-http}\n",
		want: []want{{"/spec/mcpServers/0", ruleMCPEndpointRoute, diag.Error}}, msg: "neither"},
	{name: "mcp empty endpoint counts as missing", body: defs + "  mcpServers:\n    - {name: m, endpoint: \"  \"}\n",
		want: []want{{"/spec/mcpServers/0", ruleMCPEndpointRoute, diag.Error}}},
	{name: "mcp auth secret aliases", body: defs + "    tok2: {type: secret}\n    tok3: {type: secretRef}\n  mcpServers:\n    - {name: a, endpoint: https://a.example.com, authSecretRef: token}\n    - {name: b, endpoint: https://b.example.com, authSecretRef: tok2}\n    - {name: c, endpoint: https://c.example.com, authSecretRef: tok3}\n"},
	{name: "mcp auth secret of another type", body: defs + "  mcpServers:\n    - {name: m, endpoint: https://mcp.example.com, authSecretRef: db}\n",
		want: []want{{"/spec/mcpServers/0/authSecretRef", ruleMCPAuthSecret, diag.Error}}, msg: "is a d1 resource"},
	{name: "mcp auth secret unknown", body: defs + "  mcpServers:\n    - {name: m, endpoint: https://mcp.example.com, authSecretRef: MCP_TOKEN}\n",
		want: []want{{"/spec/mcpServers/0/authSecretRef", ruleMCPAuthSecret, diag.Error}}},

	// worker containers and dependsOn
	{name: "worker containers known", body: otherDefs + "  workers:\n    w: {" + fw + ", containers: [box]}\n"},
	{name: "worker container unknown", body: otherDefs + "  workers:\n    w: {" + fw + ", containers: [box, sandbox]}\n",
		want: []want{{"/spec/workers/w/containers/1", ruleWorkerContainer, diag.Error}}, msg: `one of "box"`},
	{name: "worker container is a service", body: otherDefs + "  workers:\n    w: {" + fw + ", containers: [api]}\n",
		want: []want{{"/spec/workers/w/containers/0", ruleWorkerContainer, diag.Error}}},
	{name: "dependsOn every workload kind", body: otherDefs + "  workers:\n    w: {" + fw + ", dependsOn: [box, api]}\n    v: {" + fw + ", dependsOn: [w]}\n"},
	{name: "worker dependsOn unknown", body: otherDefs + "  workers:\n    w: {" + fw + ", dependsOn: [ghost]}\n",
		want: []want{{"/spec/workers/w/dependsOn/0", ruleDependsOn, diag.Error}}},
	{name: "service dependsOn a resource", body: workerDefs + "  services:\n    s: {imageRef: x, port: 1, dependsOn: [web, db]}\n  resources:\n    db: {type: d1}\n",
		want: []want{{"/spec/services/s/dependsOn/1", ruleDependsOn, diag.Error}}, msg: "container, service or worker"},
	{name: "container dependsOn unknown", body: workerDefs + "  containers:\n    c: {dockerfile: D, port: 1, dependsOn: [redis]}\n",
		want: []want{{"/spec/containers/c/dependsOn/0", ruleDependsOn, diag.Error}}},

	// bindings
	{name: "bindings of matching types and aliases", body: otherDefs + "    vec: {type: vector_index}\n    ev: {type: analytics_store}\n    wf: {type: workflow_runtime, workflow: {service: api, export: Run}}\n    do: {type: durable_namespace, durableObject: {className: X}}\n" +
		"  workers:\n    w:\n      " + fw + "\n      bindings: {d1: [db], sql: [db], r2: [files], objectStores: [files], kv: [cache], queues: [jobs], vectorize: [vec], vectorIndexes: [vec], analyticsEngine: [ev], analyticsStores: [ev], analytics: [ev], workflow: [wf], workflowRuntimes: [wf], workflows: [wf], durableObjects: [do], durableNamespaces: [do], resources: [anything], services: [unknown-service]}\n"},
	{name: "d1 binding to a kv resource", body: otherDefs + "  workers:\n    w: {" + fw + ", bindings: {d1: [cache]}}\n",
		want: []want{{"/spec/workers/w/bindings/d1/0", ruleBinding, diag.Error}}, msg: "is a kv resource, not d1"},
	{name: "sql alias binding unknown", body: otherDefs + "  workers:\n    w: {" + fw + ", bindings: {sql: [db, nope]}}\n",
		want: []want{{"/spec/workers/w/bindings/sql/1", ruleBinding, diag.Error}}, msg: "names no d1 resource"},
	{name: "queues binding to a d1 resource", body: otherDefs + "  workers:\n    w: {" + fw + ", bindings: {queues: [db]}}\n",
		want: []want{{"/spec/workers/w/bindings/queues/0", ruleBinding, diag.Error}}},
	{name: "service kv binding to r2", body: workerDefs + "  services:\n    s: {imageRef: x, port: 1, bindings: {kv: [files]}}\n  resources:\n    files: {type: object_store}\n",
		want: []want{{"/spec/services/s/bindings/kv/0", ruleBinding, diag.Error}}, msg: "is a r2 resource"},
	{name: "durable object binding alias unknown", body: otherDefs + "  workers:\n    w: {" + fw + ", bindings: {durableNamespaces: [rooms]}}\n",
		want: []want{{"/spec/workers/w/bindings/durableNamespaces/0", ruleBinding, diag.Error}}},
	{name: "binding to a resource with a rejected type", body: otherDefs + "    weird: {type: mysql}\n  workers:\n    w: {" + fw + ", bindings: {d1: [weird]}}\n",
		want: []want{{"/spec/workers/w/bindings/d1/0", ruleBinding, diag.Error}}, msg: "unknown-type"},

	// queue triggers, dead-letter queues, workflow services
	{name: "queue trigger known", body: otherDefs + "  workers:\n    w: {" + fw + ", triggers: {queues: [{queue: jobs, export: consume}]}}\n"},
	{name: "queue trigger unknown", body: otherDefs + "  workers:\n    w: {" + fw + ", triggers: {queues: [{queue: jobs, export: a}, {queue: mail, export: b}]}}\n",
		want: []want{{"/spec/workers/w/triggers/queues/1/queue", ruleQueueTrigger, diag.Error}}},
	{name: "queue trigger on a kv", body: otherDefs + "  workers:\n    w: {" + fw + ", triggers: {queues: [{queue: cache, export: a}]}}\n",
		want: []want{{"/spec/workers/w/triggers/queues/0/queue", ruleQueueTrigger, diag.Error}}},
	{name: "dead-letter queue known", body: defs + "    dlq: {type: queue}\n    jobs2: {type: queue, queue: {deadLetterQueue: dlq}}\n"},
	{name: "dead-letter queue unknown", body: defs + "    jobs2: {type: queue, queue: {deadLetterQueue: dlq}}\n",
		want: []want{{"/spec/resources/jobs2/queue/deadLetterQueue", ruleDeadLetterQueue, diag.Error}}},
	{name: "dead-letter queue is a kv", body: defs + "    jobs2: {type: queue, queue: {deadLetterQueue: cache}}\n",
		want: []want{{"/spec/resources/jobs2/queue/deadLetterQueue", ruleDeadLetterQueue, diag.Error}}},
	{name: "workflow service worker and service", body: defs + "    wf1: {type: workflow, workflow: {service: web, export: A}}\n    wf2: {type: workflow_binding, workflowRuntime: {service: api, export: B}}\n"},
	{name: "workflow service is a container", body: defs + "    wf: {type: workflow, workflow: {service: box, export: A}}\n",
		want: []want{{"/spec/resources/wf/workflow/service", ruleWorkflowService, diag.Error}}, msg: `one of "api", "web"`},
	{name: "workflow runtime service unknown", body: defs + "    wf: {type: workflow_runtime, workflowRuntime: {service: ghost, export: A}}\n",
		want: []want{{"/spec/resources/wf/workflowRuntime/service", ruleWorkflowService, diag.Error}}},

	// worker build sources
	{name: "fromWorkflow path spellings Takos normalises", body: otherDefs + "  workers:\n" +
		"    a: {build: {fromWorkflow: {path: ./.takos/workflows/a.yml, job: j, artifact: a, artifactPath: a.js}}}\n" +
		"    b: {build: {fromWorkflow: {path: /.takos/workflows/b.yml, job: j, artifact: a, artifactPath: a.js}}}\n" +
		"    c: {build: {fromWorkflow: {path: '.takos\\workflows\\c.yml', job: j, artifact: a, artifactPath: a.js}}}\n" +
		"    d: {build: {fromWorkflow: {path: .takos//workflows/d.yml, job: j, artifact: a, artifactPath: a.js}}}\n"},
	{name: "fromWorkflow path outside .takos/workflows", body: otherDefs + "  workers:\n    w: {build: {fromWorkflow: {path: .github/workflows/build.yml, job: j, artifact: a, artifactPath: a.js}}}\n",
		want: []want{{"/spec/workers/w/build/fromWorkflow/path", ruleFromWorkflowPath, diag.Error}}, msg: "not under .takos/workflows/"},
	{name: "fromWorkflow path traversal", body: otherDefs + "  workers:\n    w: {build: {fromWorkflow: {path: .takos/workflows/../../x.yml, job: j, artifact: a, artifactPath: a.js}}}\n",
		want: []want{{"/spec/workers/w/build/fromWorkflow/path", ruleFromWorkflowPath, diag.Error}}, msg: "contains .."},
	{name: "fromWorkflow path traversal with backslashes", body: otherDefs + "  workers:\n    w: {build: {fromWorkflow: {path: '.takos\\workflows\\..\\x.yml', job: j, artifact: a, artifactPath: a.js}}}\n",
		want: []want{{"/spec/workers/w/build/fromWorkflow/path", ruleFromWorkflowPath, diag.Error}}},
	{name: "fromWorkflow path dots in a name are fine", body: otherDefs + "  workers:\n    w: {build: {fromWorkflow: {path: .takos/workflows/a..b.yml, job: j, artifact: a, artifactPath: a.js}}}\n"},
	{name: "legacy build command", body: otherDefs + "  workers:\n    w: {build: {command: npm run build, fromWorkflow: {path: .takos/workflows/a.yml, job: j, artifact: a, artifactPath: a.js}}}\n",
		want: []want{{"/spec/workers/w/build/command", ruleLegacyBuild, diag.Error}}},
	{name: "legacy output and cwd without fromWorkflow", body: otherDefs + "  workers:\n    w: {build: {output: dist, cwd: app}}\n",
		want: []want{{"/spec/workers/w/build/output", ruleLegacyBuild, diag.Error}, {"/spec/workers/w/build/cwd", ruleLegacyBuild, diag.Error}}},
	{name: "legacy entry", body: otherDefs + "  workers:\n    w: {entry: src/index.ts, artifact: {kind: bundle, artifactRef: x}}\n",
		want: []want{{"/spec/workers/w/entry", ruleLegacyBuild, diag.Error}}, msg: "use build.fromWorkflow"},
	{name: "worker bundle artifact", body: otherDefs + "  workers:\n    w: {artifact: {kind: bundle, deploymentId: dep_1}}\n"},
	{name: "worker with empty build", body: otherDefs + "  workers:\n    w: {build: {}}\n",
		want: []want{{"/spec/workers/w", ruleWorkerBuildSource, diag.Error}}},
	{name: "worker with an image artifact", body: otherDefs + "  workers:\n    w: {artifact: {kind: image, imageRef: x}}\n",
		want: []want{{"/spec/workers/w", ruleWorkerBuildSource, diag.Error}}, msg: "no build source"},
	{name: "worker with nothing", body: otherDefs + "  workers:\n    w: {env: {A: b}}\n",
		want: []want{{"/spec/workers/w", ruleWorkerBuildSource, diag.Error}}},
	{name: "image sources", body: workerDefs + "  containers:\n    a: {dockerfile: D, port: 1}\n    b: {imageRef: x, port: 1}\n  services:\n    c: {artifact: {kind: image, imageRef: x}, port: 1}\n"},
	{name: "container without an image", body: workerDefs + "  containers:\n    c: {port: 8080}\n",
		want: []want{{"/spec/containers/c", ruleImageSource, diag.Error}}, msg: `container "c"`},
	{name: "service with a bundle artifact", body: workerDefs + "  services:\n    s: {artifact: {kind: bundle}, port: 1}\n",
		want: []want{{"/spec/services/s", ruleImageSource, diag.Error}}, msg: `service "s"`},
	{name: "service with an empty dockerfile", body: workerDefs + "  services:\n    s: {dockerfile: \"\", port: 1}\n",
		want: []want{{"/spec/services/s", ruleImageSource, diag.Error}}},
	{name: "workloads of the wrong type are the schema's", body: "  workers: [a]\n  containers:\n    c: null\n  services:\n    s: text\n  resources: 5\n"},

	// spec.takos.minVersion is the schema's ($defs/semver; its cases are in
	// schema's tests): lint must not report it a second time.
	{name: "minVersion is the schema's", body: defs + "  takos: {minVersion: v1.2.3}\n"},

	// env.inject
	{name: "inject every resolvable field", body: defs + "  routes:\n    - {name: app, target: web}\n  env:\n    inject:\n" +
		"      A: '{{routes.app.url}} {{routes.app.domain}} {{ routes.app.path }}'\n      B: '{{containers.box.port}}'\n      C: '{{services.api.ipv4}}:{{services.api.port}}'\n" +
		"      D: '{{workers.web.url}}'\n      E: '{{resources.db.id}}'\n      F: no templates here\n"},
	{name: "inject unclosed", body: defs + "  env:\n    inject:\n      A: '{{workers.web.url'\n",
		want: []want{{"/spec/env/inject/A", ruleEnvInjectBraces, diag.Error}}, msg: `env.inject "A" has 1 '{{' but 0 '}}'`},
	{name: "inject stray closing", body: defs + "  env:\n    inject:\n      A: '{{workers.web.url}}}}'\n",
		want: []want{{"/spec/env/inject/A", ruleEnvInjectBraces, diag.Error}}},
	{name: "inject one part", body: defs + "  env:\n    inject:\n      A: '{{routes}}'\n      B: '{{ web }}'\n",
		want: []want{{"/spec/env/inject/A", ruleEnvInjectPath, diag.Error}, {"/spec/env/inject/B", ruleEnvInjectPath, diag.Error}}, msg: `env.inject "A" reference "{{routes}}" has no entry name`},
	{name: "inject key and reference are quoted", body: defs + "  env:\n    inject:\n      \"A B\\u202E\": \"{{workers.ghost\\u200B.url}}\"\n",
		want: []want{{"/spec/env/inject/A B\u202e", ruleEnvInjectUnknown, diag.Error}}, msg: `env.inject "A B\u202e" reference "{{workers.ghost\u200b.url}}" names no worker entry "ghost\u200b"`},
	{name: "inject unknown section", body: defs + "  env:\n    inject:\n      A: '{{route.app.url}}'\n      B: '{{secrets.token.value}}'\n",
		want: []want{{"/spec/env/inject/A", ruleEnvInjectSection, diag.Error}, {"/spec/env/inject/B", ruleEnvInjectSection, diag.Error}}, msg: `"route"`},
	{name: "inject unknown entries", body: defs + "  routes:\n    - {name: app, target: web}\n  env:\n    inject:\n      A: '{{routes.web.url}}'\n      B: '{{workers.box.url}}'\n      C: '{{resources.ghost.id}}'\n      D: '{{services.box.port}}'\n      E: '{{containers.api.port}}'\n",
		want: []want{{"/spec/env/inject/A", ruleEnvInjectUnknown, diag.Error}, {"/spec/env/inject/B", ruleEnvInjectUnknown, diag.Error}, {"/spec/env/inject/C", ruleEnvInjectUnknown, diag.Error}, {"/spec/env/inject/D", ruleEnvInjectUnknown, diag.Error}, {"/spec/env/inject/E", ruleEnvInjectUnknown, diag.Error}}},
	{name: "inject unresolvable fields", body: defs + "  routes:\n    - {name: app, target: web}\n  env:\n    inject:\n      A: '{{routes.app.host}}'\n      B: '{{workers.web}}'\n      C: '{{resources.db.id.extra}}'\n      D: '{{containers.box.ipv4}}'\n",
		want: []want{{"/spec/env/inject/A", ruleEnvInjectField, diag.Warning}, {"/spec/env/inject/B", ruleEnvInjectField, diag.Warning}, {"/spec/env/inject/C", ruleEnvInjectField, diag.Warning}, {"/spec/env/inject/D", ruleEnvInjectField, diag.Warning}}, msg: "url, domain, path"},
	{name: "inject of the wrong type is the schema's", body: defs + "  env:\n    inject: [a]\n    required: yes-please\n"},
	{name: "inject non-string value is the schema's", body: defs + "  env:\n    inject:\n      A: 5\n"},

	// YAML 1.1 booleans
	{name: "yaml11 quoted and key positions", body: defs + "  description: \"yes\"\n  env:\n    required: ['on', \"off\"]\n  tags: [yesterday, nope, y2k]\n"},
	{name: "yaml11 plain values", body: defs + "  description: no\n  tags: [on, off]\n",
		want: []want{{"/spec/description", ruleYAML11Boolean, diag.Info}, {"/spec/tags/0", ruleYAML11Boolean, diag.Info}, {"/spec/tags/1", ruleYAML11Boolean, diag.Info}}, msg: "quote it"},
	{name: "yaml11 env values and comments", body: "  workers:\n    w:\n      " + fw + "\n      env:\n        FLAG: Yes # on purpose\n        SHORT: y\n        FINE: 'N'\n",
		want: []want{{"/spec/workers/w/env/FLAG", ruleYAML11Boolean, diag.Info}, {"/spec/workers/w/env/SHORT", ruleYAML11Boolean, diag.Info}}},
	{name: "yaml11 boolean fields are the schema's", body: defs + "  oauth: {clientName: D, redirectUris: [https://d.example.com/cb], scopes: [openid], autoEnv: yes}\n"},

	// autoEnv needs a worker to receive the credentials.
	{name: "autoEnv with a worker", body: defs + "  oauth: {clientName: D, redirectUris: [https://d.example.com/cb], scopes: [openid], autoEnv: true}\n"},
	{name: "autoEnv with containers and services only", body: otherDefs + "  oauth: {clientName: D, redirectUris: [https://d.example.com/cb], scopes: [openid], autoEnv: true}\n",
		want: []want{{"/spec/oauth/autoEnv", ruleAutoEnvNoWorker, diag.Warning}}, msg: "containers and services receive no environment"},
	{name: "autoEnv with empty workers", body: "  workers: {}\n  oauth: {clientName: D, redirectUris: [https://d.example.com/cb], scopes: [openid], autoEnv: true}\n",
		want: []want{{"/spec/oauth/autoEnv", ruleAutoEnvNoWorker, diag.Warning}}},
	{name: "autoEnv false stores only", body: otherDefs + "  oauth: {clientName: D, redirectUris: [https://d.example.com/cb], scopes: [openid], autoEnv: false}\n"},
}

func TestRefs(t *testing.T) {
	t.Parallel()
	for _, tc := range refCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := specApp(tc.body)
			doc := parse(t, src)
			got := Check(doc, Options{Env: prod})
			if diff := cmp.Diff(wantStrings(tc.want), summarize(got)); diff != "" {
				t.Fatalf("Check() mismatch (-want +got):\n%s\nfindings: %v\nsource:\n%s", diff, got, src)
			}
			if tc.msg != "" && !strings.Contains(got[0].Message, tc.msg) {
				t.Errorf("Check()[0].Message = %q, want it to contain %q", got[0].Message, tc.msg)
			}
		})
	}
}

func TestNormalizeRepoPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{".takos/workflows/a.yml", ".takos/workflows/a.yml"},
		{"./.takos/workflows/a.yml", ".takos/workflows/a.yml"},
		{"/.takos/workflows/a.yml", ".takos/workflows/a.yml"},
		{"././/.takos/workflows/a.yml", "./.takos/workflows/a.yml"}, // one "./" only, as Takos
		{"././.takos/workflows/a.yml", "./.takos/workflows/a.yml"},
		{"/./.takos/workflows/a.yml", "./.takos/workflows/a.yml"},
		{`.\./.takos/workflows/a.yml`, "./.takos/workflows/a.yml"},
		{"//.takos/workflows/a.yml", "/.takos/workflows/a.yml"}, // one "/" removed, then "//" collapses: none left
		{"\u00a0.takos/workflows/a.yml\u3000", ".takos/workflows/a.yml"},
		{`.takos\workflows\a.yml`, ".takos/workflows/a.yml"},
		{".takos//workflows///a.yml", ".takos/workflows/a.yml"},
		{" .takos/workflows/a.yml ", ".takos/workflows/a.yml"},
		{"../.takos/workflows/a.yml", "../.takos/workflows/a.yml"},
	} {
		if got := normalizeRepoPath(tc.in); got != tc.want {
			t.Errorf("normalizeRepoPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
