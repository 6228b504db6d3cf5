package safetext

import (
	"strings"
	"testing"
)

func TestRedactCredentials(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"token: tak_pat_abcDEF012_-x rest", "token: tak_pat_************ rest"},
		{"jwt eyJhbGciOi.eyJzdWIi.c2ln end", "jwt eyJ********************* end"},
		{"tak_pat_… is how a PAT starts", "tak_pat_… is how a PAT starts"},
		{"two tak_pat_a and tak_pat_bb", "two tak_pat_* and tak_pat_**"},
	} {
		got := RedactCredentials(tc.in)
		if got != tc.want {
			t.Errorf("RedactCredentials(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) != len(tc.in) {
			t.Errorf("RedactCredentials(%q) changed the length (%d → %d): carets would move", tc.in, len(tc.in), len(got))
		}
		if strings.Contains(got, "abcDEF") || strings.Contains(got, "c2ln") {
			t.Errorf("RedactCredentials(%q) = %q still shows the secret", tc.in, got)
		}
	}
}
