package schema_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
	"github.com/takos-dev/takos-apply/schema"
)

// header is a valid manifest up to spec.version; spec() appends a spec body.
const header = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: t
spec:
  version: 1.0.0
`

// spec returns a manifest whose spec is the minimal one plus body, given
// unindented (each line is indented under spec here).
func spec(body string) string {
	var b strings.Builder
	b.WriteString(header)
	for _, line := range strings.Split(strings.Trim(body, "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	return b.String()
}

func parse(t testing.TB, name, src string) any {
	t.Helper()
	doc, diags := manifest.Parse(name, []byte(src), manifest.DefaultLimits())
	if diags.HasErrors() {
		t.Fatalf("manifest.Parse(%s) findings: %v", name, diags)
	}
	return doc.Value
}

type want struct {
	rule          *diag.Rule
	ptr, key, got string
	msg           []string // fragments the message must contain
}

const worker = `workers:
  api:
    build:
      fromWorkflow: {path: .takos/workflows/b.yml, job: j, artifact: a, artifactPath: out.js}
`

func TestValidateViolations(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []want
	}{
		{
			name: "minimal manifest is valid",
			src:  header,
		},
		{
			name: "unknown field with did-you-mean (plural)",
			src:  spec("oauth: {clientName: a, redirectUri: [https://a.example/cb], scopes: [openid]}"),
			want: []want{
				// One mistake, one finding: the missing "redirectUris" is
				// folded into the unknown field that misspells it.
				{schema.RuleUnknownField, "/spec/oauth", "redirectUri", "", []string{`unknown field "redirectUri" in spec.oauth; did you mean "redirectUris", which is required and missing here? (Takos silently drops unknown fields)`}},
			},
		},
		{
			name: "unknown field with case-insensitive hint",
			src:  spec("oauth: {clientname: a, redirectUris: [https://a.example/cb], scopes: [openid]}"),
			want: []want{
				{schema.RuleUnknownField, "/spec/oauth", "clientname", "", []string{`did you mean "clientName", which is required and missing here?`}},
			},
		},
		{
			name: "unknown field singular scope",
			src:  spec("oauth: {clientName: a, redirectUris: [https://a.example/cb], scope: [openid]}"),
			want: []want{
				{schema.RuleUnknownField, "/spec/oauth", "scope", "", []string{`did you mean "scopes", which is required and missing here?`}},
			},
		},
		{
			name: "misspelled optional field stays one plain did-you-mean",
			src:  spec("oauth: {clientName: a, redirectUris: [https://a.example/cb], scopes: [openid], autoenv: true}"),
			want: []want{
				{schema.RuleUnknownField, "/spec/oauth", "autoenv", "", []string{`unknown field "autoenv" in spec.oauth; did you mean "autoEnv"? (Takos`}},
			},
		},
		{
			name: "a missing field and an unrelated unknown one stay two findings",
			src:  spec("oauth: {redirectUris: [https://a.example/cb], scopes: [openid], colour: red}"),
			want: []want{
				{schema.RuleRequired, "/spec/oauth", "clientName", "", []string{`missing required field "clientName" in spec.oauth`}},
				{schema.RuleUnknownField, "/spec/oauth", "colour", "", []string{"remove it or fix its name"}},
			},
		},
		{
			name: "unknown field without hint",
			src:  spec("somethingElse: 1"),
			want: []want{
				{schema.RuleUnknownField, "/spec", "somethingElse", "", []string{`unknown field "somethingElse" in spec; remove it or fix its name (Takos silently drops unknown fields)`}},
			},
		},
		{
			name: "mcp suggests mcpServers",
			src:  spec("mcp: []"),
			want: []want{
				{schema.RuleUnknownField, "/spec", "mcp", "", []string{`did you mean "mcpServers"?`}},
			},
		},
		{
			name: "transposed letters suggest the field",
			src:  spec("descirption: x"),
			want: []want{
				{schema.RuleUnknownField, "/spec", "descirption", "", []string{`did you mean "description"?`}},
			},
		},
		{
			name: "no hint toward a field already present",
			src:  spec("oauth: {clientName: a, redirectUris: [https://a.example/cb], redirectUri: x, scopes: [openid]}"),
			want: []want{
				{schema.RuleUnknownField, "/spec/oauth", "redirectUri", "", []string{"remove it or fix its name"}},
			},
		},
		{
			name: "top-level oauth belongs under spec",
			src:  header + "oauth: {clientName: a}\n",
			want: []want{
				{schema.RuleUnknownField, "", "oauth", "", []string{`unknown field "oauth" at the top level; move it under spec`}},
			},
		},
		{
			name: "missing clientName",
			src:  spec("oauth: {redirectUris: [https://a.example/cb], scopes: [openid]}"),
			want: []want{
				{schema.RuleRequired, "/spec/oauth", "clientName", "", []string{`missing required field "clientName" in spec.oauth`}},
			},
		},
		{
			// Empty or duplicate OAuth lists and an empty clientName are the
			// lint rules' job (scope-empty, redirect-uri-duplicate, ...),
			// which explain Takos's behaviour; the schema stays silent.
			name: "oauth lists left to lint",
			src:  spec(`oauth: {clientName: "", redirectUris: [], scopes: [openid, email, openid]}`),
			want: nil,
		},
		{
			name: "duplicate capability",
			src:  spec("capabilities: [mcp, mcp]"),
			want: []want{
				{schema.RuleUniqueItems, "/spec/capabilities/1", "", "", []string{`spec.capabilities[1] repeats spec.capabilities[0] ("mcp"); remove the duplicate`}},
			},
		},
		{
			name: "autoEnv as string",
			src:  spec(`oauth: {clientName: a, redirectUris: [https://a.example/cb], scopes: [openid], autoEnv: "yes"}`),
			want: []want{
				{schema.RuleType, "/spec/oauth/autoEnv", "", "string", []string{"spec.oauth.autoEnv must be a boolean, got string"}},
			},
		},
		{
			name: "relative logo URI left to lint",
			src:  spec("oauth: {clientName: a, redirectUris: [https://a.example/cb], scopes: [openid], metadata: {logoUri: logo.png}}"),
			want: nil,
		},
		{
			name: "unknown oauth metadata key",
			src:  spec("oauth: {clientName: a, redirectUris: [https://a.example/cb], scopes: [openid], metadata: {logoUrl: https://a.example/l.png}}"),
			want: []want{
				{schema.RuleUnknownField, "/spec/oauth/metadata", "logoUrl", "", []string{`did you mean "logoUri"?`}},
			},
		},
		{
			name: "oauth as list",
			src:  spec("oauth: [a]"),
			want: []want{
				{schema.RuleType, "/spec/oauth", "", "array", []string{"spec.oauth must be an object, got array"}},
			},
		},
		{
			name: "version 1.0 becomes a number",
			src:  strings.Replace(header, "version: 1.0.0", "version: 1.0", 1),
			want: []want{
				{schema.RuleType, "/spec/version", "", "number", []string{"spec.version must be a string, got number"}},
			},
		},
		{
			name: "version with v prefix",
			src:  strings.Replace(header, "version: 1.0.0", "version: v1.0.0", 1),
			want: []want{
				{schema.RulePattern, "/spec/version", "", "", []string{`spec.version must be valid semver (MAJOR.MINOR.PATCH, no "v" prefix`, `got "v1.0.0"`}},
			},
		},
		{
			name: "version with leading zero",
			src:  strings.Replace(header, "version: 1.0.0", "version: 1.02.0", 1),
			want: []want{{schema.RulePattern, "/spec/version", "", "", []string{"valid semver"}}},
		},
		{
			name: "version with leading-zero prerelease",
			src:  strings.Replace(header, "version: 1.0.0", "version: 1.0.0-01", 1),
			want: []want{{schema.RulePattern, "/spec/version", "", "", []string{"valid semver"}}},
		},
		{
			name: "version prerelease and build",
			src:  strings.Replace(header, "version: 1.0.0", "version: 1.0.0-rc.1+b5", 1),
		},
		{
			name: "missing version",
			src:  strings.Replace(header, "  version: 1.0.0\n", "  description: x\n", 1),
			want: []want{{schema.RuleRequired, "/spec", "version", "", []string{`missing required field "version" in spec`}}},
		},
		{
			name: "bad minVersion",
			src:  spec("takos: {minVersion: latest}"),
			want: []want{{schema.RulePattern, "/spec/takos/minVersion", "", "", []string{"spec.takos.minVersion must be valid semver"}}},
		},
		// minVersion is checked by the schema alone (the lint rule
		// takos-min-version that repeated it is gone); these were its cases.
		{
			name: "minVersion prerelease and build",
			src:  spec("takos: {minVersion: 1.2.3-rc.1+build.5}"),
		},
		{
			name: "minVersion with v prefix",
			src:  spec("takos: {minVersion: v1.2.3}"),
			want: []want{{schema.RulePattern, "/spec/takos/minVersion", "", "", []string{"spec.takos.minVersion must be valid semver", `got "v1.2.3"`}}},
		},
		{
			name: "minVersion two parts",
			src:  spec("takos: {minVersion: '1.2'}"),
			want: []want{{schema.RulePattern, "/spec/takos/minVersion", "", "", []string{`got "1.2"`}}},
		},
		{
			name: "minVersion leading zero",
			src:  spec("takos: {minVersion: 1.02.0}"),
			want: []want{{schema.RulePattern, "/spec/takos/minVersion", "", "", []string{`got "1.02.0"`}}},
		},
		{
			name: "kind app",
			src:  strings.Replace(header, "kind: App", "kind: app", 1),
			want: []want{{schema.RuleConst, "/kind", "", "", []string{`kind must be "App", got "app"`}}},
		},
		{
			name: "wrong apiVersion",
			src:  strings.Replace(header, "takos.dev/v1alpha1", "takos.dev/v1", 1),
			want: []want{{schema.RuleConst, "/apiVersion", "", "", []string{`apiVersion must be "takos.dev/v1alpha1", got "takos.dev/v1"`}}},
		},
		{
			name: "missing apiVersion and metadata",
			src:  "kind: App\nspec: {version: 1.0.0}\n",
			want: []want{
				{schema.RuleRequired, "", "apiVersion", "", []string{`missing required field "apiVersion" at the top level`}},
				{schema.RuleRequired, "", "metadata", "", []string{`missing required field "metadata" at the top level`}},
			},
		},
		{
			name: "manifest is a list",
			src:  "- a\n",
			want: []want{{schema.RuleType, "", "", "array", []string{"the manifest must be an object, got array"}}},
		},
		{
			name: "metadata name as number",
			src:  strings.Replace(header, "name: t", "name: 123", 1),
			want: []want{{schema.RuleType, "/metadata/name", "", "number", []string{"metadata.name must be a string, got number"}}},
		},
		{
			name: "long value is cut in the message",
			src:  spec("update: {strategy: " + strings.Repeat("y", 100) + "}"),
			want: []want{{schema.RuleEnum, "/spec/update/strategy", "", "", []string{`got "` + strings.Repeat("y", 60) + `"…`}}},
		},
		{
			name: "unknown key with an invisible character is escaped",
			src:  spec(`"scopes\u200b": [openid]`),
			want: []want{{schema.RuleUnknownField, "/spec", "scopes\u200b", "", []string{`unknown field "scopes\u200b" in spec`}}},
		},
		{
			name: "bad update strategy",
			src:  spec("update: {strategy: yolo}"),
			want: []want{{schema.RuleEnum, "/spec/update/strategy", "", "", []string{`spec.update.strategy must be one of rolling, canary, blue-green, recreate, got "yolo"`}}},
		},
		{
			name: "bad resource type",
			src:  spec("resources: {db: {type: mysql}}"),
			want: []want{{schema.RuleEnum, "/spec/resources/db/type", "", "", []string{"spec.resources.db.type must be one of d1, r2, kv", "durable_object_namespace", `got "mysql"`}}},
		},
		{
			name: "resource without type",
			src:  spec("resources: {db: {binding: DB}}"),
			want: []want{{schema.RuleRequired, "/spec/resources/db", "type", "", nil}},
		},
		{
			name: "workflow resource without its section",
			src:  spec("resources: {flow: {type: workflow_runtime}}"),
			want: []want{{schema.RuleOneOf, "/spec/resources/flow", "", "", []string{"spec.resources.flow needs a workflow section with service and export"}}},
		},
		{
			name: "durable object resource without its section",
			src:  spec("resources: {rooms: {type: durable_object_namespace, binding: ROOMS}}"),
			want: []want{{schema.RuleOneOf, "/spec/resources/rooms", "", "", []string{"spec.resources.rooms needs a durableObject section with className"}}},
		},
		{
			name: "resource type from the validation tests (sql-engine)",
			src:  spec("resources: {bad: {type: sql-engine}}"),
			want: []want{{schema.RuleEnum, "/spec/resources/bad/type", "", "", []string{"spec.resources.bad.type", `got "sql-engine"`}}},
		},
		{
			name: "section of an unknown type is reported once",
			src:  spec("resources: {bad: {type: mysql, vectorize: {metric: cosine}}}"),
			want: []want{{schema.RuleEnum, "/spec/resources/bad/type", "", "", nil}},
		},
		{
			name: "workflow section without export",
			src:  spec("resources: {flow: {type: workflow, workflow: {service: api}}}"),
			want: []want{{schema.RuleRequired, "/spec/resources/flow/workflow", "export", "", nil}},
		},
		{
			name: "section that does not match the resource type",
			src:  spec("resources: {cache: {type: kv, vectorize: {dimensions: 3}}}"),
			want: []want{{schema.RuleUnknownField, "/spec/resources/cache", "vectorize", "", []string{`field "vectorize" in spec.resources.cache has no effect unless type is vectorize`}}},
		},
		{
			name: "vectorize metric",
			src:  spec("resources: {idx: {type: vectorize, vectorize: {metric: manhattan}}}"),
			want: []want{{schema.RuleEnum, "/spec/resources/idx/vectorize/metric", "", "", []string{"cosine, euclidean, dot-product"}}},
		},
		{
			name: "negative queue retries",
			src:  spec("resources: {q: {type: queue, queue: {maxRetries: -1}}}"),
			want: []want{{schema.RuleMinimum, "/spec/resources/q/queue/maxRetries", "", "", []string{"spec.resources.q.queue.maxRetries must be at least 0, got -1"}}},
		},
		{
			name: "fractional queue delay",
			src:  spec("resources: {q: {type: queue, queue: {deliveryDelaySeconds: 1.5}}}"),
			want: []want{{schema.RuleType, "/spec/resources/q/queue/deliveryDelaySeconds", "", "number", []string{"must be an integer, got number"}}},
		},
		{
			name: "migrations mapping without down",
			src:  spec("resources: {db: {type: d1, migrations: {up: m/up}}}"),
			want: []want{{schema.RuleRequired, "/spec/resources/db/migrations", "down", "", nil}},
		},
		{
			name: "migrations as number",
			src:  spec("resources: {db: {type: d1, migrations: 3}}"),
			want: []want{{schema.RuleType, "/spec/resources/db/migrations", "", "number", []string{"must be a string or an object, got number"}}},
		},
		{
			name: "route method TRACE",
			src:  spec(worker + "routes: [{name: r, target: api, methods: [GET, TRACE]}]"),
			want: []want{{schema.RuleEnum, "/spec/routes/0/methods/1", "", "", []string{`spec.routes[0].methods[1] must be one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, got "TRACE"`}}},
		},
		{
			name: "route methods in lower case",
			src:  spec(worker + "routes: [{name: r, target: api, methods: [get, post]}]"),
		},
		{
			name: "route without target",
			src:  spec("routes: [{name: r}]"),
			want: []want{{schema.RuleRequired, "/spec/routes/0", "target", "", []string{`missing required field "target" in spec.routes[0]`}}},
		},
		{
			name: "routes as a map",
			src:  spec("routes: {r: {target: api}}"),
			want: []want{{schema.RuleType, "/spec/routes", "", "object", []string{"spec.routes must be an array, got object"}}},
		},
		{
			name: "mcpServers as a map",
			src:  spec("mcpServers: {tools: {endpoint: https://x.example}}"),
			want: []want{{schema.RuleType, "/spec/mcpServers", "", "object", []string{"spec.mcpServers must be an array, got object"}}},
		},
		{
			name: "mcp server with endpoint and route",
			src:  spec("mcpServers: [{name: m, endpoint: https://x.example, route: r}]"),
			want: []want{{schema.RuleOneOf, "/spec/mcpServers/0", "", "", []string{"spec.mcpServers[0] must set exactly one of endpoint or route"}}},
		},
		{
			name: "mcp server with neither endpoint nor route",
			src:  spec("mcpServers: [{name: m, transport: sse}]"),
			want: []want{{schema.RuleOneOf, "/spec/mcpServers/0", "", "", []string{"must set exactly one of endpoint or route"}}},
		},
		{
			name: "tags as a scalar",
			src:  spec("tags: x"),
			want: []want{{schema.RuleType, "/spec/tags", "", "string", []string{"spec.tags must be an array, got string"}}},
		},
		{
			name: "empty tag",
			src:  spec(`tags: [a, ""]`),
			want: []want{{schema.RuleMinLength, "/spec/tags/1", "", "", []string{"spec.tags[1] must not be empty"}}},
		},
		{
			name: "env.required as a string",
			src:  spec("env: {required: API_KEY}"),
			want: []want{{schema.RuleType, "/spec/env/required", "", "string", nil}},
		},
		{
			name: "env value as number",
			src:  spec("env: {inject: {PORT: 8080}}"),
			want: []want{{schema.RuleType, "/spec/env/inject/PORT", "", "number", []string{"spec.env.inject.PORT must be a string, got number"}}},
		},
		{
			name: "nested unknown key in a worker binding",
			src:  spec(worker + "    bindings: {d1: [db], kvs: [cache]}"),
			want: []want{{schema.RuleUnknownField, "/spec/workers/api/bindings", "kvs", "", []string{`unknown field "kvs" in spec.workers.api.bindings; did you mean "kv"?`}}},
		},
		{
			name: "service binding with unknown key",
			src:  spec(worker + "    bindings: {services: [{name: a, versoin: ^1}]}"),
			want: []want{{schema.RuleUnknownField, "/spec/workers/api/bindings/services/0", "versoin", "", []string{`did you mean "version"?`}}},
		},
		{
			name: "service binding as number",
			src:  spec(worker + "    bindings: {services: [1]}"),
			want: []want{{schema.RuleType, "/spec/workers/api/bindings/services/0", "", "number", []string{"must be a string or an object, got number"}}},
		},
		{
			name: "worker without build source",
			src:  spec("workers: {api: {env: {A: b}}}"),
			want: []want{{schema.RuleOneOf, "/spec/workers/api", "", "", []string{"spec.workers.api must define build.fromWorkflow or artifact (kind: bundle)"}}},
		},
		{
			name: "worker with legacy entry",
			src:  spec(worker + "    entry: src/index.ts"),
			want: []want{{schema.RuleUnknownField, "/spec/workers/api", "entry", "", []string{`unsupported field "entry" in spec.workers.api: local build fields are not supported; use build.fromWorkflow`}}},
		},
		{
			// The from-workflow-path lint rule owns this: it normalises the
			// path as Takos does before checking it.
			name: "workflow path left to lint",
			src:  spec("workers: {api: {build: {fromWorkflow: {path: .github/workflows/deploy.yml, job: j, artifact: a, artifactPath: o}}}}"),
			want: nil,
		},
		{
			name: "bundle artifact without ids",
			src:  spec("workers: {api: {artifact: {kind: bundle}}}"),
			want: []want{{schema.RuleOneOf, "/spec/workers/api/artifact", "", "", []string{"needs deploymentId or artifactRef"}}},
		},
		{
			name: "healthCheck grpc",
			src:  spec(worker + "    healthCheck: {type: grpc}"),
			want: []want{{schema.RuleEnum, "/spec/workers/api/healthCheck/type", "", "", []string{"http, tcp, exec"}}},
		},
		{
			name: "worker maxInstances is dropped by Takos",
			src:  spec(worker + "    scaling: {maxInstances: 3}"),
			want: []want{{schema.RuleUnknownField, "/spec/workers/api/scaling", "maxInstances", "", nil}},
		},
		{
			name: "container port zero",
			src:  spec("containers: {c: {dockerfile: Dockerfile, port: 0}}"),
			want: []want{{schema.RuleMinimum, "/spec/containers/c/port", "", "", []string{"spec.containers.c.port must be a positive number, got 0"}}},
		},
		{
			name: "container port non-numeric string",
			src:  spec("containers: {c: {dockerfile: Dockerfile, port: http}}"),
			want: []want{{schema.RulePattern, "/spec/containers/c/port", "", "", []string{`spec.containers.c.port must be a positive number written in decimal`, `got "http"`}}},
		},
		{
			name: "container port numeric string and fraction",
			src:  spec("containers: {c: {dockerfile: Dockerfile, port: \"8080\"}, d: {imageRef: x, port: 99999.5}}"),
		},
		{
			name: "container without port",
			src:  spec("containers: {c: {dockerfile: Dockerfile}}"),
			want: []want{{schema.RuleRequired, "/spec/containers/c", "port", "", nil}},
		},
		{
			name: "container without image source",
			src:  spec("containers: {c: {port: 80}}"),
			want: []want{{schema.RuleOneOf, "/spec/containers/c", "", "", []string{"spec.containers.c must define dockerfile, imageRef or artifact (kind: image)"}}},
		},
		{
			name: "service provider dropped by Takos",
			src:  spec("services: {s: {imageRef: x, port: 80, provider: fly}}"),
			want: []want{{schema.RuleEnum, "/spec/services/s/provider", "", "", []string{"oci, ecs, cloud-run, k8s"}}},
		},
		{
			name: "service queue triggers do not exist",
			src:  spec("services: {s: {imageRef: x, port: 80, triggers: {queues: []}}}"),
			want: []want{{schema.RuleUnknownField, "/spec/services/s/triggers", "queues", "", nil}},
		},
		{
			name: "volume without size",
			src:  spec("containers: {c: {dockerfile: D, port: 80, volumes: [{name: v, mountPath: /v}]}}"),
			want: []want{{schema.RuleRequired, "/spec/containers/c/volumes/0", "size", "", nil}},
		},
		{
			name: "fileHandler without openPath",
			src:  spec("fileHandlers: [{name: f}]"),
			want: []want{{schema.RuleRequired, "/spec/fileHandlers/0", "openPath", "", nil}},
		},
		{
			name: "lifecycle hook without command",
			src:  spec("lifecycle: {preApply: {timeoutSeconds: 5}}"),
			want: []want{{schema.RuleRequired, "/spec/lifecycle/preApply", "command", "", nil}},
		},
		{
			name: "override with unknown section",
			src:  spec("overrides: {prod: {routes: []}}"),
			want: []want{{schema.RuleUnknownField, "/spec/overrides/prod", "routes", "", nil}},
		},
		{
			name: "resource name with a dot is quoted",
			src:  spec(`resources: {"a.b": {type: nope}}`),
			want: []want{{schema.RuleEnum, "/spec/resources/a.b/type", "", "", []string{`spec.resources["a.b"].type must be one of`}}},
		},
		{
			name: "pointer tokens are escaped",
			src:  spec(`resources: {"a/b~c": {type: nope}}`),
			want: []want{{schema.RuleEnum, "/spec/resources/a~1b~0c/type", "", "", nil}},
		},
		{
			name: "null where a string belongs",
			src:  spec("description:"),
			want: []want{{schema.RuleType, "/spec/description", "", "null", []string{"spec.description must be a string, got null"}}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := schema.Validate(parse(t, tc.name, tc.src))
			if err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Validate() = %d violations, want %d:\n%s", len(got), len(tc.want), dump(got))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Rule != w.rule || g.Pointer != w.ptr || g.Key != w.key || g.Got != w.got {
					t.Errorf("violation %d = {%s %q key=%q got=%q}, want {%s %q key=%q got=%q}\n%s",
						i, g.Rule, g.Pointer, g.Key, g.Got, w.rule, w.ptr, w.key, w.got, dump(got))
				}
				for _, frag := range w.msg {
					if !strings.Contains(g.Message, frag) {
						t.Errorf("violation %d message = %q, want it to contain %q", i, g.Message, frag)
					}
				}
				checkMessage(t, g)
			}
		})
	}
}

