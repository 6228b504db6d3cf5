// Package jsonptr formats, splits and follows RFC 6901 JSON pointers over
// JSON-shaped values (map[string]any, []any and scalars). It is shared by
// the schema (leaf) and the manifest loader, which must agree exactly on how
// a pointer names a value.
package jsonptr

import (
	"iter"
	"strconv"
	"strings"
)

// Format builds a pointer from unescaped tokens; no tokens is the root "".
func Format(tokens ...string) string {
	n := 0
	for _, t := range tokens {
		n += 1 + len(t)
	}
	var b strings.Builder
	b.Grow(n)
	for _, t := range tokens {
		b.WriteByte('/')
		if strings.ContainsAny(t, "~/") {
			t = strings.ReplaceAll(t, "~", "~0")
			t = strings.ReplaceAll(t, "/", "~1")
		}
		b.WriteString(t)
	}
	return b.String()
}

// Split is the inverse of Format. The root pointer "" has no tokens.
func Split(ptr string) []string {
	if ptr == "" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	for i, p := range parts {
		if strings.Contains(p, "~") {
			// ~1 first: "~01" is the escaped "~1", not "/".
			parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
		}
	}
	return parts
}

// Last returns the last token of ptr, unescaped; false for the root "".
func Last(ptr string) (string, bool) {
	i := strings.LastIndexByte(ptr, '/')
	if i < 0 {
		return "", false
	}
	tok := ptr[i+1:]
	if strings.Contains(tok, "~") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
	}
	return tok, true
}

// Tokens yields the tokens of ptr as Split returns them, without building
// the slice: a finding is positioned by walking its pointer, and a file may
// have a hundred thousand findings.
func Tokens(ptr string) iter.Seq[string] {
	return func(yield func(string) bool) {
		if ptr == "" {
			return
		}
		rest := strings.TrimPrefix(ptr, "/")
		for {
			tok, after, more := strings.Cut(rest, "/")
			if strings.Contains(tok, "~") {
				tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			}
			if !yield(tok) || !more {
				return
			}
			rest = after
		}
	}
}

// Lookup follows tokens from v: object members by name, array elements by
// decimal index. It reports false when a step does not exist.
func Lookup(v any, tokens []string) (any, bool) {
	for _, tok := range tokens {
		switch t := v.(type) {
		case map[string]any:
			next, ok := t[tok]
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(t) {
				return nil, false
			}
			v = t[i]
		default:
			return nil, false
		}
	}
	return v, true
}
