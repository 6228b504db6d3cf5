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
			"6:12 schema-type", `write the full version, quoted: "1.0.0"`},
		{"quoted short version", minimal[:len(minimal)-len("  version: 1.0.0\n")] + "  version: \"1.0\"\n",
			"6:12 schema-pattern", `write "1.0.0"`},
		{"version with a v and leading zeros", minimal[:len(minimal)-len("  version: 1.0.0\n")] + "  version: v01.2\n",
			"6:12 schema-pattern", `write "1.2.0"`},
		{"version beyond repair", minimal[:len(minimal)-len("  version: 1.0.0\n")] + "  version: latest\n",
			"6:12 schema-pattern", `got "latest"`},
		{"yes where a boolean belongs", minimal + "  oauth:\n    clientName: x\n    redirectUris: [https://a.example.com/cb]\n    scopes: [openid]\n    autoEnv: yes\n",
			"11:14 schema-type", "write true (Takos reads YAML 1.2, where yes is text"},
		{"off where a boolean belongs", minimal + "  oauth:\n    clientName: x\n    redirectUris: [https://a.example.com/cb]\n    scopes: [openid]\n    autoEnv: Off\n",
			"11:14 schema-type", "write false"},
		{"other text where a boolean belongs", minimal + "  oauth:\n    clientName: x\n    redirectUris: [https://a.example.com/cb]\n    scopes: [openid]\n    autoEnv: sure\n",
			"11:14 schema-type", "write true or false"},
		{"words where a list belongs", minimal + "  oauth:\n    clientName: x\n    redirectUris: [https://a.example.com/cb]\n    scopes: openid profile\n",
			"10:13 schema-type", "write a list: [openid, profile], or one '- item' per line"},
		{"comma list as text", minimal + "  oauth:\n    clientName: x\n    redirectUris: [https://a.example.com/cb]\n    scopes: \"openid, email\"\n",
			"10:13 schema-type", "write a list: [openid, email]"},
		{"one URI where a list belongs", minimal + "  oauth:\n    clientName: x\n    redirectUris: https://a.example.com/cb\n    scopes: [openid]\n",
			"9:19 schema-type", "write a list: [https://a.example.com/cb]"},
		{"misspelled required key is one finding", minimal + "  oauth:\n    clientNme: x\n    redirectUris: [https://a.example.com/cb]\n    scopes: [openid]\n",
			"8:5 schema-unknown-field", `did you mean "clientName", which is required and missing here?`},
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
			if strings.Contains(tc.name, "one finding") && len(diags) != 1 {
				t.Errorf("%d findings, want one: %v", len(diags), diags)
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
