package manifest

import (
	"fmt"
	"strings"
	"testing"
)

// TestValidatePositions checks the mapping from schema violations to
// positions: the schema package knows pointers, only the loader knows lines.
func TestValidatePositions(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string // "line:col rule" of the first finding
		msg  string // fragment of its message
	}{
		{"number where a string belongs", minimal[:len(minimal)-len("  version: 1.0.0\n")] + "  version: 1.0\n",
			"6:12 schema-type", `quote it: "1.0"`},
		{"unknown field at its key", minimal + "  oauth:\n    clientName: x\n    redirectUri: https://a.example.com/cb\n    scopes: [openid]\n",
			"9:5 schema-unknown-field", `redirectUris`},
		{"missing field at the parent's key", minimal + "  oauth:\n    redirectUris: [https://a.example.com/cb]\n    scopes: [openid]\n",
			"7:3 schema-required", "clientName"},
		{"wrong kind", strings.Replace(minimal, "kind: App", "kind: app", 1),
			"2:7 schema-const", "App"},
		{"boolean where a string belongs", strings.Replace(minimal, "name: demo", "name: yes please", 1) + "  description: true\n",
			"7:16 schema-type", `quote it: "true"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, diags, err := Load("app.yml", []byte(tc.src), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if doc.Value == nil || len(diags) == 0 {
				t.Fatalf("Load(%q) = %v, want a schema finding", tc.src, diags)
			}
			d := diags[0]
			for _, c := range diags {
				if strings.HasSuffix(tc.want, " "+c.Rule) {
					d = c
					break
				}
			}
			if got := fmt.Sprintf("%d:%d %s", d.Pos.Line, d.Pos.Column, d.Rule); got != tc.want {
				t.Errorf("finding at %s, want %s (all: %v)", got, tc.want, diags)
			}
			if !strings.Contains(d.Message, tc.msg) {
				t.Errorf("message %q, want it to contain %q", d.Message, tc.msg)
			}
		})
	}
}
