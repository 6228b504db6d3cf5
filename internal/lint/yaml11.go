package lint

import (
	"fmt"
)

// yaml11Bool reports whether s is a YAML 1.1 boolean that YAML 1.2 (Takos's
// parser and ours) reads as a string. true/false are booleans in both.
func yaml11Bool(s string) bool {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF":
		return true
	}
	return false
}

// booleanKey reports whether k names a manifest field whose value is a
// boolean: a "yes" there is a schema type error, not a string to quote.
func booleanKey(k string) bool {
	switch k {
	case "autoEnv", "generate", "ipv4", "sandbox", "rollbackOnFailure":
		return true
	}
	return false
}

// checkYAML11Booleans finds plain (unquoted) yes/no/on/off/y/n strings.
// The value tree has lost the quoting; Document.Plain reads it from the
// node, and is asked only for the rare string that is such a word.
func (c *checker) checkYAML11Booleans() {
	var walk func(v any, tokens []string)
	walk = func(v any, tokens []string) {
		switch t := v.(type) {
		case map[string]any:
			// Go's map order: Check sorts the findings.
			for k, e := range t {
				if booleanKey(k) {
					continue
				}
				walk(e, append(tokens, k))
			}
		case []any:
			for i, e := range t {
				walk(e, append(tokens, idx(i)))
			}
		case string:
			if !yaml11Bool(t) {
				return
			}
			p := ptr(tokens...)
			if text, ok := c.doc.Plain(p); !ok || text != t {
				return
			}
			// t is one of the sixteen words of yaml11Bool, so it is shown
			// as is: safe, and quoting it would muddle "unquoted".
			c.report(ruleYAML11Boolean, p, func() string {
				return fmt.Sprintf("unquoted %s is a string for Takos but a boolean for YAML 1.1 tools; quote it as \"%s\" so every tool reads the same value", t, t)
			})
		}
	}
	walk(c.doc.Value, nil)
}
