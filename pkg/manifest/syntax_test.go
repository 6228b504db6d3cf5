package manifest

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// syntaxCases are broken manifests with the position of the token that
// breaks the parse (where PyYAML and the npm yaml package point, or where
// the fix goes when the parser only notices at the end of the file) and a
// piece of the advice.
var syntaxCases = []struct {
	name       string
	src        string
	line, col  int
	wantInText string
}{
	{"key dedented between two levels", "spec:\n  oauth:\n    clientName: x\n   scopes:\n      - openid\n", 4, 4, `the keys under "oauth" (line 3) are indented by 4`},
	{"key indented past its sibling", "spec:\n  oauth:\n    clientName: x\n      scopes: [a]\n", 4, 7, "indent it by 4 spaces to make it a sibling key"},
	{"top-level key indented", "metadata:\n  name: x\n spec:\n  a: 1\n", 3, 2, "the top-level keys start in column 1"},
	{"list item misaligned", "spec:\n  oauth:\n    scopes:\n      - openid\n     - profile\n", 5, 6, `the items under "scopes" (line 4) are indented by 6`},
	{"key after a list at its indentation", "a:\n  - b\n  c: d\n", 3, 3, "a list cannot continue with a key"},
	{"key of a list item misaligned", "spec:\n  workers:\n    - name: a\n      build: x\n     port: 1\n", 5, 6, "the keys of the list item on line 3 are indented by 6"},
	{"block scalar ended by a misaligned key", "spec:\n  oauth:\n    description: |\n      line: one\n     bad: x\n", 5, 6, "indent it by 6 spaces to keep it in the text"},
	{"missing colon after a key", "spec:\n  oauth\n    clientName: x\n", 2, 8, `write oauth:`},
	{"unclosed double quote", "spec:\n  oauth:\n    clientName: \"My App\n    scopes: [openid]\n", 3, 17, `add the closing "`},
	{"unclosed single quote", "spec:\n  oauth:\n    clientName: 'My App\n    scopes: [openid]\n", 3, 17, "add the closing '"},
	{"unclosed quote in a list", "spec:\n  oauth:\n    redirectUris:\n      - \"https://a.example/cb\n      - https://b.example/cb\n", 4, 9, "never closed"},
	{"unclosed quote at the end", "key: \"unterminated\n", 1, 6, "never closed"},
	{"closed quote before an unclosed one", "a: \"x\"\nb: 'it''s'\nc: \"open\n", 3, 4, "never closed"},
	{"unclosed bracket", "spec:\n  oauth:\n    scopes: [openid, profile\n    autoEnv: true\n", 3, 13, "end the list with ]"},
	{"unclosed bracket on one line", "a: [1, 2\n", 1, 4, "end the list with ]"},
	{"unclosed brace", "spec:\n  oauth:\n    metadata: {logoUri: https://a.example/l.png\n  workers: {}\n", 3, 15, "end the mapping with }"},
	{"colon-space in a plain value", "spec:\n  oauth:\n    clientName: My App: the best\n", 3, 23, `write clientName: "My App: the best"`},
	{"colon-space after a comment-like text", "spec:\n  oauth:\n    clientName: x # note: here\n    autoEnv: yes: no\n", 4, 17, `write autoEnv: "yes: no"`},
	{"list on the key's line", "spec:\n  oauth:\n    scopes: - openid\n", 3, 13, "put each '- item' on its own line"},
	{"tab as indentation", "spec:\n\toauth: {}\n", 2, 1, "indent with spaces, not tabs"},
	{"tab after spaces", "spec:\n  oauth:\n    clientName: x\n  \tscopes: []\n", 4, 3, "indent with spaces, not tabs"},
	{"value starting with @", "spec:\n  oauth:\n    clientName: @app\n", 3, 17, `quote the value, for example "@app"`},
	{"value starting with a backquote", "a: `x`\n", 1, 4, "quote the value"},
	{"unknown escape", "spec:\n  oauth:\n    clientName: \"a\\qb\"\n", 3, 19, `write \\ for a backslash`},
	{"unknown alias", "spec:\n  oauth:\n    clientName: *nope\n", 3, 17, "define &nope before it"},
	{"question mark in a flow list", "a: [https://x.example/cb?x=1]\n", 1, 5, "quote that value"},
	{"CRLF line endings", "spec:\r\n  oauth:\r\n    clientName: x\r\n   scopes: []\r\n", 4, 4, "matches no enclosing block"},
	{"non-ASCII before the error", "a: \"é\"\nb: \"ü: ß\nc: d\n", 2, 4, "never closed"},
}

