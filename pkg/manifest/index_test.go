package manifest

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// lineScan is Line as it was before the index: a scan from the start of
// the source for every call.
func lineScan(src []byte, n int) string {
	if n < 1 {
		return ""
	}
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimRight(string(src), "\r")
}

func TestLineIndex(t *testing.T) {
	pieces := []string{"a", "\n", "\r\n", "\r", "\r\r\n", "é", "", "\n\n"}
	rng := rand.New(rand.NewPCG(21, 6))
	for range 300 {
		var b strings.Builder
		for range rng.IntN(40) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		src := []byte(b.String())
		// A literal Document (as the CLI keeps for snippets) and a parsed
		// one index alike.
		for _, doc := range []*Document{{Path: "x", Source: src}, func() *Document { d, _ := Parse("x", src, DefaultLimits()); return d }()} {
			lines := bytes.Count(src, []byte("\n")) + 1
			for n := -1; n <= lines+2; n++ {
				if got, want := doc.Line(n), lineScan(src, n); got != want {
					t.Fatalf("Line(%d) of %q = %q, want %q", n, src, got, want)
				}
			}
		}
	}
}

// TestKeyIndex positions findings in a mapping large enough to be indexed,
// with keys that U+2028 placeholders and JSON-pointer escapes disguise.
func TestKeyIndex(t *testing.T) {
	var b strings.Builder
	b.WriteString("spec:\n")
	n := 3 * indexedKeys
	for i := range n {
		fmt.Fprintf(&b, "  k%d: %d\n", i, i)
	}
	b.WriteString("  \"a/b~c\": 1\n  \"x\u2028y\": 2\n")
	doc, diags := Parse("app.yml", []byte(b.String()), DefaultLimits())
	if doc.Value == nil {
		t.Fatalf("parse: %v", diags)
	}
	for i := range n {
		if got, want := doc.KeyPos(Pointer("spec", fmt.Sprintf("k%d", i))), (diag.Pos{Line: i + 2, Column: 3}); got != want {
			t.Fatalf("KeyPos(k%d) = %v, want %v", i, got, want)
		}
		if got, want := doc.Pos(Pointer("spec", fmt.Sprintf("k%d", i))), (diag.Pos{Line: i + 2, Column: 4 + len(fmt.Sprint(i)) + 2}); got != want {
			t.Fatalf("Pos(k%d) = %v, want %v", i, got, want)
		}
	}
	if got := doc.KeyPos(Pointer("spec", "a/b~c")); got.Line != n+2 {
		t.Errorf("KeyPos(a/b~c) = %v, want line %d", got, n+2)
	}
	if got := doc.KeyPos(Pointer("spec", "x\u2028y")); got.Line != n+3 {
		t.Errorf("KeyPos(x U+2028 y) = %v, want line %d", got, n+3)
	}
	// A missing key is positioned at the mapping that lacks it.
	if got := doc.Pos(Pointer("spec", "nope", "deeper")); got != (diag.Pos{Line: 2, Column: 3}) {
		t.Errorf("Pos(missing) = %v, want the spec mapping at 2:3", got)
	}
}
