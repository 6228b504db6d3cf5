package hostiletest

import (
	"bytes"
	"fmt"
	"strings"
)

// Manifest is one hostile app.yml: a file of at most the requested size
// built so that one step of the lint pipeline or of a report format does as
// much work per byte as it can — a million-byte line with a finding every
// eight bytes, a hundred thousand list items that each break a rule, a
// directive comment on every line, thousands of unknown keys.
type Manifest struct {
	Name string // file name, without directory
	Why  string // the step it targets
	Data []byte
}

// oauthHead is a valid manifest up to the scopes of its OAuth client.
const oauthHead = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: hostile
spec:
  version: 1.0.0
  oauth:
    clientName: Hostile
    redirectUris: [https://app.example.com/cb]
`

// Manifests returns the hostile manifests, each at most size bytes and
// within a few hundred bytes of it. scripts/bench-hostile.sh times the
// built binary on them (size 1 MiB, the default --max-file-size) and
// BenchmarkHostile in internal/cli the pipeline in process.
func Manifests(size int) []Manifest {
	var out []Manifest
	add := func(name, why string, data []byte) {
		if len(data) > size {
			panic(fmt.Sprintf("hostiletest: %s is %d bytes, over %d", name, len(data), size))
		}
		out = append(out, Manifest{Name: name, Why: why, Data: data})
	}

	oneLine := func(item string) []byte {
		head := "{apiVersion: takos.dev/v1alpha1, kind: App, metadata: {name: hostile}, spec: {version: 1.0.0, " +
			"oauth: {clientName: Hostile, redirectUris: [https://app.example.com/cb], scopes: [openid"
		const tail = "]}}}\n"
		return fill(head, item, tail, size)
	}
	add("line-dup-scopes.yml", "one line, a duplicate scope every 8 bytes: line lookup and snippet per finding",
		oneLine(", openid"))
	add("line-wide-scopes.yml", "one line of East Asian wide scopes: the snippet's width and caret on a long multibyte line",
		oneLine(", 範囲"))

	add("list-scopes.yml", "a block list of \"- a\" scopes: one finding per 10-byte line",
		fill(oauthHead+"    scopes:\n", "      - a\n", "", size))
	add("list-redirects.yml", "a block list of \"- a\" redirect URIs: several rules per item and the list rules",
		fill(strings.Replace(oauthHead, "    redirectUris: [https://app.example.com/cb]\n", "    scopes: [openid]\n", 1)+"    redirectUris:\n",
			"      - a\n", "", size))
	add("list-yes.yml", "a block list of unquoted y scopes: YAML 1.1 booleans, unknown and duplicate scopes",
		fill(oauthHead+"    scopes:\n", "      - y\n", "", size))

	// A directive naming an unknown rule on every line: each is a finding
	// with a "did you mean" search, and every other finding is matched
	// against every directive unless they are indexed by line.
	var dir strings.Builder
	for i := 0; dir.Len() < size; i++ {
		fmt.Fprintf(&dir, "      - openid # takos-apply:ignore scope-dupl1cate-%d\n", i)
	}
	add("list-directives.yml", "an ignore directive with an unknown rule on every line: suppression and its suggestions",
		fill(oauthHead+"    scopes:\n", "", "", size, dir.String()))

	// Workers full of unknown keys: each is a finding with a "did you
	// mean" search, positioned by looking its key up in a 2,000-key
	// mapping.
	var keys strings.Builder
	keys.WriteString("apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: hostile\nspec:\n  version: 1.0.0\n  workers:\n")
	for w := 0; keys.Len() < size; w++ {
		fmt.Fprintf(&keys, "    w%d:\n", w)
		for k := 0; k < 2000 && keys.Len() < size; k++ {
			fmt.Fprintf(&keys, "      bulid%d: 1\n", k)
		}
	}
	add("unknown-keys.yml", "workers with 2,000 unknown keys each: key positions and field suggestions",
		truncLines([]byte(keys.String()), size))

	add("inject-templates.yml", "one env.inject value of 100,000 bad references: many findings at one position on a long line",
		fill("apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: hostile\nspec:\n  version: 1.0.0\n  env:\n    inject:\n      X: \"",
			"{{a.b.c}}", "\"\n", size))

	add("flow-dup-keys.yml", "a flow mapping with a duplicate key on every entry of a list: loader findings",
		fill("apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: hostile\nspec:\n  version: 1.0.0\n  routes:\n",
			"    - {a: 1, a: 1}\n", "", size))

	add("line-control-escapes.yml", "one line of quoted scopes with a control escape each: loader findings on a long line",
		oneLine(`, "\x01"`))
	add("yaml-directives.yml", "a %YAML 1.1 directive on every line: one loader finding per line, positioned",
		fill("", "%YAML 1.1\n", "---\napiVersion: takos.dev/v1alpha1\n", size))
	return out
}

// fill writes head, then item (or the items of body, line by line) as
// often as they fit, then tail, in at most size bytes.
func fill(head, item, tail string, size int, body ...string) []byte {
	var b bytes.Buffer
	b.Grow(size)
	b.WriteString(head)
	if len(body) > 0 {
		rest := size - b.Len() - len(tail)
		src := body[0]
		if len(src) > rest {
			src = src[:rest]
			if i := strings.LastIndexByte(src, '\n'); i >= 0 {
				src = src[:i+1]
			}
		}
		b.WriteString(src)
	} else {
		for b.Len()+len(item)+len(tail) <= size {
			b.WriteString(item)
		}
	}
	b.WriteString(tail)
	return b.Bytes()
}

// truncLines cuts data to at most size bytes at a line end.
func truncLines(data []byte, size int) []byte {
	if len(data) <= size {
		return data
	}
	data = data[:size]
	return data[:bytes.LastIndexByte(data, '\n')+1]
}
