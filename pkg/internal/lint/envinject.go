package lint

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// templateRE is the reference syntax of Takos's app-manifest-template.ts.
var templateRE = regexp.MustCompile(`\{\{([^}]+)\}\}`)

// resolvableFields lists, per section, the fields Takos fills in at deploy
// (TemplateContext); any other field fails there with "Template variable
// not found".
func resolvableFields(section string) []string {
	switch section {
	case "routes":
		return []string{"url", "domain", "path"}
	case "containers":
		return []string{"port"}
	case "services":
		return []string{"ipv4", "port"}
	case "workers":
		return []string{"url"}
	case "resources":
		return []string{"id"}
	}
	return nil
}

// checkEnvInject mirrors validateTemplateReferences and adds the field
// check Takos defers to deploy time.
func (c *checker) checkEnvInject(m *model) {
	inject := asMap(asMap(m.spec["env"])["inject"])
	for _, key := range sortedKeys(inject) {
		tmpl, ok := asString(inject[key])
		if !ok {
			continue
		}
		p := ptr("spec", "env", "inject", key)
		if open, closing := strings.Count(tmpl, "{{"), strings.Count(tmpl, "}}"); open != closing {
			c.add(p, diag.Error, ruleEnvInjectBraces,
				fmt.Sprintf("env.inject.%s has %d '{{' but %d '}}'; write each reference as {{section.name.field}}", key, open, closing))
			continue
		}
		for _, sub := range templateRE.FindAllStringSubmatch(tmpl, -1) {
			c.checkTemplateRef(m, p, key, strings.TrimSpace(sub[1]))
		}
	}
}

func (c *checker) checkTemplateRef(m *model, p, key, path string) {
	parts := strings.Split(path, ".")
	if len(parts) < 2 {
		c.add(p, diag.Error, ruleEnvInjectPath,
			fmt.Sprintf("env.inject.%s reference {{%s}} has no entry name; write it as {{section.name.field}}, for example {{routes.api.url}}", key, path))
		return
	}
	section, name := parts[0], parts[1]
	var exists bool
	switch section {
	case "routes":
		exists = m.routeNames[name]
	case "containers":
		exists = has(name, m.containers)
	case "services":
		exists = has(name, m.services)
	case "workers":
		exists = has(name, m.workers)
	case "resources":
		exists = has(name, m.resources)
	default:
		c.add(p, diag.Error, ruleEnvInjectSection,
			fmt.Sprintf("env.inject.%s reference {{%s}} uses the unknown section %q; use routes, containers, services, workers or resources", key, path, section))
		return
	}
	if !exists {
		c.add(p, diag.Error, ruleEnvInjectUnknown,
			fmt.Sprintf("env.inject.%s reference {{%s}} names no %s entry %q; define it or fix the name", key, path, strings.TrimSuffix(section, "s"), name))
		return
	}
	fields := resolvableFields(section)
	if len(parts) == 3 && contains(fields, parts[2]) {
		return
	}
	c.add(p, diag.Warning, ruleEnvInjectField,
		fmt.Sprintf("env.inject.%s reference {{%s}} does not resolve at deploy; end it with one of the %s fields: %s", key, path, section, strings.Join(fields, ", ")))
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
