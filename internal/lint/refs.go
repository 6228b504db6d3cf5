package lint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// canonicalType maps a resource type string Takos accepts to its canonical
// type (toPublicResourceType in Takos's resources/capabilities.ts), or ""
// for a type Takos rejects.
func canonicalType(t string) string {
	switch t {
	case "d1", "sql":
		return "d1"
	case "r2", "object_store":
		return "r2"
	case "kv":
		return "kv"
	case "queue":
		return "queue"
	case "vectorize", "vector_index":
		return "vectorize"
	case "analyticsEngine", "analytics_store", "analytics_engine":
		return "analyticsEngine"
	case "secretRef", "secret", "secret_ref":
		return "secretRef"
	case "workflow", "workflow_runtime", "workflow_binding":
		return "workflow"
	case "durableObject", "durable_namespace", "durable_object", "durable_object_namespace":
		return "durableObject"
	}
	return ""
}

// bindingKinds lists the typed binding keys (with Takos's aliases) and the
// canonical resource type each must reference. "resources" and "services"
// are not type-checked by Takos and are left out. Read-only.
var bindingKinds = [...]struct{ key, typ string }{
	{"d1", "d1"}, {"sql", "d1"},
	{"r2", "r2"}, {"objectStores", "r2"},
	{"kv", "kv"},
	{"queues", "queue"},
	{"vectorize", "vectorize"}, {"vectorIndexes", "vectorize"},
	{"analyticsEngine", "analyticsEngine"}, {"analyticsStores", "analyticsEngine"}, {"analytics", "analyticsEngine"},
	{"workflow", "workflow"}, {"workflowRuntimes", "workflow"}, {"workflows", "workflow"},
	{"durableObjects", "durableObject"}, {"durableNamespaces", "durableObject"},
}

// model is the set of names the cross-reference rules resolve against.
type model struct {
	spec       map[string]any
	workers    map[string]any
	containers map[string]any
	services   map[string]any
	resources  map[string]any
	resType    map[string]string // resource name → canonical type ("" if unknown)
	routes     []map[string]any  // nil entries for non-mapping elements
	routeNames map[string]bool
}

func (c *checker) model() *model {
	spec := asMap(asMap(c.doc.Value)["spec"])
	m := &model{
		spec:       spec,
		workers:    asMap(spec["workers"]),
		containers: asMap(spec["containers"]),
		services:   asMap(spec["services"]),
		resources:  asMap(spec["resources"]),
		resType:    map[string]string{},
		routeNames: map[string]bool{},
	}
	for name, r := range m.resources {
		t, _ := asString(asMap(r)["type"])
		m.resType[name] = canonicalType(manifest.TrimJS(t))
	}
	for _, e := range asSlice(spec["routes"]) {
		r := asMap(e)
		m.routes = append(m.routes, r)
		if n, ok := asString(r["name"]); ok {
			m.routeNames[manifest.TrimJS(n)] = true
		}
	}
	return m
}

// names renders the keys of maps as the advice of a message: "use one of
// ..." (sorted, at most five), or, when the manifest defines none, to
// declare one.
func names(maps ...map[string]any) string {
	var all []string
	for _, m := range maps {
		for k := range m {
			all = append(all, k)
		}
	}
	return nameList(all)
}

// nameList renders names as advice: "use one of ..." sorted (the message
// must not depend on map order), deduplicated, quoted, at most five; or
// "none is defined, so declare it first".
func nameList(all []string) string {
	slices.Sort(all)
	all = slices.Compact(all)
	if len(all) == 0 {
		return "none is defined, so declare it first"
	}
	more := ""
	if len(all) > 5 {
		all, more = all[:5], ", ..."
	}
	var b strings.Builder
	b.WriteString("use one of ")
	for i, n := range all {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(n))
	}
	return b.String() + more
}

// protoNames are the properties every JavaScript object inherits from
// Object.prototype. Takos's parser looks names up in plain objects
// (workloads[name]), so these resolve by accident.
var protoNames = [...]string{
	"constructor", "__proto__", "hasOwnProperty", "isPrototypeOf", "propertyIsEnumerable",
	"toLocaleString", "toString", "valueOf", "__defineGetter__", "__defineSetter__",
	"__lookupGetter__", "__lookupSetter__",
}