func TestSyntaxPositions(t *testing.T) {
	for _, tc := range syntaxCases {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("app.yml", []byte(tc.src), DefaultLimits())
			if len(diags) != 1 || diags[0].Rule != RuleSyntax.ID {
				t.Fatalf("findings = %v, want one %s", diags, RuleSyntax)
			}
			d := diags[0]
			if d.Pos != (diag.Pos{Line: tc.line, Column: tc.col}) {
				t.Errorf("position %d:%d, want %d:%d (%s)", d.Pos.Line, d.Pos.Column, tc.line, tc.col, d.Message)
			}
			if !strings.Contains(d.Message, tc.wantInText) {
				t.Errorf("message %q does not contain %q", d.Message, tc.wantInText)
			}
			if strings.Contains(d.Message, "fix the YAML syntax") {
				t.Errorf("message %q gives the generic advice; this case has a specific one", d.Message)
			}
		})
	}
}

// insideFile reports whether p points at a character of src or just past
// the end of its line.
func insideFile(src []byte, p diag.Pos) bool {
	lines := newSrcLines(src)
	if p.Line < 1 || p.Line > max(1, len(lines)) || p.Column < 1 {
		return false
	}
	return p.Column <= utf8.RuneCount(lines.get(p.Line))+1
}

func FuzzSyntaxPosition(f *testing.F) {
	for _, tc := range syntaxCases {
		f.Add([]byte(tc.src))
	}
	f.Add([]byte("a:\n  - b\n  - c:\n    d: [\n"))
	f.Add([]byte("\n\n\"\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		lim := DefaultLimits()
		lim.MaxNodes = 20000
		_, diags := Parse("f.yml", src, lim)
		for _, d := range diags {
			if d.Rule == RuleSyntax.ID && !insideFile(src, d.Pos) {
				t.Fatalf("%s finding at %d:%d is outside the file (%d lines): %s", d.Rule, d.Pos.Line, d.Pos.Column, bytes.Count(src, []byte("\n"))+1, d.Message)
			}
		}
	})
}

// BenchmarkSyntaxHostile locates the error in large broken files: the
// locator must stay linear (it runs only on files that failed to parse,
// but a hostile one may be up to the size limit).
func BenchmarkSyntaxHostile(b *testing.B) {
	const size = 1 << 20
	fill := func(unit, tail string) []byte {
		return []byte(strings.Repeat(unit, (size-len(tail))/len(unit)) + tail)
	}
	inputs := map[string][]byte{
		"closed quotes then an open one": fill("a: \"x\"\n", "b: \"open\n"),
		"nested flow never closed":       append([]byte("a: "), fill("[", "")...),
		"flow lists then an open one":    fill("a: [1, 2]\n", "b: [1, 2\nc: 1\n"),
		"keys then a misaligned one":     fill("  a: 1\n", " b: 2\n"),
		"one long line with colons":      append([]byte("a: "), fill("x: ", "\n")...),
		"many lines over-indented":       append([]byte("a:\n  b: 1\n"), fill("     c: 1\n", "")...),
	}
	for name, src := range inputs {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				Parse("f.yml", src, DefaultLimits())
			}
		})
	}
}