// checkMessage enforces the message conventions every violation shares.
func checkMessage(t *testing.T, v schema.Violation) {
	t.Helper()
	switch {
	case v.Message == "":
		t.Errorf("violation %+v has an empty message", v)
	case strings.Contains(v.Message, "file://"), strings.Contains(v.Message, "schemas.takos.dev"):
		t.Errorf("message %q leaks a schema URL", v.Message)
	case strings.ToLower(v.Message[:1]) != v.Message[:1]:
		t.Errorf("message %q does not start in lower case", v.Message)
	case strings.HasSuffix(v.Message, "."):
		t.Errorf("message %q ends with a period", v.Message)
	case strings.Contains(v.Message, "\n"):
		t.Errorf("message %q spans lines", v.Message)
	}
}

func dump(vs []schema.Violation) string {
	var b strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&b, "  %s %q key=%q got=%q: %s\n", v.Rule, v.Pointer, v.Key, v.Got, v.Message)
	}
	return b.String()
}

// TestValidateJSONNumber feeds values built by hand rather than by the YAML
// loader, as any JSON-shaped producer would.
func TestValidateJSONNumber(t *testing.T) {
	doc := map[string]any{
		"apiVersion": "takos.dev/v1alpha1",
		"kind":       "App",
		"metadata":   map[string]any{"name": "n"},
		"spec": map[string]any{
			"version":    json.Number("1.0"),
			"containers": map[string]any{"c": map[string]any{"dockerfile": "D", "port": json.Number("8080")}},
		},
	}
	got, err := schema.Validate(doc)
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	if len(got) != 1 || got[0].Rule != schema.RuleType || got[0].Pointer != "/spec/version" || got[0].Got != "number" {
		t.Fatalf("Validate(version: json.Number(1.0)) = \n%s want one schema-type at /spec/version with Got number", dump(got))
	}
}