func isProtoName(s string) bool { return slices.Contains(protoNames[:], s) }

// protoHint explains, for a prototype name, why Takos's parser lets the
// reference pass although it names nothing: the lookup finds a built-in
// JavaScript property, not an entry of the manifest.
func protoHint(name string) string {
	if !isProtoName(name) {
		return ""
	}
	return fmt.Sprintf(" (Takos's parser lets %s pass only because it is a built-in property of every JavaScript object; it refers to nothing the app defines)", quote(name))
}

func has(name string, maps ...map[string]any) bool {
	for _, m := range maps {
		if _, ok := m[name]; ok {
			return true
		}
	}
	return false
}

// ref returns the trimmed string at key, as Takos's asRequiredString reads
// it, and false for a missing, empty or non-string value.
func ref(m map[string]any, key string) (string, bool) {
	s, ok := asString(m[key])
	s = manifest.TrimJS(s)
	return s, ok && s != ""
}

// checkRefs runs the cross-reference and build-source rules of the Takos
// parser (§2.6 to §2.12 of the control-plane reference).
func (c *checker) checkRefs(m *model) {
	if m.spec == nil {
		return
	}
	c.checkRoutes(m)
	c.checkMCPServers(m)
	// Maps are walked in Go's order: Check sorts the findings.
	for name, w := range m.workers {
		c.checkWorker(m, name, asMap(w))
	}
	for name, w := range m.containers {
		c.checkImageWorkload(m, "containers", name, asMap(w))
	}
	for name, w := range m.services {
		if t, _ := asString(asMap(w)["type"]); manifest.TrimJS(t) == "worker" {
			continue // a worker of another Takos contract: manifest reports it
		}
		c.checkImageWorkload(m, "services", name, asMap(w))
	}
	c.checkResources(m)
}

func (c *checker) checkRoutes(m *model) {
	for i, r := range m.routes {
		if r == nil {
			continue
		}
		if t, ok := ref(r, "target"); ok && !has(t, m.workers, m.containers, m.services) {
			c.report(ruleRouteTarget, ptr("spec", "routes", idx(i), "target"), func() string {
				return fmt.Sprintf("route target %s names no worker, container or service; %s%s", quote(t), names(m.workers, m.containers, m.services), protoHint(t))
			})
		}
		if t, ok := ref(r, "ingress"); ok && !has(t, m.workers) {
			c.report(ruleRouteIngress, ptr("spec", "routes", idx(i), "ingress"), func() string {
				return fmt.Sprintf("route ingress %s names no worker; %s%s", quote(t), names(m.workers), protoHint(t))
			})
		}
	}
}

func (c *checker) checkMCPServers(m *model) {
	for i, e := range asSlice(m.spec["mcpServers"]) {
		s := asMap(e)
		if s == nil {
			continue
		}
		p := ptr("spec", "mcpServers", idx(i))
		_, hasEndpoint := ref(s, "endpoint")
		route, hasRoute := ref(s, "route")
		switch {
		case hasEndpoint && hasRoute:
			c.report(ruleMCPEndpointRoute, p, func() string {
				return "mcp server sets both endpoint and route; keep exactly one of them"
			})
		case !hasEndpoint && !hasRoute:
			c.report(ruleMCPEndpointRoute, p, func() string {
				return "mcp server sets neither endpoint nor route; add route (the name of a spec.routes entry) or endpoint (a URL)"
			})
		}
		if hasRoute && !m.routeNames[route] {
			c.report(ruleMCPRoute, p+"/route", func() string {
				return c.mcpRouteMessage(m, route)
			})
		}
		if sec, ok := ref(s, "authSecretRef"); ok && m.resType[sec] != "secretRef" {
			c.report(ruleMCPAuthSecret, p+"/authSecretRef", func() string {
				if t, exists := m.resType[sec]; exists {
					return fmt.Sprintf("authSecretRef %s is a %s resource, not a secretRef; point it at a resource with type: secretRef", quote(sec), typeName(t))
				}
				return fmt.Sprintf("authSecretRef %s names no secretRef resource; declare it under spec.resources with type: secretRef", quote(sec))
			})
		}
	}
}

