package lint

import (
	"fmt"
	"iter"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// templateRefs yields the paths of the references in s: the submatches of
// `\{\{([^}]+)\}\}`, the reference syntax of Takos's
// app-manifest-template.ts, as regexp's FindAllStringSubmatch finds them.
// Scanned by hand, in one pass: a value may hold 100,000 references, and
// the regexp engine took 70 ms to find them.
func templateRefs(s string) iter.Seq[string] {
	return func(yield func(string) bool) {
		end := -1 // the first '}' at or after the current reference's body, once known
		for i := 0; ; {
			o := strings.Index(s[i:], "{{")
			if o < 0 {
				return
			}
			i += o
			body := i + 2
			if end < body {
				c := strings.IndexByte(s[body:], '}')
				if c < 0 {
					return // no '}' ends this reference or any later one
				}
				end = body + c
			}
			if end > body && end+1 < len(s) && s[end+1] == '}' {
				if !yield(s[body:end]) {
					return
				}
				i = end + 2
				continue
			}
			i++
		}
	}
}

// resolvableFields lists, per section, the fields Takos fills in at deploy
// (TemplateContext); any other field fails there with "Template variable
// not found". The sections are exactly the ones checkTemplateRef accepts.
// Read-only; the order of each list is the order messages show.
var resolvableFields = map[string][]string{
	"routes":     {"url", "domain", "path"},
	"containers": {"port"},
	"services":   {"ipv4", "port"},
	"workers":    {"url"},
	"resources":  {"id"},
}

// checkEnvInject mirrors validateTemplateReferences and adds the field
// check Takos defers to deploy time.
func (c *checker) checkEnvInject(m *model) {
	inject := asMap(asMap(m.spec["env"])["inject"])
	// Go's map order: Check sorts the findings.
	for key, v := range inject {
		tmpl, ok := asString(v)
		if !ok {
			continue
		}
		p := ptr("spec", "env", "inject", key)
		if open, closing := strings.Count(tmpl, "{{"), strings.Count(tmpl, "}}"); open != closing {
			c.report(ruleEnvInjectBraces, p, func() string {
				return fmt.Sprintf("env.inject %s has %d '{{' but %d '}}'; write each reference as {{section.name.field}}", quote(key), open, closing)
			})
			continue
		}
		// The findings of one value share its position, so the Collector
		// compares their messages: each distinct one is built once.
		msgs := map[string]string{}
		for ref := range templateRefs(tmpl) {
			c.checkTemplateRef(m, p, key, manifest.TrimJS(ref), msgs)
		}
	}
}

// checkTemplateRef checks the reference path of env.inject key (at p);
// msgs memoises the messages of the value's references by path.
func (c *checker) checkTemplateRef(m *model, p, key, path string, msgs map[string]string) {
	// Both the key and the reference are user text: quoted, like every
	// other name in a message. Built only for a finding.
	ref := func() string { return fmt.Sprintf("env.inject %s reference %s", quote(key), quote("{{"+path+"}}")) }
	report := func(r *diag.Rule, msg func() string) {
		c.report(r, p, func() string {
			s, ok := msgs[path]
			if !ok {
				s = msg()
				msgs[path] = s
			}
			return s
		})
	}
	parts := strings.Split(path, ".")
	if len(parts) < 2 {
		report(ruleEnvInjectPath, func() string {
			return ref() + " has no entry name; write it as {{section.name.field}}, for example {{routes.api.url}}"
		})
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
		report(ruleEnvInjectSection, func() string {
			return fmt.Sprintf("%s uses the unknown section %s; use routes, containers, services, workers or resources", ref(), quote(section))
		})
		return
	}
	if !exists {
		report(ruleEnvInjectUnknown, func() string {
			return fmt.Sprintf("%s names no %s entry %s; define it or fix the name%s", ref(), strings.TrimSuffix(section, "s"), quote(name), protoHint(name))
		})
		return
	}
	fields := resolvableFields[section]
	if len(parts) == 3 && slices.Contains(fields, parts[2]) {
		return
	}
	report(ruleEnvInjectField, func() string {
		return fmt.Sprintf("%s does not resolve at deploy; end it with one of the %s fields: %s", ref(), section, strings.Join(fields, ", "))
	})
}
