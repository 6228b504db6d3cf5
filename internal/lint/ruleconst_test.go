package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// ruleConst is a rule-ID string constant found in a package's source.
type ruleConst struct {
	pos      token.Position
	name, id string
}

// ruleConstants parses the non-test Go files of dirs and returns every
// string constant whose name matches, so the docs and stricter-table tests
// see a new rule constant without a registry of their own.
func ruleConstants(t *testing.T, name *regexp.Regexp, dirs ...string) []ruleConst {
	t.Helper()
	var out []ruleConst
	fset := token.NewFileSet()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				gd, ok := decl.(*ast.GenDecl)
				if !ok || gd.Tok != token.CONST {
					continue
				}
				for _, spec := range gd.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, id := range vs.Names {
						if !name.MatchString(id.Name) || i >= len(vs.Values) {
							continue
						}
						lit, ok := vs.Values[i].(*ast.BasicLit)
						if !ok || lit.Kind != token.STRING {
							continue
						}
						v, err := strconv.Unquote(lit.Value)
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, ruleConst{fset.Position(id.Pos()), id.Name, v})
					}
				}
			}
		}
	}
	return out
}