func (c *checker) mcpRouteMessage(m *model, route string) string {
	var known []string
	for n := range m.routeNames {
		known = append(known, n)
	}
	if strings.HasPrefix(route, "/") {
		for _, r := range m.routes {
			p, _ := ref(r, "path")
			n, hasName := ref(r, "name")
			if hasName && p == route {
				return fmt.Sprintf("mcp server route %s is a path, but route takes a route name; use %s, the route with that path", quote(route), quote(n))
			}
		}
		return fmt.Sprintf("mcp server route %s is a path, but route takes the name of a spec.routes entry; %s", quote(route), nameList(known))
	}
	return fmt.Sprintf("mcp server route %s names no entry of spec.routes; %s", quote(route), nameList(known))
}

func typeName(t string) string {
	if t == "" {
		return "unknown-type"
	}
	return t
}

func (c *checker) checkWorker(m *model, name string, w map[string]any) {
	if w == nil {
		return
	}
	base := []string{"spec", "workers", name}
	at := func(tokens ...string) string { return ptr(append(slices.Clone(base), tokens...)...) }
	build := asMap(w["build"])
	legacy := false
	for _, k := range []string{"command", "output", "cwd"} {
		if _, ok := build[k]; ok {
			legacy = true
			c.reportKey(ruleLegacyBuild, at("build", k), func() string {
				return fmt.Sprintf("build.%s is a local build field Takos no longer supports; build in a workflow and use build.fromWorkflow", k)
			})
		}
	}
	if _, ok := w["entry"]; ok {
		legacy = true
		c.reportKey(ruleLegacyBuild, at("entry"), func() string {
			return "entry is a local build field Takos no longer supports; build in a workflow and use build.fromWorkflow"
		})
	}
	fw := asMap(build["fromWorkflow"])
	kind, _ := asString(asMap(w["artifact"])["kind"])
	if fw == nil && manifest.TrimJS(kind) != "bundle" && !legacy {
		c.reportKey(ruleWorkerBuildSource, ptr(base...), func() string {
			return fmt.Sprintf("worker %s has no build source; add build.fromWorkflow {path, job, artifact, artifactPath} or artifact.kind: bundle", quote(name))
		})
	}
	if p, ok := asString(fw["path"]); ok && manifest.TrimJS(p) != "" {
		norm := normalizeRepoPath(p)
		switch {
		case slices.Contains(strings.Split(norm, "/"), ".."):
			c.report(ruleFromWorkflowPath, at("build", "fromWorkflow", "path"), func() string {
				return fmt.Sprintf("workflow path %s contains .., which takos apply refuses; point it straight at a file under .takos/workflows/", quote(p))
			})
		case !strings.HasPrefix(norm, ".takos/workflows/"):
			c.report(ruleFromWorkflowPath, at("build", "fromWorkflow", "path"), func() string {
				return fmt.Sprintf("workflow path %s is not under .takos/workflows/; move the workflow there and use a path such as .takos/workflows/build.yml", quote(p))
			})
		}
	}
	for i, e := range asSlice(w["containers"]) {
		if s, ok := asString(e); ok && manifest.TrimJS(s) != "" && !has(manifest.TrimJS(s), m.containers) {
			c.report(ruleWorkerContainer, at("containers", idx(i)), func() string {
				return fmt.Sprintf("worker container %s names no entry of spec.containers; %s%s", quote(s), names(m.containers), protoHint(s))
			})
		}
	}
	c.checkDependsOn(m, base, w)
	c.checkBindings(m, base, asMap(w["bindings"]))
	for i, e := range asSlice(asMap(w["triggers"])["queues"]) {
		if q, ok := ref(asMap(e), "queue"); ok && m.resType[q] != "queue" {
			c.report(ruleQueueTrigger, at("triggers", "queues", idx(i), "queue"), func() string {
				return fmt.Sprintf("queue trigger %s names no queue resource; declare it under spec.resources with type: queue", quote(q))
			})
		}
	}
}