func TestValidateEveryRuleIsKnown(t *testing.T) {
	known := map[*diag.Rule]bool{
		schema.RuleType: true, schema.RuleRequired: true, schema.RuleUnknownField: true, schema.RuleEnum: true,
		schema.RuleConst: true, schema.RulePattern: true, schema.RuleMinLength: true, schema.RuleMinimum: true,
		schema.RuleFormat: true, schema.RuleMinItems: true, schema.RuleUniqueItems: true, schema.RuleOneOf: true,
		schema.RuleInvalid: true,
	}
	src, err := os.ReadFile(filepath.Join("testdata", "invalid", "everything-wrong.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := schema.Validate(parse(t, "everything-wrong.yaml", string(src)))
	if err != nil {
		t.Fatalf("Validate() error = %v", err)
	}
	if len(got) < 30 {
		t.Fatalf("Validate(everything-wrong.yaml) = %d violations, want at least 30:\n%s", len(got), dump(got))
	}
	seen := map[*diag.Rule]bool{}
	for i, v := range got {
		if !known[v.Rule] {
			t.Errorf("violation %+v has unknown rule", v)
		}
		seen[v.Rule] = true
		checkMessage(t, v)
		if (v.Rule == schema.RuleRequired || v.Rule == schema.RuleUnknownField) != (v.Key != "") {
			t.Errorf("violation %+v: Key must be set exactly for required and unknown-field", v)
		}
		if (v.Rule == schema.RuleType) != (v.Got != "") {
			t.Errorf("violation %+v: Got must be set exactly for type errors", v)
		}
		if i > 0 {
			p := got[i-1]
			if p.Pointer > v.Pointer || p.Pointer == v.Pointer && p.Rule.ID > v.Rule.ID ||
				p.Pointer == v.Pointer && p.Rule == v.Rule && p.Message > v.Message {
				t.Errorf("violations %d and %d are out of order:\n%s", i-1, i, dump(got[i-1:i+1]))
			}
			if p == v {
				t.Errorf("violation %+v is duplicated", v)
			}
		}
	}
	for r := range known {
		if r != schema.RuleInvalid && r != schema.RuleMinItems && r != schema.RuleFormat && !seen[r] { // no oauth list has minItems: lint reports empty lists
			t.Errorf("everything-wrong.yaml produced no %s violation", r)
		}
	}
	// The same input must give the same output, whatever map order the
	// validator walked.
	for range 5 {
		again, _ := schema.Validate(parse(t, "everything-wrong.yaml", string(src)))
		if dump(again) != dump(got) {
			t.Fatalf("Validate() is not deterministic:\n%s\nvs\n%s", dump(got), dump(again))
		}
	}
}

func TestValidManifests(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "valid", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d valid fixtures, want at least 10", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := schema.Validate(parse(t, f, string(src)))
			if err != nil {
				t.Fatalf("Validate() error = %v", err)
			}
			if len(got) != 0 {
				t.Errorf("Validate(%s) = \n%s want no violations", f, dump(got))
			}
		})
	}
}

