package lint

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/err/*.out from the current output")

// parse builds a document from YAML text, failing the test on any loader
// error so positions in findings are real.
func parse(t *testing.T, src string) *manifest.Document {
	t.Helper()
	doc, ds := manifest.Parse("app.yml", []byte(src), manifest.DefaultLimits())
	if ds.HasErrors() {
		t.Fatalf("manifest.Parse: %v\n%s", ds, src)
	}
	return doc
}

// want is one expected finding, identified by pointer, rule and severity.
type want struct {
	ptr  string
	rule *diag.Rule
	sev  diag.Severity
}

func (w want) String() string { return finding(w.ptr, w.rule.ID, w.sev) }

func finding(ptr, rule string, sev diag.Severity) string {
	return fmt.Sprintf("%s %s %s", ptr, rule, sev)
}

func summarize(l diag.List) []string {
	out := []string{}
	for _, d := range l {
		out = append(out, finding(d.Pointer, d.Rule, d.Severity))
	}
	slices.Sort(out)
	return out
}

func wantStrings(ws []want) []string {
	out := []string{}
	for _, w := range ws {
		out = append(out, w.String())
	}
	slices.Sort(out)
	return out
}

const header = "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: demo\n"

// oauthApp returns a manifest whose only content besides the envelope is an
// OAuth client; the given lines replace the defaults of the same field.
func oauthApp(clientName, scopes, metadata string) string {
	if clientName == "" {
		clientName = "Demo"
	}
	if scopes == "" {
		scopes = "[openid]"
	}
	s := header + "spec:\n  version: 1.0.0\n  oauth:\n" +
		"    clientName: " + clientName + "\n" +
		"    redirectUris: [https://demo.example.com/cb]\n" +
		"    scopes: " + scopes + "\n"
	if metadata != "" {
		s += "    metadata:\n      " + metadata + "\n"
	}
	return s
}

const (
	dev  = "development"
	prod = "production"
)

func sc(i int) string { return manifest.PtrScopes + "/" + fmt.Sprint(i) }

// envCase is one row of the table tests over the OAuth block: the
// manifest is oauthApp(clientName, scopes, metadata), checked in
// production (want) and development (wantDev, nil meaning the same).
type envCase struct {
	name       string
	clientName string   // YAML after "clientName: "; "" keeps Demo
	scopes     string   // YAML after "scopes: "; "" keeps [openid]
	metadata   string   // one line under metadata:, or ""
	catalog    []string // nil: DefaultScopes
	want       []want   // production
	wantDev    []want   // nil: same as want
	msg        string   // substring the first finding's message must contain
}

// runEnvCases runs each case in production and in development and compares
// the findings exactly (pointer, rule, severity).
func runEnvCases(t *testing.T, cases []envCase) {
	t.Helper()
	for _, tc := range cases {
		for _, env := range []string{prod, dev} {
			t.Run(tc.name+"/"+env, func(t *testing.T) {
				t.Parallel()
				doc := parse(t, oauthApp(tc.clientName, tc.scopes, tc.metadata))
				got := Check(doc, Options{Env: env, Scopes: tc.catalog})
				w := tc.want
				if env == dev && tc.wantDev != nil {
					w = tc.wantDev
				}
				in := fmt.Sprintf("clientName: %s, scopes: %s, metadata: %s", tc.clientName, tc.scopes, tc.metadata)
				if diff := cmp.Diff(wantStrings(w), summarize(got)); diff != "" {
					t.Fatalf("Check(%s) mismatch (-want +got):\n%s\nfindings: %v", in, diff, got)
				}
				if tc.msg != "" && !strings.Contains(got[0].Message, tc.msg) {
					t.Errorf("Check(%s)[0].Message = %q, want it to contain %q", in, got[0].Message, tc.msg)
				}
			})
		}
	}
}

var scopeCases = []envCase{
	{name: "identity scopes", scopes: "[openid, profile, email]"},
	{name: "single read", scopes: "[files:read]"},
	{name: "single write", scopes: "[files:write]"},
	{name: "agents execute", scopes: "[agents:execute]"},
	{name: "block list", scopes: "\n      - openid\n      - repos:write"},
	{name: "all fourteen", scopes: "[openid, profile, email, spaces:read, spaces:write, files:read, files:write, memories:read, memories:write, threads:read, threads:write, agents:execute, repos:read, repos:write]",
		want: []want{{sc(3), ruleScopeImpliedRead, diag.Info}, {sc(5), ruleScopeImpliedRead, diag.Info}, {sc(7), ruleScopeImpliedRead, diag.Info}, {sc(9), ruleScopeImpliedRead, diag.Info}, {sc(12), ruleScopeImpliedRead, diag.Info}}},
	{name: "read then write", scopes: "[files:read, files:write]", want: []want{{sc(0), ruleScopeImpliedRead, diag.Info}}, msg: `implied by "files:write"`},
	{name: "write then read", scopes: "[threads:write, threads:read]", want: []want{{sc(1), ruleScopeImpliedRead, diag.Info}}},
	{name: "read and write of different resources", scopes: "[files:read, repos:write]"},
	{name: "runs read", scopes: "[runs:read]", want: []want{{sc(0), ruleScopeRuns, diag.Error}}, msg: "Takos docs"},
	{name: "runs write", scopes: "[openid, runs:write]", want: []want{{sc(1), ruleScopeRuns, diag.Error}}, msg: "rejects"},
	{name: "runs read and write", scopes: "[runs:read, runs:write]", want: []want{{sc(0), ruleScopeRuns, diag.Error}, {sc(1), ruleScopeRuns, diag.Error}}},
	{name: "runs allowed by a custom catalogue", scopes: "[runs:read]", catalog: []string{"openid", "runs:read"}},
	{name: "unknown near miss", scopes: "[file:read]", want: []want{{sc(0), ruleScopeUnknown, diag.Error}}, msg: `did you mean "files:read"`},
	{name: "unknown plural", scopes: "[repo:write]", want: []want{{sc(0), ruleScopeUnknown, diag.Error}}, msg: `did you mean "repos:write"`},
	{name: "unknown case", scopes: "[Files:Read]", want: []want{{sc(0), ruleScopeUnknown, diag.Error}}, msg: `case-sensitive, so write "files:read"`},
	{name: "unknown admin", scopes: "[spaces:admin]", want: []want{{sc(0), ruleScopeUnknown, diag.Error}}},
	{name: "unknown wildcard", scopes: `["*"]`, want: []want{{sc(0), ruleScopeUnknown, diag.Error}}},
	{name: "unknown offline access", scopes: "[openid, offline_access]", want: []want{{sc(1), ruleScopeUnknown, diag.Error}}},
	{name: "unknown identity typo", scopes: "[opneid]", want: []want{{sc(0), ruleScopeUnknown, diag.Error}}, msg: `did you mean "openid"`},
	{name: "unknown in a custom catalogue", scopes: "[files:read]", catalog: []string{"openid", "files:write"}, want: []want{{sc(0), ruleScopeUnknown, diag.Error}}, msg: `did you mean "files:write"`},
	{name: "empty catalogue", scopes: "[openid]", catalog: []string{}, want: []want{{sc(0), ruleScopeUnknown, diag.Error}}, msg: "supports no scopes"},
	{name: "write unknown to catalogue implies nothing", scopes: "[files:read, files:write]", catalog: []string{"files:read"}, want: []want{{sc(1), ruleScopeUnknown, diag.Error}}},
	{name: "exact duplicate", scopes: "[openid, openid]", want: []want{{sc(1), ruleScopeDuplicate, diag.Warning}}, msg: "already listed at line 10"},
	{name: "triplicate", scopes: "[email, email, email]", want: []want{{sc(1), ruleScopeDuplicate, diag.Warning}, {sc(2), ruleScopeDuplicate, diag.Warning}}},
	{name: "duplicate unknown reported once as unknown", scopes: "[foo, foo]", want: []want{{sc(0), ruleScopeUnknown, diag.Error}, {sc(1), ruleScopeDuplicate, diag.Warning}}},
	{name: "duplicate runs", scopes: "[runs:read, runs:read]", want: []want{{sc(0), ruleScopeRuns, diag.Error}, {sc(1), ruleScopeDuplicate, diag.Warning}}},
	{name: "duplicate read with write", scopes: "[repos:read, repos:write, repos:read]", want: []want{{sc(0), ruleScopeImpliedRead, diag.Info}, {sc(2), ruleScopeDuplicate, diag.Warning}}},
	{name: "case variant after known", scopes: "[files:read, Files:read]", want: []want{{sc(1), ruleScopeCaseDuplicate, diag.Warning}, {sc(1), ruleScopeUnknown, diag.Error}}, msg: `case-sensitive, so write "files:read"`},
	{name: "case variant before known", scopes: "[OpenID, openid]", want: []want{{sc(0), ruleScopeUnknown, diag.Error}, {sc(1), ruleScopeCaseDuplicate, diag.Warning}}},
	{name: "case variants in a custom catalogue", scopes: "[Read, read]", catalog: []string{"Read", "read"}, want: []want{{sc(1), ruleScopeCaseDuplicate, diag.Warning}}},
	{name: "empty list", scopes: "[]", want: []want{{manifest.PtrScopes, ruleScopeEmpty, diag.Error}}, msg: "invalid_scope"},
	{name: "space inside a scope", scopes: `["files:read files:write"]`, want: []want{{sc(0), ruleScopeGrammar, diag.Error}}, msg: "a space"},
	{name: "double quote", scopes: `['files"read']`, want: []want{{sc(0), ruleScopeGrammar, diag.Error}}, msg: "double quote"},
	{name: "backslash", scopes: `['files\read']`, want: []want{{sc(0), ruleScopeGrammar, diag.Error}}, msg: "backslash"},
	{name: "non-ASCII", scopes: "[fïles:read]", want: []want{{sc(0), ruleScopeGrammar, diag.Error}}, msg: "U+00EF"},
	{name: "tab", scopes: `["files:read\t"]`, want: []want{{sc(0), ruleScopeGrammar, diag.Error}}, msg: "U+0009"},
	{name: "empty string", scopes: `[openid, ""]`, want: []want{{sc(1), ruleScopeGrammar, diag.Error}}, msg: "empty string"},
	{name: "grammar error is not also unknown", scopes: `["bad scope"]`, want: []want{{sc(0), ruleScopeGrammar, diag.Error}}},
	{name: "non-string elements are the schema's", scopes: "[openid, 5, null, true]"},
	{name: "indexes stay right past non-strings", scopes: "[5, runs:read]", want: []want{{sc(1), ruleScopeRuns, diag.Error}}},
	{name: "scalar is the schema's", scopes: "openid profile"},
	{name: "mapping is the schema's", scopes: "{openid: true}"},
	{name: "null is the schema's", scopes: "null"},
	{name: "long unknown scope is cut in the message", scopes: "[" + strings.Repeat("x", 300) + "]",
		want: []want{{sc(0), ruleScopeUnknown, diag.Error}}, msg: `unknown scope "` + strings.Repeat("x", maxQuoted) + `"… is rejected`},
	{name: "invisible character is escaped in the message", scopes: `["files:read\u200B"]`,
		want: []want{{sc(0), ruleScopeGrammar, diag.Error}}, msg: `scope "files:read\u200b" contains`},
	{name: "mixed", scopes: "[openid, runs:write, threads:write, threads:read, threads:write]",
		want: []want{{sc(1), ruleScopeRuns, diag.Error}, {sc(3), ruleScopeImpliedRead, diag.Info}, {sc(4), ruleScopeDuplicate, diag.Warning}}},
}

func TestScopes(t *testing.T) {
	t.Parallel()
	runEnvCases(t, scopeCases)
}

func TestScopesMissingBlockOrList(t *testing.T) {
	t.Parallel()
	for name, src := range map[string]string{
		"no oauth":      header + "spec:\n  version: 1.0.0\n",
		"oauth null":    header + "spec:\n  version: 1.0.0\n  oauth: null\n",
		"oauth list":    header + "spec:\n  version: 1.0.0\n  oauth: [a]\n",
		"no scopes key": header + "spec:\n  version: 1.0.0\n  oauth:\n    clientName: Demo\n",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := Check(parse(t, src), Options{}); len(got) != 0 {
				t.Errorf("Check(%s) = %v, want no findings", name, got)
			}
		})
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"file:read", "files:read"},
		{"files:reed", "files:read"},
		{"FILES:WRITE", "files:write"},
		{"space:read", "spaces:read"},
		{"memory:write", "memories:write"},
		{"agent:execute", "agents:execute"},
		{"profil", "profile"},
		{"e-mail", "email"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := closest(tc.in, DefaultScopes()); got != tc.want {
				t.Errorf("closest(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDefaultScopes(t *testing.T) {
	t.Parallel()
	got := DefaultScopes()
	if len(got) != 14 {
		t.Fatalf("len(DefaultScopes()) = %d, want 14", len(got))
	}
	for _, s := range []string{"runs:read", "runs:write"} {
		if slices.Contains(got, s) {
			t.Errorf("DefaultScopes() contains %q, which the Takos OAuth server rejects", s)
		}
	}
	got[0] = "mutated"
	if DefaultScopes()[0] != "openid" {
		t.Errorf("DefaultScopes()[0] = %q after mutating a returned slice, want openid", DefaultScopes()[0])
	}
}

const (
	logoP   = manifest.PtrLogoURI
	tosP    = manifest.PtrTOSURI
	policyP = manifest.PtrPolicyURI
	nameP   = manifest.PtrClientName
)

var metaCases = []envCase{
	{name: "https logo", metadata: "logoUri: https://demo.example.com/logo.png"},
	{name: "https tos with fragment", metadata: "tosUri: https://demo.example.com/terms#use"},
	{name: "https policy with query and port", metadata: "policyUri: https://demo.example.com:8443/privacy?lang=en"},
	{name: "http logo", metadata: "logoUri: http://demo.example.com/logo.png",
		want: []want{{logoP, ruleMetadataURIHTTPS, diag.Error}}, wantDev: []want{{logoP, ruleMetadataURIHTTPS, diag.Warning}}, msg: "https"},
	{name: "http tos", metadata: "tosUri: http://demo.example.com/terms",
		want: []want{{tosP, ruleMetadataURIHTTPS, diag.Error}}, wantDev: []want{{tosP, ruleMetadataURIHTTPS, diag.Warning}}},
	{name: "uppercase HTTP scheme", metadata: "policyUri: HTTP://demo.example.com/p",
		want: []want{{policyP, ruleMetadataURIHTTPS, diag.Error}}, wantDev: []want{{policyP, ruleMetadataURIHTTPS, diag.Warning}}},
	{name: "http localhost in development", metadata: "logoUri: http://localhost:8080/logo.png",
		want:    []want{{logoP, ruleMetadataURIHTTPS, diag.Error}, {logoP, ruleMetadataURIHost, diag.Warning}},
		wantDev: []want{{logoP, ruleMetadataURIHTTPS, diag.Warning}, {logoP, ruleMetadataURIHost, diag.Warning}}},
	{name: "empty", metadata: `logoUri: ""`, want: []want{{logoP, ruleMetadataURIInvalid, diag.Error}}, msg: "empty"},
	{name: "relative", metadata: "logoUri: logo.png", want: []want{{logoP, ruleMetadataURIInvalid, diag.Error}}, msg: "not an absolute URL"},
	{name: "scheme-relative", metadata: "tosUri: //demo.example.com/terms", want: []want{{tosP, ruleMetadataURIInvalid, diag.Error}}},
	{name: "opaque https", metadata: "policyUri: https:demo.example.com", want: []want{{policyP, ruleMetadataURIInvalid, diag.Error}}, msg: "no host"},
	{name: "empty host", metadata: "policyUri: https:///privacy", want: []want{{policyP, ruleMetadataURIInvalid, diag.Error}}},
	{name: "unparsable", metadata: `logoUri: "https://demo.example.com:port/x"`, want: []want{{logoP, ruleMetadataURIInvalid, diag.Error}}, msg: `logoUri "https://demo.example.com:port/x" is not a valid URL`},
	{name: "non-ASCII host", metadata: "tosUri: https://bücher.example/terms", want: []want{{tosP, ruleMetadataURIInvalid, diag.Error}}, msg: "punycode"},
	{name: "data logo", metadata: `logoUri: "data:image/png;base64,iVBORw0KGgo="`, want: []want{{logoP, ruleMetadataURIScheme, diag.Error}}, msg: "data:"},
	{name: "javascript policy", metadata: `policyUri: "javascript:alert(1)"`, want: []want{{policyP, ruleMetadataURIScheme, diag.Error}}, msg: "javascript:"},
	{name: "ftp tos", metadata: "tosUri: ftp://demo.example.com/terms", want: []want{{tosP, ruleMetadataURIScheme, diag.Error}}, wantDev: []want{{tosP, ruleMetadataURIScheme, diag.Error}}},
	{name: "userinfo", metadata: "logoUri: https://user:pw@demo.example.com/logo.png", want: []want{{logoP, ruleMetadataURIUserinfo, diag.Error}}},
	{name: "userinfo without password", metadata: "tosUri: https://admin@demo.example.com/terms", want: []want{{tosP, ruleMetadataURIUserinfo, diag.Error}}},
	{name: "svg logo", metadata: "logoUri: https://demo.example.com/logo.svg", want: []want{{logoP, ruleMetadataLogoSVG, diag.Warning}}, msg: "SVG"},
	{name: "svg logo uppercase with query", metadata: "logoUri: https://demo.example.com/LOGO.SVG?v=2", want: []want{{logoP, ruleMetadataLogoSVG, diag.Warning}}},
	{name: "svg tos is fine", metadata: "tosUri: https://demo.example.com/terms.svg"},
	{name: "svg only in the query is fine", metadata: "logoUri: https://demo.example.com/logo?f=a.svg"},
	{name: "ipv4 host", metadata: "logoUri: https://203.0.113.7/logo.png", want: []want{{logoP, ruleMetadataURIHost, diag.Warning}}},
	{name: "ipv6 loopback host", metadata: "logoUri: https://[::1]/logo.png", want: []want{{logoP, ruleMetadataURIHost, diag.Warning}}},
	{name: "localhost", metadata: "tosUri: https://localhost/terms", want: []want{{tosP, ruleMetadataURIHost, diag.Warning}}, wantDev: []want{{tosP, ruleMetadataURIHost, diag.Warning}}},
	{name: "dot localhost", metadata: "policyUri: https://app.LOCALHOST/privacy", want: []want{{policyP, ruleMetadataURIHost, diag.Warning}}},
	{name: "localhost with trailing dot", metadata: "tosUri: https://localhost./terms", want: []want{{tosP, ruleMetadataURIHost, diag.Warning}}, msg: `points at "localhost."`},
	{name: "dot localhost with trailing dot", metadata: "logoUri: https://app.localhost./logo.png", want: []want{{logoP, ruleMetadataURIHost, diag.Warning}}},
	{name: "localhost look-alike is a public name", metadata: "logoUri: https://localhost.example.com/logo.png"},
	{name: "line separator", metadata: `tosUri: "https://demo.example.com/te\u2028rms"`, want: []want{{tosP, ruleMetadataURIWhitespace, diag.Error}}, msg: "U+2028"},
	{name: "soft hyphen", metadata: `tosUri: "https://demo.exam\u00ADple.com/terms"`, want: []want{{tosP, ruleMetadataURIWhitespace, diag.Error}}, msg: "U+00AD"},
	{name: "space in path", metadata: `logoUri: "https://demo.example.com/my logo.png"`, want: []want{{logoP, ruleMetadataURIWhitespace, diag.Error}}},
	{name: "leading space", metadata: `tosUri: " https://demo.example.com/terms"`, want: []want{{tosP, ruleMetadataURIWhitespace, diag.Error}}},
	{name: "zero width space", metadata: `policyUri: "https://demo.exa\u200Bmple.com/p"`, want: []want{{policyP, ruleMetadataURIWhitespace, diag.Error}}, msg: "U+200B"},
	{name: "newline", metadata: `logoUri: "https://demo.example.com/\nlogo.png"`, want: []want{{logoP, ruleMetadataURIWhitespace, diag.Error}}},
	{name: "non-string is the schema's", metadata: "logoUri: 5"},
	{name: "name plain", clientName: "Takos Notes"},
	{name: "name unicode", clientName: "ノート帳 – Notes"},
	{name: "name empty", clientName: `""`, want: []want{{nameP, ruleClientNameEmpty, diag.Error}}},
	{name: "name spaces only", clientName: `"   "`, want: []want{{nameP, ruleClientNameEmpty, diag.Error}}, wantDev: []want{{nameP, ruleClientNameEmpty, diag.Error}}},
	{name: "name newline", clientName: `"Demo\nApp"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "line break"},
	{name: "name block scalar", clientName: "|\n      Demo", want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "line break"},
	{name: "name line separator", clientName: `"Demo\u2028App"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "line break"},
	{name: "name right-to-left override", clientName: `"Demo\u202Eppa"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "bidirectional"},
	{name: "name isolate", clientName: `"Demo\u2066x\u2069"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "bidirectional"},
	{name: "name zero width space", clientName: `"De\u200Bmo"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "invisible"},
	{name: "name soft hyphen", clientName: `"De\u00ADmo"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "an invisible format character (U+00AD)"},
	{name: "name arabic letter mark", clientName: `"Demo\u061C"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "bidirectional"},
	{name: "name paragraph separator", clientName: `"Demo\u2029App"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "line break"},
	{name: "name tab", clientName: `"Demo\tApp"`, want: []want{{nameP, ruleClientNameControl, diag.Error}}, msg: "control character"},
	{name: "name 128 characters", clientName: strings.Repeat("a", 128)},
	{name: "name 129 characters", clientName: strings.Repeat("a", 129), want: []want{{nameP, ruleClientNameLength, diag.Warning}}, msg: "129"},
	{name: "name 128 multibyte characters", clientName: strings.Repeat("é", 128)},
	{name: "name 129 multibyte characters", clientName: strings.Repeat("é", 129), want: []want{{nameP, ruleClientNameLength, diag.Warning}}},
	{name: "name long with a line break", clientName: `"` + strings.Repeat("a", 130) + `\n"`, want: []want{{nameP, ruleClientNameControl, diag.Error}, {nameP, ruleClientNameLength, diag.Warning}}},
	{name: "name number is the schema's", clientName: "5"},
}

func TestMetadataAndClientName(t *testing.T) {
	t.Parallel()
	runEnvCases(t, metaCases)
}

// TestEnvironmentIsClassifiedOnce checks that the metadata rules and the
// redirect-URI rules read the deploy environment the same way: with
// " development" both once disagreed. Each env is classified by
// redirecturi.Development alone (its own tests pin which names are
// development); here both kinds of rule must follow it.
func TestEnvironmentIsClassifiedOnce(t *testing.T) {
	t.Parallel()
	src := header + `spec:
  version: 1.0.0
  oauth:
    clientName: Demo
    redirectUris: [http://127.0.0.1:8080/cb]
    scopes: [openid]
    metadata:
      logoUri: http://demo.example.com/logo.png
`
	doc := parse(t, src)
	for _, tc := range []struct {
		env string
		dev bool
	}{
		{"", false}, {"production", false}, {"prod", false}, {"staging", false}, {"develop", false}, {"devel", false},
		{"development", true}, {"dev", true}, {"local", true}, {"test", true}, {"TEST", true},
		{" development", true}, {" Development ", true}, {"dev\n", true},
	} {
		if got := redirecturi.Development(tc.env); got != tc.dev {
			t.Errorf("redirecturi.Development(%q) = %v, want %v", tc.env, got, tc.dev)
		}
		wantLogo, wantLoopback := diag.Error, diag.Warning
		if tc.dev {
			wantLogo, wantLoopback = diag.Warning, diag.Info
		}
		var logo, loopback []diag.Severity
		for _, d := range Check(doc, Options{Env: tc.env}) {
			switch d.Rule {
			case ruleMetadataURIHTTPS.ID:
				logo = append(logo, d.Severity)
			case "redirect-uri-loopback":
				loopback = append(loopback, d.Severity)
			}
		}
		if len(logo) != 1 || logo[0] != wantLogo || len(loopback) != 1 || loopback[0] != wantLoopback {
			t.Errorf("Check(Env: %q): %s %v and redirect-uri-loopback %v, want [%v] and [%v]",
				tc.env, ruleMetadataURIHTTPS, logo, loopback, wantLogo, wantLoopback)
		}
	}
}

// goldenEnv reads the environment of a golden input from an optional first
// line "# env: NAME"; the default is production.
func goldenEnv(src []byte) string {
	first, _, _ := strings.Cut(string(src), "\n")
	if env, ok := strings.CutPrefix(first, "# env: "); ok {
		return strings.TrimSpace(env)
	}
	return prod
}

func render(l diag.List) string {
	var b strings.Builder
	for _, d := range l {
		fmt.Fprintf(&b, "%d:%d: %s: %s [%s]\n", d.Pos.Line, d.Pos.Column, d.Severity, d.Message, d.Rule)
	}
	return b.String()
}

func TestGoldenErr(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/err/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob testdata/err/*.yml = %v, %v; want files", files, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			doc := parse(t, string(src))
			got := Check(doc, Options{Env: goldenEnv(src)})
			if len(got) == 0 {
				t.Fatalf("Check(%s) found nothing; an err/ input must trigger rules", f)
			}
			for _, d := range got {
				if d.Pos.Line < 1 || d.Pos.Column < 1 || d.File != "app.yml" {
					t.Errorf("Check(%s) finding %v has no real position", f, d)
				}
			}
			// Rules walk mappings in Go's random order; Check's sort is
			// what makes its output a function of the document.
			if !slices.IsSortedFunc(got, diag.Compare) {
				t.Errorf("Check(%s) is not sorted by diag.Compare:\n%s", f, render(got))
			}
			for range 5 {
				if again := Check(doc, Options{Env: goldenEnv(src)}); !reflect.DeepEqual(again, got) {
					t.Fatalf("Check(%s) is not deterministic:\n%s\nthen\n%s", f, render(got), render(again))
				}
			}
			out := strings.TrimSuffix(f, ".yml") + ".out"
			if *update {
				if err := os.WriteFile(out, []byte(render(got)), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantOut, err := os.ReadFile(out)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update to create it): %v", err)
			}
			if diff := cmp.Diff(string(wantOut), render(got)); diff != "" {
				t.Errorf("Check(%s) mismatch with %s (-want +got):\n%s", f, out, diff)
			}
		})
	}
}

func TestGoldenOK(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/ok/*.yml")
	if err != nil || len(files) == 0 {
		t.Fatalf("glob testdata/ok/*.yml = %v, %v; want files", files, err)
	}
	for _, f := range files {
		for _, env := range []string{prod, dev} {
			t.Run(filepath.Base(f)+"/"+env, func(t *testing.T) {
				t.Parallel()
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				if got := Check(parse(t, string(src)), Options{Env: env}); len(got) != 0 {
					t.Errorf("Check(%s) = \n%s; want no findings", f, render(got))
				}
			})
		}
	}
}

// goldenRules returns the rule IDs the golden outputs expect.
func goldenRules(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("testdata/err/*.out")
	rules := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if i := strings.LastIndex(line, " ["); i >= 0 {
				rules[strings.TrimSuffix(line[i+2:], "]")] = true
			}
		}
	}
	return rules
}

// TestEveryRuleIsTriggered checks the rule set against the tests: each
// rule of Rules() is expected by at least one table case or golden output
// (and those tests compare findings exactly, so the rule really fires), and
// no test expects a rule the rule set does not declare.
func TestEveryRuleIsTriggered(t *testing.T) {
	t.Parallel()
	triggered := goldenRules(t)
	table := map[string]bool{}
	expect := func(ws []want) {
		for _, w := range ws {
			table[w.rule.ID] = true
		}
	}
	for _, tc := range slices.Concat(scopeCases, metaCases) {
		expect(tc.want)
		expect(tc.wantDev)
	}
	for _, tc := range refCases {
		expect(tc.want)
	}
	for _, tc := range suppressCases {
		expect(tc.want)
	}
	registry := map[string]bool{}
	for _, r := range Rules() {
		if registry[r.ID] {
			t.Errorf("Rules() lists %q twice", r.ID)
		}
		registry[r.ID] = true
		if r.Summary == "" || r.HelpURL == "" {
			t.Errorf("Rules() entry %q has an empty summary or help URL", r.ID)
		}
		if !table[r.ID] {
			t.Errorf("rule %q has no triggering table case", r.ID)
		}
		if !triggered[r.ID] {
			t.Errorf("rule %q appears in no testdata/err/*.out golden file", r.ID)
		}
	}
	for id := range table {
		if !registry[id] {
			t.Errorf("table tests expect rule %q, which Rules() does not list", id)
		}
	}
	for id := range triggered {
		if !registry[id] && !strings.HasPrefix(id, "redirect-uri") {
			t.Errorf("golden files expect rule %q, which Rules() does not list", id)
		}
	}
}

// TestNoPanicOnWrongTypes replaces every value of a complete manifest, one
// at a time, with values of every JSON type: the schema reports wrong
// types, and Check must skip them without panicking. Each mutated value is
// written back to YAML and parsed again, so Check runs as in production,
// over a document with a node tree: positions, Plain and the yaml11 rule
// run on the mutated shapes too.
func TestNoPanicOnWrongTypes(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/ok/complete.yml")
	if err != nil {
		t.Fatal(err)
	}
	base := parse(t, string(src))
	var ptrs []string
	var walk func(v any, p string)
	walk = func(v any, p string) {
		ptrs = append(ptrs, p)
		switch t := v.(type) {
		case map[string]any:
			for k, e := range t {
				walk(e, p+manifest.Pointer(k))
			}
		case []any:
			for i, e := range t {
				walk(e, fmt.Sprintf("%s/%d", p, i))
			}
		}
	}
	walk(base.Value, "")
	if len(ptrs) < 150 {
		t.Fatalf("walked %d values of complete.yml, want at least 150", len(ptrs))
	}
	findings := map[string]int{} // rule → count over all runs
	replacements := []any{nil, "", "x", "yes", "{{", json.Number("1"), json.Number("-1.5"), true, []any{}, []any{nil, "x", json.Number("2")}, map[string]any{}, map[string]any{"x": nil}}
	for _, p := range ptrs {
		for _, r := range replacements {
			v := set(deepCopy(base.Value), manifest.SplitPointer(p), r)
			out, err := yaml.Marshal(yamlValue(v))
			if err != nil {
				t.Fatalf("yaml.Marshal(complete.yml with %s = %#v): %v", p, r, err)
			}
			doc, ds := manifest.Parse("app.yml", out, manifest.DefaultLimits())
			if doc == nil {
				t.Fatalf("manifest.Parse(complete.yml with %s = %#v) returned no document", p, r)
			}
			// Only a replaced root may be refused (the loader wants a
			// mapping); anywhere else the round trip must give back the
			// mutated value, or the test would check another document.
			if p != "" {
				if ds.HasErrors() {
					t.Fatalf("manifest.Parse(complete.yml with %s = %#v) = %v\n%s", p, r, ds, out)
				}
				if !reflect.DeepEqual(v, doc.Value) {
					t.Fatalf("complete.yml with %s = %#v does not survive YAML (-want +got):\n%s", p, r, cmp.Diff(v, doc.Value))
				}
			}
			var got diag.List
			func() {
				defer func() {
					if e := recover(); e != nil {
						t.Fatalf("Check with %s = %#v panicked: %v", p, r, e)
					}
				}()
				got = Check(doc, Options{})
			}()
			for _, d := range got {
				findings[d.Rule]++
				if d.Pos.Line < 1 || d.Pos.Column < 1 || d.Pointer == "" && p != "" {
					t.Errorf("Check with %s = %#v: finding %v (pointer %q) has no real position or pointer", p, r, d, d.Pointer)
				}
			}
		}
	}
	// The mutations must reach the rules, or "no panic" proves little:
	// the yaml11 rule (through Document.Plain) and the reference rules
	// must have reported something at real positions.
	for _, rule := range []*diag.Rule{ruleYAML11Boolean, ruleRouteTarget, ruleEnvInjectBraces, ruleScopeGrammar} {
		if findings[rule.ID] == 0 {
			t.Errorf("no mutation of complete.yml produced a %s finding; findings per rule: %v", rule, findings)
		}
	}
}

// yamlValue prepares a JSON-shaped value for yaml.Marshal, which would
// write a json.Number as a quoted string: numbers become plain scalars
// spelled as in the value, so parsing gives back the same json.Number.
// YAML 1.1 boolean words are written plain too.
func yamlValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = yamlValue(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = yamlValue(e)
		}
		return s
	case json.Number:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: t.String()}
	case string:
		if yaml11Bool(t) {
			// Marshal would quote it; written plain, it feeds the
			// yaml11-boolean rule as a user's "yes" would.
			return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: t}
		}
	}
	return v
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}

// set replaces the value at tokens inside v and returns the new root.
func set(v any, tokens []string, r any) any {
	if len(tokens) == 0 {
		return r
	}
	switch t := v.(type) {
	case map[string]any:
		t[tokens[0]] = set(t[tokens[0]], tokens[1:], r)
	case []any:
		var i int
		fmt.Sscan(tokens[0], &i)
		t[i] = set(t[i], tokens[1:], r)
	}
	return v
}

func TestCheckNilDocument(t *testing.T) {
	t.Parallel()
	if got := Check(nil, Options{}); got != nil {
		t.Errorf("Check(nil) = %v, want nil", got)
	}
	if got := Check(&manifest.Document{Path: "app.yml"}, Options{}); got != nil {
		t.Errorf("Check(no value) = %v, want nil", got)
	}
	for _, v := range []any{"text", json.Number("1"), true, []any{"a"}, map[string]any{"spec": "x"}, map[string]any{"spec": []any{}}} {
		if got := Check(&manifest.Document{Path: "app.yml", Value: v}, Options{}); len(got) != 0 {
			t.Errorf("Check(Value: %#v) = %v, want no findings", v, got)
		}
	}
}