// normalizeRepoPath mirrors Takos's normalizeRepoPath exactly, in its
// order: backslashes become slashes, one leading "./" or "/" is removed
// (once: "././x" keeps "./x"), then "//" collapses.
func normalizeRepoPath(p string) string {
	p = strings.ReplaceAll(manifest.TrimJS(p), `\`, "/")
	if strings.HasPrefix(p, "./") {
		p = p[2:]
	} else if strings.HasPrefix(p, "/") {
		p = p[1:]
	}
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	return p
}

func (c *checker) checkImageWorkload(m *model, kind, name string, w map[string]any) {
	if w == nil {
		return
	}
	base := []string{"spec", kind, name}
	_, hasDockerfile := ref(w, "dockerfile")
	_, hasImage := ref(w, "imageRef")
	ak, _ := asString(asMap(w["artifact"])["kind"])
	if !hasDockerfile && !hasImage && manifest.TrimJS(ak) != "image" {
		what := "container"
		if kind == "services" {
			what = "service"
		}
		c.reportKey(ruleImageSource, ptr(base...), func() string {
			return fmt.Sprintf("%s %s has no image source; add dockerfile, imageRef (digest-pinned, @sha256:...) or artifact {kind: image, imageRef}", what, quote(name))
		})
	}
	c.checkDependsOn(m, base, w)
	if kind == "services" {
		c.checkBindings(m, base, asMap(w["bindings"]))
	}
}

func (c *checker) checkDependsOn(m *model, base []string, w map[string]any) {
	for i, e := range asSlice(w["dependsOn"]) {
		s, ok := asString(e)
		s = manifest.TrimJS(s)
		if !ok || s == "" || has(s, m.containers, m.services, m.workers) {
			continue
		}
		c.report(ruleDependsOn, ptr(append(slices.Clone(base), "dependsOn", idx(i))...), func() string {
			return fmt.Sprintf("dependsOn %s names no container, service or worker; %s%s", quote(s), names(m.containers, m.services, m.workers), protoHint(s))
		})
	}
}

func (c *checker) checkBindings(m *model, base []string, b map[string]any) {
	for _, k := range bindingKinds[:] {
		for i, e := range asSlice(b[k.key]) {
			s, ok := asString(e)
			s = manifest.TrimJS(s)
			if !ok || s == "" || m.resType[s] == k.typ {
				continue
			}
			c.report(ruleBinding, ptr(append(slices.Clone(base), "bindings", k.key, idx(i))...), func() string {
				if t, exists := m.resType[s]; exists {
					return fmt.Sprintf("bindings.%s entry %s is a %s resource, not %s; move it to the matching binding list or change the resource type", k.key, quote(s), typeName(t), k.typ)
				}
				return fmt.Sprintf("bindings.%s entry %s names no %s resource; declare it under spec.resources with type: %s", k.key, quote(s), k.typ, k.typ)
			})
		}
	}
}

func (c *checker) checkResources(m *model) {
	for name, rv := range m.resources {
		r := asMap(rv)
		switch m.resType[name] {
		case "queue":
			if q, ok := ref(asMap(r["queue"]), "deadLetterQueue"); ok && m.resType[q] != "queue" {
				c.report(ruleDeadLetterQueue, ptr("spec", "resources", name, "queue", "deadLetterQueue"), func() string {
					return fmt.Sprintf("deadLetterQueue %s names no queue resource; declare it under spec.resources with type: queue", quote(q))
				})
			}
		case "workflow":
			for _, section := range []string{"workflow", "workflowRuntime"} {
				sec := asMap(r[section])
				if sec == nil {
					continue
				}
				if s, ok := ref(sec, "service"); ok && !has(s, m.workers, m.services) {
					c.report(ruleWorkflowService, ptr("spec", "resources", name, section, "service"), func() string {
						return fmt.Sprintf("workflow service %s names no worker or service; %s%s", quote(s), names(m.workers, m.services), protoHint(s))
					})
				}
				break // Takos reads the first section present
			}
		}
	}
}
