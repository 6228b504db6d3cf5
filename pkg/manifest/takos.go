package manifest

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

const literalOrFolded = yaml.LiteralStyle | yaml.FoldedStyle

// TrimJS trims s exactly as JavaScript's String.prototype.trim does
// (ECMA-262 WhiteSpace and LineTerminator), which is how Takos's parser
// reads every string field (String(v ?? ”).trim()). It differs from
// strings.TrimSpace at U+FEFF (trimmed here) and U+0085 (kept here).
func TrimJS(s string) string {
	return strings.TrimFunc(s, isJSSpace)
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

// takosView returns the manifest as Takos's parser reads it before its
// checks, which is what the schema validates: strings trimmed, null and
// blank optional fields absent. Takos reads a null or blank field as
// missing (String(v ?? ”).trim() === ”), and a null section as empty.
//
// Left as written: spec.oauth (Takos passes it through untouched and
// takos-apply sends it to the OAuth server as is), environment maps and
// env.inject templates (values are taken with String(v ?? ”), untrimmed),
// and the entries of name-keyed maps (a null worker is still a worker
// without a build source). Lists of mappings whose null value Takos may
// reject (routes, mcpServers, fileHandlers, trigger lists) keep their null.
type viewer struct {
	doc *Document
	// stripped maps the pointer of each removed field to why: "null" or
	// "blank"; blanked holds list items trimmed to "".
	stripped map[string]string
	blanked  map[string]bool
	col      *diag.Collector
}

func newViewer(doc *Document, col *diag.Collector) *viewer {
	return &viewer{doc: doc, stripped: map[string]string{}, blanked: map[string]bool{}, col: col}
}

func (w *viewer) view(v any, tokens []string) any {
	switch t := v.(type) {
	case map[string]any:
		if rawSubtree(tokens) {
			return t
		}
		named := nameKeyed(tokens)
		out := make(map[string]any, len(t))
		for k, c := range t {
			child := append(tokens[:len(tokens):len(tokens)], k)
			if named {
				out[k] = w.view(c, child)
				continue
			}
			switch cv := c.(type) {
			case nil:
				if keepsNull(child) {
					out[k] = nil
					continue
				}
				w.stripped[Pointer(child...)] = "null"
				continue
			case string:
				s := w.trim(cv, child)
				if s == "" {
					w.stripped[Pointer(child...)] = "blank"
					continue
				}
				out[k] = s
				continue
			}
			out[k] = w.view(c, child)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, c := range t {
			child := append(tokens[:len(tokens):len(tokens)], strconv.Itoa(i))
			if s, ok := c.(string); ok {
				out[i] = w.trim(s, child)
				if out[i] == "" && s != "" {
					w.blanked[Pointer(child...)] = true
				}
				continue
			}
			out[i] = w.view(c, child)
		}
		return out
	}
	return v
}

// trim returns s trimmed as Takos trims it and warns when that changed a
// non-blank value: Takos accepts " App " as App, but the value the user
// sees is not the value Takos uses.
func (w *viewer) trim(s string, tokens []string) string {
	t := TrimJS(s)
	if t == s || t == "" {
		return t
	}
	p := Pointer(tokens...)
	w.doc.Report(w.col, p, RuleValueWhitespace, func() string {
		if n, _, ok := w.doc.lookup(p); ok && n.Style&(literalOrFolded) != 0 && strings.TrimRight(s, "\n") == t {
			return fmt.Sprintf("%s ends with a line break, which Takos trims; write |- or >- to drop it", fieldName(tokens))
		}
		return fmt.Sprintf("%s has surrounding white space, which Takos trims (it reads %s); remove the white space", fieldName(tokens), quoteValue(t))
	})
	return t
}

// rawSubtree reports the mappings Takos takes verbatim.
func rawSubtree(tokens []string) bool {
	n := len(tokens)
	switch {
	case n == 2 && tokens[0] == "spec" && tokens[1] == "oauth":
		return true
	case n == 3 && tokens[0] == "spec" && tokens[1] == "env" && tokens[2] == "inject":
		return true
	case n >= 2 && tokens[n-1] == "env" && tokens[0] == "spec" && tokens[1] != "env":
		return true // workers.W.env, services.S.env, overrides.E.containers.C.env, ...
	}
	return false
}

// nameKeyed reports the mappings whose keys are names the user chose.
func nameKeyed(tokens []string) bool {
	n := len(tokens)
	if n == 2 && tokens[0] == "spec" {
		switch tokens[1] {
		case "workers", "containers", "services", "resources", "overrides":
			return true
		}
	}
	return n == 4 && tokens[0] == "spec" && tokens[1] == "overrides" &&
		(tokens[3] == "workers" || tokens[3] == "containers" || tokens[3] == "services")
}

// keepsNull reports the list fields whose null Takos's parser may reject
// ("must be an array"): there the schema's type error stays.
func keepsNull(tokens []string) bool {
	switch tokens[len(tokens)-1] {
	case "routes", "mcpServers", "fileHandlers":
		return len(tokens) == 2
	case "schedules", "queues":
		return len(tokens) >= 2 && tokens[len(tokens)-2] == "triggers"
	}
	return false
}

// fieldName renders tokens the way users write the field:
// spec.routes[0].target.
func fieldName(tokens []string) string {
	var b strings.Builder
	for i, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil && i > 0 {
			b.WriteString("[" + t + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	if b.Len() == 0 {
		return "the manifest"
	}
	return b.String()
}

// quoteValue quotes user text for a message (safetext: invisible
// characters escaped, cut to a readable length).
func quoteValue(s string) string { return safetext.Quote(s, 60) }
