package lint

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// TestRedirectURIs checks the integration with package redirecturi: its
// findings reach Check's output at the pointer and position of the YAML
// element they are about, with non-string elements skipped but counted.
func TestRedirectURIs(t *testing.T) {
	t.Parallel()
	src := header + `spec:
  version: 1.0.0
  oauth:
    clientName: Demo
    redirectUris:
      - https://app.example.com/cb
      - 5
      - http://example.com/cb
    scopes: [openid]
`
	uris := []string{"https://app.example.com/cb", "http://example.com/cb"}
	yamlIndex := []int{0, 2}
	pos := []diag.Pos{{Line: 10, Column: 9}, {Line: 12, Column: 9}}
	for _, env := range []string{prod, dev} {
		t.Run(env, func(t *testing.T) {
			t.Parallel()
			got := Check(parse(t, src), Options{Env: env})
			var wantList, gotList []string
			for j, findings := range redirecturi.CheckList(uris, env) {
				p := manifest.PtrRedirectURIs + "/" + idx(yamlIndex[j])
				for _, f := range findings {
					wantList = append(wantList, diag.Diagnostic{File: "app.yml", Pos: pos[j], Severity: f.Severity, Rule: f.Rule.ID, Message: f.Message, Pointer: p}.String()+" "+p)
				}
			}
			for _, d := range got {
				gotList = append(gotList, d.String()+" "+d.Pointer)
			}
			if diff := cmp.Diff(wantList, gotList); diff != "" {
				t.Errorf("Check() redirect findings mismatch (-want +got):\n%s", diff)
			}
		})
	}
	// Whatever the redirect-URI rules say in detail, plain http to a public
	// host must be refused in production, at the element that has it.
	got := Check(parse(t, src), Options{Env: prod})
	var hit bool
	for _, d := range got {
		if d.Pointer != manifest.PtrRedirectURIs+"/2" {
			t.Errorf("Check() = %v, want findings only for /spec/oauth/redirectUris/2", d)
			continue
		}
		if d.Pos != (diag.Pos{Line: 12, Column: 9}) {
			t.Errorf("Check() finding %v at %d:%d, want 12:9", d, d.Pos.Line, d.Pos.Column)
		}
		if d.Severity == diag.Error && d.Rule == "redirect-uri-http" {
			hit = true
		}
	}
	if !hit {
		t.Errorf("Check() = %v, want an error for http://example.com/cb in production", got)
	}
}

func TestRedirectURIsSkipsNonLists(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"https://x.example.com/cb", "null", "{a: b}", "[5, null]"} {
		src := header + "spec:\n  version: 1.0.0\n  oauth:\n    clientName: Demo\n    redirectUris: " + v + "\n    scopes: [openid]\n"
		if got := Check(parse(t, src), Options{}); len(got) != 0 {
			t.Errorf("Check(redirectUris: %s) = %v, want no findings", v, got)
		}
	}
}

func TestRedirectURIsEmptyList(t *testing.T) {
	t.Parallel()
	src := header + "spec:\n  version: 1.0.0\n  oauth:\n    clientName: Demo\n    redirectUris: []\n    scopes: [openid]\n"
	got := Check(parse(t, src), Options{Env: prod})
	if len(got) != 1 {
		t.Fatalf("Check(redirectUris: []) = %v, want one finding", got)
	}
	d := got[0]
	if d.Pointer != manifest.PtrRedirectURIs || d.Pos != (diag.Pos{Line: 9, Column: 19}) || d.Severity != diag.Error {
		t.Errorf("Check(redirectUris: []) = %v (pointer %q), want an error at 9:19 for %s", d, d.Pointer, manifest.PtrRedirectURIs)
	}
}
