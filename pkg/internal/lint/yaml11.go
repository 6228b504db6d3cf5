package lint

import (
	"fmt"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
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

// booleanKeys are the manifest fields whose value is a boolean: a "yes"
// there is a schema type error, not a string to quote.
func booleanKey(k string) bool {
	switch k {
	case "autoEnv", "generate", "ipv4", "sandbox", "rollbackOnFailure":
		return true
	}
	return false
}

// checkYAML11Booleans finds plain (unquoted) yes/no/on/off/y/n strings.
// The node style is not exported by pkg/manifest, so the source text at
// the value's position decides: a quoted scalar starts with a quote there.
func (c *checker) checkYAML11Booleans() {
	var walk func(v any, tokens []string)
	walk = func(v any, tokens []string) {
		switch t := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				if booleanKey(k) {
					continue
				}
				walk(t[k], append(tokens, k))
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
			if !c.plainAt(p, t) {
				return
			}
			c.add(p, diag.Info, ruleYAML11Boolean,
				fmt.Sprintf("unquoted %s is a string for Takos but a boolean for YAML 1.1 tools; quote it as \"%s\" so every tool reads the same value", t, t))
		}
	}
	walk(c.doc.Value, nil)
}

// plainAt reports whether the scalar at p is written as the plain text want
// (not quoted, not a block scalar, not an alias) in the source.
func (c *checker) plainAt(p, want string) bool {
	text, _, ok := c.doc.Scalar(p)
	if !ok || text != want {
		return false
	}
	pos := c.doc.Pos(p)
	line := []rune(c.doc.Line(pos.Line))
	// yaml.v3 columns count characters, 1-based.
	start := pos.Column - 1
	if start < 0 || start+len(want) > len(line) {
		return false
	}
	if string(line[start:start+len(want)]) != want {
		return false
	}
	// The plain scalar must end there; "yes" followed by more text would
	// be a different scalar.
	rest := strings.TrimLeft(string(line[start+len(want):]), " \t")
	return rest == "" || rest[0] == '#' || rest[0] == ',' || rest[0] == ']' || rest[0] == '}'
}
