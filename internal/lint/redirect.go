package lint

import (
	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// checkRedirectURIs runs package redirecturi over spec.oauth.redirectUris
// and positions its findings. Non-string elements are the schema's finding;
// they are skipped, but every finding keeps the index of the YAML list so
// its pointer and position name the right element. An empty list is passed
// on (redirecturi reports it, and Takos rejects it) and its finding is put
// on the list itself; a list of only non-strings is left to the schema.
func checkRedirectURIs(doc *manifest.Document, env string) diag.List {
	v, _ := doc.Get(manifest.PtrRedirectURIs)
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	var uris []string
	var at []int // at[j] is the YAML index of uris[j]
	for i, e := range list {
		if s, ok := e.(string); ok {
			uris = append(uris, s)
			at = append(at, i)
		}
	}
	if len(uris) == 0 && len(list) > 0 {
		return nil
	}
	var out diag.List
	for j, findings := range redirecturi.CheckList(uris, env) {
		p := manifest.PtrRedirectURIs // list-level findings
		if j < len(at) {
			p += "/" + idx(at[j])
		}
		for _, f := range findings {
			out = append(out, doc.Finding(p, f.Severity, f.Rule, f.Message))
		}
	}
	return out
}
