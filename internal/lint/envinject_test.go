package lint

import (
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestTemplateRefsIsTheRegexp: templateRefs finds what the regexp of
// Takos's app-manifest-template.ts finds, on random strings of braces.
func TestTemplateRefsIsTheRegexp(t *testing.T) {
	re := regexp.MustCompile(`\{\{([^}]+)\}\}`)
	rng := rand.New(rand.NewPCG(21, 3))
	cases := []string{"", "{{a.b}}", "{{}}", "{{{a}}}", "{{a}", "a}}", "{{a}}{{b.c}}", "{{a\n}}", "{{a}b}}", "}}{{a}}"}
	for range 20000 {
		var b strings.Builder
		for range rng.IntN(24) {
			b.WriteString([]string{"{", "}", "a", ".", "{{", "}}", "\n"}[rng.IntN(7)])
		}
		cases = append(cases, b.String())
	}
	for _, s := range cases {
		var want []string
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			want = append(want, m[1])
		}
		if got := slices.Collect(templateRefs(s)); !slices.Equal(got, want) {
			t.Fatalf("templateRefs(%q) = %q, want %q", s, got, want)
		}
	}
}

// BenchmarkTemplateRefs: a megabyte of '{' with no '}', or of "{{a" with
// one '}' at the end, is one pass, not one per brace (each is about a
// millisecond; a scan per brace would take minutes).
func BenchmarkTemplateRefs(b *testing.B) {
	for name, s := range map[string]string{
		"open":   strings.Repeat("{", 1<<20),
		"late":   strings.Repeat("{{a", 1<<18) + "}",
		"broken": strings.Repeat("{{a}", 1<<18),
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				for range templateRefs(s) {
				}
			}
		})
	}
}
