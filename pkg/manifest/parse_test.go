package manifest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

const minimal = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: demo
spec:
  version: 1.0.0
`

func TestParseValue(t *testing.T) {
	src := minimal + `  when: 2024-01-02
  count: 0x1F
  octal: 0o17
  ratio: 1.50
  flag: yes
  on: true
  nothing: ~
  anchored: &a [one, two]
  again: *a
  decimal: 0777
  text: x y
`
	doc, diags := Parse("app.yml", []byte(src), DefaultLimits())
	if len(diags) != 1 || diags[0].Rule != RuleYAML12Scalar.ID || diags[0].Severity != diag.Warning {
		t.Fatalf("Parse: want one %s warning (0777), got %v", RuleYAML12Scalar, diags)
	}
	want := map[string]any{
		"apiVersion": "takos.dev/v1alpha1",
		"kind":       "App",
		"metadata":   map[string]any{"name": "demo"},
		"spec": map[string]any{
			"version":  "1.0.0",
			"when":     "2024-01-02", // a date stays text, never time.Time
			"count":    json.Number("31"),
			"octal":    json.Number("15"),
			"ratio":    json.Number("1.5"),
			"flag":     "yes", // YAML 1.2: yes is a string
			"on":       true,
			"nothing":  nil,
			"anchored": []any{"one", "two"},
			"again":    []any{"one", "two"},
			"decimal":  json.Number("777"), // YAML 1.2: a leading 0 is not octal
			"text":     "x\u2028y",         // YAML 1.2: U+2028 is no line break
		},
	}
	if d := cmp.Diff(want, doc.Value); d != "" {
		t.Errorf("Parse value mismatch (-want +got):\n%s", d)
	}
}

func TestParseFindings(t *testing.T) {
	tests := []struct {
		name string
		src  string
		lim  *Limits
		want []string // "line:col rule" of each finding, in order
		msg  string   // fragment of the first message
	}{
		{"empty file", "", nil, []string{"1:1 yaml-empty"}, "file is empty"},
		{"only a comment", "# nothing\n", nil, []string{"1:1 yaml-empty"}, "file is empty"},
		{"null document", "~\n", nil, []string{"1:1 yaml-empty"}, "holds no manifest"},
		{"duplicate key", "a: 1\nb: 2\na: 3\n", nil, []string{"3:1 yaml-duplicate-key"}, "already defined at line 1"},
		{"nested duplicate", "spec:\n  oauth:\n    clientName: x\n    clientName: y\n", nil, []string{"4:5 yaml-duplicate-key"}, `key "clientName"`},
		{"two documents", "a: 1\n---\nb: 2\n", nil, []string{"2:1 yaml-multi-document"}, "more than one YAML document"},
		{"integer key", "1: one\n", nil, []string{"1:1 yaml-key-type"}, "keys must be strings"},
		{"null key", "~: one\n", nil, []string{"1:1 yaml-key-type"}, "keys must be strings"},
		{"bool key", "true: one\n", nil, []string{"1:1 yaml-key-type"}, "keys must be strings"},
		{"complex key", "? [a]\n: one\n", nil, []string{"1:3 yaml-key-type"}, "not a scalar"},
		{"custom tag", "a: !evil x\n", nil, []string{"1:4 yaml-tag"}, "tag !evil is not supported"},
		{"binary tag", "a: !!binary aGVsbG8=\n", nil, []string{"1:4 yaml-tag"}, "!!binary"},
		{"merge key", "base: &b {x: 1}\nc:\n  <<: *b\n", nil, []string{"3:3 yaml-merge-key"}, "merge key"},
		{"tab indentation", "a:\n\tb: 1\n", nil, []string{"2:1 yaml-syntax"}, "tabs"},
		{"syntax error", "a: [1, 2\n", nil, []string{"1:4 yaml-syntax"}, "invalid YAML"},
		{"question mark in a flow value", "a: [https://x.example/cb?x=1]\n", nil, []string{"1:5 yaml-syntax"}, "quote that value"},
		{"invalid utf8", "a: \xff\n", nil, []string{"1:4 yaml-encoding"}, "invalid UTF-8"},
		{"utf16 bom", "\xff\xfea\x00", nil, []string{"1:1 yaml-encoding"}, "UTF-16"},
		{"NUL byte", "a: b\x00\n", nil, []string{"1:5 yaml-control-char"}, "U+0000"},
		{"ESC byte", "a: \x1b[31m\n", nil, []string{"1:4 yaml-control-char"}, "U+001B"},
		{"NEL", "a: b\u0085c\n", nil, []string{"1:5 yaml-control-char"}, "U+0085"},
		{"escaped NUL", "a: \"b\\0c\"\n", nil, []string{"1:4 yaml-control-char"}, "escape sequence"},
		{"escaped bell", "x:\n  - \"\\a\"\n", nil, []string{"2:5 yaml-control-char"}, "U+0007"},
		{"NaN", "a: .nan\n", nil, []string{"1:4 yaml-number"}, "not a number JSON can hold"},
		{"Inf", "a: -.inf\n", nil, []string{"1:4 yaml-number"}, "not a number JSON can hold"},
		{"integer past float64", "a: " + strings.Repeat("3", 400) + "\n", nil, []string{"1:4 yaml-number"}, "not a number JSON can hold"},
		{"hex past float64", "a: 0x" + strings.Repeat("F", 300) + "\n", nil, []string{"1:4 yaml-number"}, "not a number JSON can hold"},
		{"too big", strings.Repeat("a: 1\n", 10), &Limits{MaxBytes: 20}, []string{"1:1 yaml-size"}, "larger than the 20-byte limit"},
		{"too deep", strings.Repeat("[", 10) + strings.Repeat("]", 10) + "\n", &Limits{MaxDepth: 5}, []string{"1:7 yaml-limit"}, "deeper than 5"},
		{"too many keys", "a: 1\nb: 2\nc: 3\n", &Limits{MaxKeys: 2}, []string{"1:1 yaml-limit"}, "3 keys"},
		{"alias bomb", bomb(6, 9), &Limits{MaxNodes: 10000}, []string{"5:10 yaml-limit"}, "more than 10000 values"},
		// Where yaml.v3 and YAML 1.2 (npm yaml 2.8, Takos's reader) disagree.
		{"CR-only line endings", "a: 1\rb: 2\r", nil, []string{"1:5 yaml-line-ending"}, "convert the file to LF"},
		{"lone CR inside a value", "a: x\ry\n", nil, []string{"1:5 yaml-line-ending"}, "carriage return"},
		{"comment glued to a quoted scalar", "name: \"r\"#x\n", nil, []string{"1:10 yaml-comment-spacing"}, "put a space before '#'"},
		{"comment glued to a flow mapping", "- {name: r}#x\n", nil, []string{"1:12 yaml-comment-spacing"}, "Comments must be separated"},
		{"comment glued to a flow sequence", "a: [b]#x\n", nil, []string{"1:7 yaml-comment-spacing"}, "space before '#'"},
		{"comment glued to a single-quoted scalar", "a: 'it''s'#x\n", nil, []string{"1:11 yaml-comment-spacing"}, "space before '#'"},
		{"comment glued to a block scalar header", "a: |#x\n  b\n", nil, []string{"1:5 yaml-comment-spacing"}, "space before '#'"},
		{"comment glued after a multi-line string", "a: \"m\n  l\"#x\n", nil, []string{"2:5 yaml-comment-spacing"}, "space before '#'"},
		{"%YAML 1.1 directive", "%YAML 1.1\n---\na: yes\n", nil, []string{"1:1 yaml-directive"}, "YAML 1.1"},
		{"flow sequence continued too little", "k:\n  a: [b,\n  c]\n", nil, []string{"3:3 yaml-indentation"}, "not indented past"},
		{"closing bracket left of its key", "k:\n  a: [b, c\n]\n", nil, []string{"3:1 yaml-indentation"}, "not indented past"},
		{"quoted string continued too little", "a: \"x\ny\"\n", nil, []string{"2:1 yaml-indentation"}, "quoted string"},
		{"explicit key glued in flow", "a: {?b: c}\n", nil, []string{"1:5 yaml-flow-token"}, "split this token differently"},
		{"colon before comma in flow", "a: {b:, c: d}\n", nil, []string{"1:6 yaml-flow-token"}, "split this token differently"},
		{"dash in flow", "a: [x, -]\n", nil, []string{"1:8 yaml-flow-token"}, "split this token differently"},
		{"anchor name with ?", "a: &v?x 1\n", nil, []string{"1:6 yaml-flow-token"}, "anchor or alias"},
		{"many duplicates one finding each", "a: 1\na: 2\na: 3\n", nil, []string{"2:1 yaml-duplicate-key", "3:1 yaml-duplicate-key"}, "already defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits()
			if tc.lim != nil {
				lim = *tc.lim
			}
			doc, diags := Parse("app.yml", []byte(tc.src), lim)
			var got []string
			for _, d := range diags {
				got = append(got, fmt.Sprintf("%d:%d %s", d.Pos.Line, d.Pos.Column, d.Rule))
				if d.File != "app.yml" || d.Severity != diag.Error {
					t.Errorf("finding %v: want file app.yml and severity error", d)
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Fatalf("Parse(%q) findings (-want +got):\n%s\nall: %v", tc.src, d, diags)
			}
			if !strings.Contains(diags[0].Message, tc.msg) {
				t.Errorf("message %q, want it to contain %q", diags[0].Message, tc.msg)
			}
			if doc.Value != nil {
				t.Errorf("Value = %v, want nil after an error", doc.Value)
			}
		})
	}
}

// bomb builds a "billion laughs" document: levels of n aliases each.
func bomb(levels, n int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < levels; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := 0; j < n; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	fmt.Fprintf(&b, "z: *a%d\n", levels-1)
	return b.String()
}

// TestYAML12Accepted holds inputs Takos's YAML reader accepts and yaml.v3
// alone would refuse or misread: the loader must read them as Takos does.
func TestYAML12Accepted(t *testing.T) {
	tests := []struct {
		name, src string
		want      any
		warn      string // rule of the one expected warning, or ""
	}{
		{"%YAML 1.2 directive", "%YAML 1.2\n---\na: 1\n", map[string]any{"a": json.Number("1")}, ""},
		{"U+2028 in a plain scalar", "a: x\u2028y\n", map[string]any{"a": "x\u2028y"}, ""},
		{"U+2029 in a key and a value", "k\u2029: 'v\u2029'\n", map[string]any{"k\u2029": "v\u2029"}, ""},
		{"CRLF line endings", "a: 1\r\nb: x\r\n", map[string]any{"a": json.Number("1"), "b": "x"}, ""},
		{"underscore integer stays text", "port: 1_000\n", map[string]any{"port": "1_000"}, RuleYAML12Scalar.ID},
		{"underscore integer in a list", "m: [1_0]\n", map[string]any{"m": []any{"1_0"}}, RuleYAML12Scalar.ID},
		{"binary stays text", "a: 0b11\n", map[string]any{"a": "0b11"}, RuleYAML12Scalar.ID},
		{"signed hex stays text", "a: -0x1F\n", map[string]any{"a": "-0x1F"}, RuleYAML12Scalar.ID},
		{"leading zero is decimal", "a: 012\n", map[string]any{"a": json.Number("12")}, RuleYAML12Scalar.ID},
		{"big integer rounds like JavaScript", "a: 12345678901234567890\n", map[string]any{"a": json.Number("12345678901234567000")}, RuleYAML12Scalar.ID},
		{"0o octal agrees", "a: 0o17\n", map[string]any{"a": json.Number("15")}, ""},
		{"hash inside a plain scalar", "a: b#c\n", map[string]any{"a": "b#c"}, ""},
		{"quote inside a multi-line plain scalar", "- KEY\n  - 'it''s\n", []any{"KEY - 'it''s"}, ""},
		{"closing bracket at the key's column", "a: [\n  b\n]\n", map[string]any{"a": []any{"b"}}, ""},
		{"comment line inside a flow", "a: [b, # c\n# d\n  e]\n", map[string]any{"a": []any{"b", "e"}}, ""},
		{"binary key is a string", "0b1: x\n", map[string]any{"0b1": "x"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, diags := Parse("app.yml", []byte(tc.src), DefaultLimits())
			var rules []string
			for _, d := range diags {
				if d.Severity == diag.Error {
					t.Fatalf("Parse(%q): unexpected error %v", tc.src, d)
				}
				rules = append(rules, d.Rule)
			}
			if want := strings.Fields(tc.warn); !cmp.Equal(want, rules, cmpopts.EquateEmpty()) {
				t.Errorf("warnings %v, want %v (%v)", rules, want, diags)
			}
			if d := cmp.Diff(tc.want, doc.Value); d != "" {
				t.Errorf("value (-want +got):\n%s", d)
			}
		})
	}
}

func TestPositions(t *testing.T) {
	src := minimal + `  oauth:
    clientName: Demo
    redirectUris:
      - https://app.example.com/cb
      - "http://localhost:3000/cb"
    "a/b~c": 1
    tagged: !!str yes
