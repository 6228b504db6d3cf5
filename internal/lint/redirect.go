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
func (c *checker) checkRedirectURIs() {
	v, _ := c.doc.Get(manifest.PtrRedirectURIs)
	list, ok := v.([]any)
	if !ok {
		return
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
		return
	}
	redirecturi.CheckListFunc(uris, c.env, func(j int, r *diag.Rule, msg func() string) {
		p := manifest.PtrRedirectURIs // list-level findings
		if j < len(at) {
			p += "/" + idx(at[j])
		}
		c.report(r, p, msg)
	})
}
