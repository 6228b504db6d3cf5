// Package layering holds the test that keeps the module's imports pointing
// one way (README "Development"):
//
//	cmd → cli → report → {reconcile, lint, controlplane, auth, export} → manifest → {diag, schema}
//
// Nothing imports upward, siblings do not import each other, and only the
// packages that talk to the network import httpx (no lint → httpx).
package layering

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/takos-dev/takos-apply/"

// rank orders the module's packages: a package may import only packages of
// a lower rank. Equal ranks are siblings, which may not import each other.
// A new package gets a row here; the test fails until it has one.
var rank = map[string]int{
	"cmd/takos-apply":       90,
	"examples/hello/webapp": 90, // the README's example app (golang.org/x/oauth2 only)
	"internal/cli":          80,
	"internal/report":       70,
	"internal/broker":       65, // a token-exchange service built on controlplane and oauthmeta
	"internal/appenv":       62, // autoEnv: the credentials in the app's space and its workers' links, over controlplane and reconcile
	"internal/reconcile":    60,
	"internal/lint":         60,
	"internal/controlplane": 60,
	"internal/devserver":    60, // the one fake Takos: takos-apply dev, and every test
	"internal/auth":         60,
	"internal/export":       60,
	"internal/oauthmeta":    55, // one authorization-server discovery for auth, controlplane and broker
	"internal/brokerstate":  55, // the broker's replay cache and rate limit, in memory or in Redis
	"internal/httpx":        50, // transport under controlplane and auth
	"internal/redirecturi":  50, // the redirect-URI checker under lint
	"internal/promtext":     50, // the Prometheus text format of the broker's /metrics
	"pkg/manifest":          40,
	"schema":                30,
	"pkg/diag":              20, // findings and the rule catalogue: everyone's vocabulary, schema's too
	"internal/jsonptr":      10,
	"internal/fuzzy":        10,
	"internal/safetext":     10,
	"internal/oauthwire":    10, // OAuth URNs, error codes and the RFC 6749 §5.2 error body: client, broker and fakes
	"internal/layering":     100,
}

// onlyFrom restricts who may import a package beyond rank: static checks
// never reach the network, so only the network clients (and the wiring)
// import httpx.
var onlyFrom = map[string][]string{
	"internal/httpx": {"internal/controlplane", "internal/auth", "internal/oauthmeta", "internal/broker", "internal/cli"},
}

// layerOf returns the rank of a package. A fake next to a package
// (devserver/devservertest) ranks with it: it may import the package
// it fakes and what that package may import.
func layerOf(pkg string) (int, bool) {
	if r, ok := rank[pkg]; ok {
		return r, true
	}
	if testHelpers[pkg] {
		return 95, true // above everything: tests only
	}
	dir, base := filepath.Dir(pkg), filepath.Base(pkg)
	if base == filepath.Base(dir)+"test" {
		if r, ok := rank[dir]; ok {
			return r, true
		}
	}
	return 0, false
}

// testHelpers are fixture packages for tests that fake no single package.
var testHelpers = map[string]bool{
	"internal/hostiletest":   true, // hostile inputs for the injection tests
	"internal/realtakostest": true, // where the real Takos of the opt-in tests runs
}

func isTestHelper(pkg string) bool {
	dir := filepath.Dir(pkg)
	return testHelpers[pkg] || filepath.Base(pkg) == filepath.Base(dir)+"test"
}

// edge is one import of a module package by a Go file of the module.
type edge struct {
	from, to string
	file     string
	inTest   bool
}

// moduleImports parses the imports of every Go file of the module (paths
// relative, with slashes), skipping testdata and hidden directories.
func moduleImports(t *testing.T, root string) (pkgs map[string]bool, edges []edge) {
	t.Helper()
	pkgs = map[string]bool{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (n == "testdata" || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); path != root && err == nil {
				return filepath.SkipDir // another module (deploy/check): not part of this one's graph
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		from := filepath.ToSlash(rel)
		pkgs[from] = true
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			if to, ok := strings.CutPrefix(p, module); ok {
				edges = append(edges, edge{from, to, filepath.Join(rel, filepath.Base(path)), strings.HasSuffix(path, "_test.go")})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pkgs, edges
}

// violation explains why an import breaks the layering, or returns "".
func violation(e edge) string {
	from, to := e.from, e.to
	rf, okf := layerOf(from)
	rt, okt := layerOf(to)
	switch {
	case !okf:
		return "package " + from + " has no layer: add it to rank in internal/layering"
	case !okt:
		return "package " + to + " has no layer: add it to rank in internal/layering"
	case e.inTest:
		// Tests are not part of the shipped graph and may drive a package
		// from above (schema's tests load manifests) or use any fake.
		return ""
	case isTestHelper(to) && !isTestHelper(from):
		return "production code imports the test fake " + to
	case isTestHelper(from) && to == filepath.Dir(from):
		return "" // a fake may use the package it fakes
	}
	if allowed, ok := onlyFrom[to]; ok && !slices.Contains(allowed, filepath.Dir(from)) && !slices.Contains(allowed, from) {
		return to + " may be imported only by " + strings.Join(allowed, ", ")
	}
	if rt >= rf {
		if rt == rf {
			return "sideways import between siblings"
		}
		return "upward import"
	}
	return ""
}

func TestImportLayering(t *testing.T) {
	pkgs, edges := moduleImports(t, "../..")
	for pkg := range pkgs {
		if _, ok := layerOf(pkg); !ok {
			t.Errorf("package %s has no layer: add it to rank in internal/layering", pkg)
		}
	}
	for _, e := range edges {
		if why := violation(e); why != "" {
			t.Errorf("%s imports %s: %s", e.file, e.to, why)
		}
	}
	if len(edges) < 30 {
		t.Errorf("found only %d module imports; the walk missed packages", len(edges))
	}
}

// TestViolation checks the rules on edges the module does not (and must
// not) have.
func TestViolation(t *testing.T) {
	cases := []struct {
		e    edge
		want string
	}{
		{edge{from: "internal/lint", to: "internal/httpx"}, "may be imported only by"},
		{edge{from: "internal/report", to: "internal/httpx"}, "may be imported only by"},
		{edge{from: "internal/lint", to: "internal/reconcile"}, "sideways"},
		{edge{from: "pkg/manifest", to: "internal/lint"}, "upward"},
		{edge{from: "pkg/diag", to: "schema"}, "upward"},
		{edge{from: "internal/reconcile", to: "internal/report"}, "upward"},
		{edge{from: "internal/cli", to: "internal/devserver/devservertest"}, "test fake"},
		{edge{from: "internal/cli", to: "internal/hostiletest"}, "test fake"},
		{edge{from: "internal/newpkg", to: "pkg/diag"}, "no layer"},
		{edge{from: "internal/cli", to: "internal/devserver/devservertest", inTest: true}, ""},
		{edge{from: "schema", to: "pkg/manifest", inTest: true}, ""},
		{edge{from: "internal/devserver/devservertest", to: "internal/devserver"}, ""},
		{edge{from: "internal/auth", to: "internal/httpx"}, ""},
		{edge{from: "internal/lint", to: "internal/redirecturi"}, ""},
		{edge{from: "schema", to: "pkg/diag"}, ""},
	}
	for _, tc := range cases {
		got := violation(tc.e)
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("violation(%s → %s, test %v) = %q, want %q", tc.e.from, tc.e.to, tc.e.inTest, got, tc.want)
		}
	}
}
