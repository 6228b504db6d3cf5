package jsonptr

import (
	"slices"
	"testing"
)

func TestFormatSplit(t *testing.T) {
	tests := []struct {
		tokens []string
		ptr    string
	}{
		{nil, ""},
		{[]string{"spec", "oauth"}, "/spec/oauth"},
		{[]string{"a/b", "~c", ""}, "/a~1b/~0c/"},
		{[]string{"~1"}, "/~01"},
		{[]string{"0"}, "/0"},
	}
	for _, tc := range tests {
		if got := Format(tc.tokens...); got != tc.ptr {
			t.Errorf("Format(%q) = %q, want %q", tc.tokens, got, tc.ptr)
		}
		if got := Split(tc.ptr); !slices.Equal(got, tc.tokens) {
			t.Errorf("Split(%q) = %q, want %q", tc.ptr, got, tc.tokens)
		}
	}
}

func TestLookup(t *testing.T) {
	v := map[string]any{"spec": map[string]any{"uris": []any{"a", "b"}, "a/b": 1}}
	tests := []struct {
		ptr  string
		want any
		ok   bool
	}{
		{"/spec/uris/1", "b", true},
		{"/spec/a~1b", 1, true},
		{"/spec/uris/2", nil, false},
		{"/spec/uris/-1", nil, false},
		{"/spec/uris/x", nil, false},
		{"/spec/missing", nil, false},
		{"/spec/uris/0/deeper", nil, false},
	}
	for _, tc := range tests {
		got, ok := Lookup(v, Split(tc.ptr))
		if got != tc.want || ok != tc.ok {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tc.ptr, got, ok, tc.want, tc.ok)
		}
	}
}

func TestTokensIsSplit(t *testing.T) {
	for _, ptr := range []string{"", "/", "//", "/a", "/a/b", "a/b", "/~0~1/~01/x~", "/spec/oauth/scopes/12", "/a//b/"} {
		got := slices.Collect(Tokens(ptr))
		if want := Split(ptr); !slices.Equal(got, want) {
			t.Errorf("Tokens(%q) = %q, Split = %q", ptr, got, want)
		}
	}
}
