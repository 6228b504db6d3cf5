package lint

import (
	"sync"

	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// catalog is built once: the rule sets are literals, so a conflict between
// them panics in every test run rather than in a user's.
var catalog = sync.OnceValue(func() *diag.Catalog {
	return diag.MustCatalog(manifest.Rules(), rules.Rules(), fileRules.Rules(), redirecturi.Rules())
})

// Catalog returns every rule a lint run can report: the loader's and the
// schema's (manifest.Load), this package's (the rules and the file rules)
// and the redirect-URI checker's.
func Catalog() *diag.Catalog { return catalog() }