func TestValidateUnsupportedValue(t *testing.T) {
	// A Go value that is not JSON-shaped is reported, not panicked on.
	doc := map[string]any{"apiVersion": "takos.dev/v1alpha1", "kind": "App",
		"metadata": map[string]any{"name": struct{}{}}, "spec": map[string]any{"version": "1.0.0"}}
	got, err := schema.Validate(doc)
	if err != nil {
		t.Fatalf("Validate(struct{} value) error = %v, want a violation", err)
	}
	if len(got) != 1 || got[0].Rule != schema.RuleInvalid || got[0].Pointer != "/metadata/name" {
		t.Fatalf("Validate(struct{} value) = \n%s want one schema-invalid at /metadata/name", dump(got))
	}
	checkMessage(t, got[0])
}

func TestEmbeddedID(t *testing.T) {
	var doc struct {
		ID     string `json:"$id"`
		Schema string `json:"$schema"`
	}
	if err := json.Unmarshal(schema.JSON(), &doc); err != nil {
		t.Fatalf("embedded schema is not JSON: %v", err)
	}
	if doc.ID != schema.ID {
		t.Errorf("embedded $id = %q, want %q", doc.ID, schema.ID)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("embedded $schema = %q, want draft 2020-12", doc.Schema)
	}
}

func TestJSONReturnsCopy(t *testing.T) {
	a := schema.JSON()
	orig := bytes.Clone(a)
	for i := range a {
		a[i] = 'x'
	}
	if b := schema.JSON(); !bytes.Equal(b, orig) {
		t.Fatal("JSON() returned the embedded slice: modifying the result changed the next call's result")
	}
	// Validation still works after the caller scribbled over its copy.
	if _, err := schema.Validate(parse(t, "min", header)); err != nil {
		t.Fatalf("Validate() after modifying JSON() = %v", err)
	}
}

func TestValidateConcurrent(t *testing.T) {
	src := spec("update: {strategy: yolo}")
	v := parse(t, "c", src)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				got, err := schema.Validate(v)
				if err != nil || len(got) != 1 || got[0].Rule != schema.RuleEnum {
					errs <- fmt.Sprintf("Validate() = %v, %v", got, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// BenchmarkValidate measures one validation of an already parsed manifest:
// a typical app.yml (the OAuth docs example), a large one using every
// section, a broken one (the error path builds messages), and the typical
// one validated from all cores at once through the shared compiled schema.
func BenchmarkValidate(b *testing.B) {
	load := func(name string) any {
		src, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			b.Fatal(err)
		}
		v := parse(b, name, string(src))
		if _, err := schema.Validate(v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	cases := []struct{ name, file string }{
		{"valid-typical", "valid/docs-oauth--complete-example.yaml"},
		{"valid-large", "valid/test-cli--extended-surface.yaml"},
		{"invalid", "invalid/everything-wrong.yaml"},
	}
	for _, c := range cases {
		v := load(c.file)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := schema.Validate(v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	typical := load(cases[0].file)
	b.Run("valid-typical-parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := schema.Validate(typical); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