`
	doc, diags := Parse("app.yml", []byte(src), DefaultLimits())
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	tests := []struct {
		ptr      string
		pos, key diag.Pos
	}{
		{"", diag.Pos{Line: 1, Column: 1}, diag.Pos{Line: 1, Column: 1}},
		{"/spec/version", diag.Pos{Line: 6, Column: 12}, diag.Pos{Line: 6, Column: 3}},
		{"/spec/oauth/clientName", diag.Pos{Line: 8, Column: 17}, diag.Pos{Line: 8, Column: 5}},
		{"/spec/oauth/redirectUris/1", diag.Pos{Line: 11, Column: 9}, diag.Pos{Line: 11, Column: 9}},
		{Pointer("spec", "oauth", "a/b~c"), diag.Pos{Line: 12, Column: 14}, diag.Pos{Line: 12, Column: 5}},
		// Missing leaves resolve to the closest ancestor.
		{"/spec/oauth/scopes", diag.Pos{Line: 8, Column: 5}, diag.Pos{Line: 8, Column: 5}},
		{"/spec/oauth/redirectUris/7", diag.Pos{Line: 10, Column: 7}, diag.Pos{Line: 10, Column: 7}},
	}
	for _, tc := range tests {
		if got := doc.Pos(tc.ptr); got != tc.pos {
			t.Errorf("Pos(%q) = %v, want %v", tc.ptr, got, tc.pos)
		}
		if got := doc.KeyPos(tc.ptr); got != tc.key {
			t.Errorf("KeyPos(%q) = %v, want %v", tc.ptr, got, tc.key)
		}
	}
	if got := doc.Line(11); got != `      - "http://localhost:3000/cb"` {
		t.Errorf("Line(11) = %q", got)
	}
	for ptr, want := range map[string]bool{"/spec/version": true, "/spec/oauth/redirectUris/1": false, "/spec/oauth/tagged": false, "/spec/oauth": false, "/nope": false} {
		if _, ok := doc.Plain(ptr); ok != want {
			t.Errorf("Plain(%q) ok = %v, want %v", ptr, ok, want)
		}
	}
	if text, tag, ok := doc.Scalar("/spec/version"); !ok || text != "1.0.0" || tag != "!!str" {
		t.Errorf("Scalar(/spec/version) = %q, %q, %v", text, tag, ok)
	}
}

func TestPointerRoundTrip(t *testing.T) {
	for _, toks := range [][]string{nil, {"a"}, {"a/b", "~c", ""}, {"0", "x~1y"}} {
		p := Pointer(toks...)
		if got := SplitPointer(p); !cmp.Equal(got, toks) {
			t.Errorf("SplitPointer(Pointer(%q)) = %q (pointer %q)", toks, got, p)
		}
	}
}

func TestOAuth(t *testing.T) {
	src := minimal + `  oauth:
    clientName: Demo
    redirectUris: [https://a.example.com/cb, 5, https://b.example.com/cb]
    scopes: [openid, profile]
    autoEnv: true
    metadata:
      logoUri: https://a.example.com/logo.png
`
	doc, _ := Parse("app.yml", []byte(src), DefaultLimits())
	o, ok := doc.OAuth()
	if !ok {
		t.Fatal("OAuth() = false")
	}
	want := &OAuth{
		ClientName:   "Demo",
		RedirectURIs: []string{"https://a.example.com/cb", "https://b.example.com/cb"},
		Scopes:       []string{"openid", "profile"},
		AutoEnv:      true,
		AutoEnvSet:   true,
		LogoURI:      "https://a.example.com/logo.png",
	}
	if d := cmp.Diff(want, o); d != "" {
		t.Errorf("OAuth() (-want +got):\n%s", d)
	}
	// autoEnv false is set; absent or not a boolean (the schema's finding)
	// is not.
	for body, set := range map[string]bool{"autoEnv: false\n": true, "": false, "autoEnv: \"yes\"\n": false} {
		doc, _ = Parse("app.yml", []byte(minimal+"  oauth:\n    clientName: D\n    "+body), DefaultLimits())
		if o, ok := doc.OAuth(); !ok || o.AutoEnvSet != set || o.AutoEnv {
			t.Errorf("OAuth() with %q: AutoEnvSet %v, AutoEnv %v; want %v, false", body, o.AutoEnvSet, o.AutoEnv, set)
		}
	}
	doc, _ = Parse("app.yml", []byte(minimal+"  oauth: nope\n"), DefaultLimits())
	if _, ok := doc.OAuth(); ok {
		t.Error("OAuth() on a scalar oauth = true, want false")
	}
}

// corpus returns every manifest under testdata/manifests, the seeds of the
// fuzzer and the inputs of the golden tests.
func corpus(t testing.TB) map[string][]byte {
	files, err := filepath.Glob("../../testdata/manifests/*/*.y*ml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
	}
	return out
}

func FuzzParse(f *testing.F) {
	for _, b := range corpus(f) {
		f.Add(b)
	}
	f.Add([]byte(bomb(5, 9)))
	f.Add([]byte("a: &x {b: *x}\n"))
	f.Add([]byte("- [[[[[[[[]]]]]]]]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		lim := DefaultLimits()
		lim.MaxNodes = 20000
		doc, diags := Parse("f.yml", src, lim)
		if diags.HasErrors() && doc.Value != nil {
			t.Fatalf("value and errors at once: %v", diags)
		}
		for _, d := range diags {
			if d.Pos.Line < 1 || d.Pos.Column < 1 || d.Rule == "" || d.Message == "" {
				t.Fatalf("malformed finding %+v", d)
			}
		}
		if doc.Value != nil {
			// The value must be JSON-shaped: encoding/json accepts it.
			if _, err := json.Marshal(doc.Value); err != nil {
				t.Fatalf("value is not JSON-shaped: %v", err)
			}
			if _, err := Validate(doc); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("../../testdata/manifests/ok/oauth-app.yml")
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, d := Parse("app.yml", src, DefaultLimits()); d.HasErrors() {
			b.Fatal(d)
		}
	}
}
