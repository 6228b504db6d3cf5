package lint

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// writeTree writes n manifests, every third with a finding and of varied
// size so workers finish out of order, and returns their sorted paths.
func writeTree(t *testing.T, n int) []string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("app%04d", i), ".takos", "app.yml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		uri := "https://app.example.com/cb"
		if i%3 == 0 {
			uri = "http://app.example.com/cb"
		}
		pad := strings.Repeat("  # padding\n", (i*7919)%400)
		src := fmt.Sprintf("apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: app-%d\nspec:\n  version: 1.0.0\n%s  oauth:\n    clientName: App %d\n    redirectUris: [%s]\n    scopes: [openid]\n", i, pad, i, uri)
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := collect([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, t := range ts {
		paths = append(paths, t.Path)
	}
	return paths
}

func pathSeq(paths []string) iter.Seq2[Target, error] {
	return func(yield func(Target, error) bool) {
		for _, p := range paths {
			if !yield(Target{Path: p, Root: filepath.Dir(p)}, nil) {
				return
			}
		}
	}
}

func testConfig(snippets bool) Config {
	return Config{Limits: manifest.DefaultLimits(), Snippets: snippets}
}

func TestLintFilesEmitsInOrder(t *testing.T) {
	paths := writeTree(t, 300)
	missing := filepath.Join(filepath.Dir(paths[0]), "gone.yml")
	in := append([]string{missing}, paths...)
	var got []string
	findings := 0
	failures := lintTargets(context.Background(), pathSeq(in), testConfig(true), func(f File) {
		got = append(got, f.Path)
		for _, d := range f.Diags {
			if d.Rule == "redirect-uri-http" {
				findings++
			}
		}
		if len(f.Diags) > 0 && f.Doc == nil {
			t.Errorf("%s: findings without the source for snippets", f.Path)
		}
	})
	if len(failures) != 1 || !strings.Contains(failures[0].Error(), "gone.yml") {
		t.Errorf("failures = %v, want one for gone.yml", failures)
	}
	if strings.Join(got, "\n") != strings.Join(paths, "\n") {
		t.Errorf("emitted %d files out of input order", len(got))
	}
	if findings != 100 {
		t.Errorf("redirect-uri-http findings = %d, want 100", findings)
	}
}

func TestLintFilesStopsWhenCancelled(t *testing.T) {
	// More files than the window can hold past the cancel.
	paths := writeTree(t, 5+runtime.GOMAXPROCS(0)*window+20)
	ctx, cancel := context.WithCancel(context.Background())
	emitted := 0
	failures := lintTargets(ctx, pathSeq(paths), testConfig(false), func(File) {
		emitted++
		if emitted == 5 {
			cancel()
		}
	})
	if len(failures) != 1 || !errors.Is(failures[0], context.Canceled) {
		t.Errorf("failures = %v, want one context.Canceled", failures)
	}
	// The window lets a bounded number of files finish after the cancel.
	if emitted > 5+runtime.GOMAXPROCS(0)*window+1 {
		t.Errorf("emitted %d of %d files after cancelling at 5, more than the window", emitted, len(paths))
	}
}

// TestWalkSortedMatchesCollect checks the lazy walk against the
// collect-and-sort one on names whose walk order and sorted order differ
// ("a.b" sorts before "a/"), skipped directories and a symlinked directory.
func TestWalkSortedMatchesCollect(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a", "a.b", "a-b", "a/b", "a/b.c", "ab", "A", "x/vendor", "x/node_modules", ".git", "x/.takos/y", "z z"} {
		p := filepath.Join(root, filepath.FromSlash(d), ".takos")
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"app.yml", "app.yaml", "other.yml"} {
			if err := os.WriteFile(filepath.Join(p, name), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "link")); err != nil {
		t.Fatal(err)
	}
	ts, err := collect([]string{root, root}, nil) // two arguments: collected, sorted and deduplicated
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, t := range ts {
		want = append(want, t.Path)
	}
	slices.Sort(want)
	var got []string
	for tg, err := range Targets([]string{root}, nil) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, tg.Path)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("walk order:\n%s\nwant (sorted):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(got) != 2*9 {
		t.Errorf("found %d manifests, want 18 (9 directories, vendor and node_modules and .git skipped)", len(got))
	}
	// Stopping early stops the walk; exclusion applies while walking.
	n := 0
	for range Targets([]string{root}, patterns(t, "a/**")) {
		n++
		if n == 3 {
			break
		}
	}
	if n != 3 {
		t.Errorf("early stop: got %d paths", n)
	}
	for tg := range Targets([]string{root}, patterns(t, "a")) {
		if strings.HasPrefix(tg.Path, filepath.Join(root, "a")+string(filepath.Separator)) {
			t.Errorf("--exclude a: got %s", tg.Path)
		}
	}
}

func patterns(t *testing.T, globs ...string) *Patterns {
	t.Helper()
	var p Patterns
	for _, g := range globs {
		if err := p.Add(g, ""); err != nil {
			t.Fatal(err)
		}
	}
	return &p
}

// TestLintFilesCapsEachFile: with Config.MaxPerRule each file — on disk
// or on standard input — is capped as soon as it is linted, the rest of
// every rule counted in Omitted; without it every finding is kept.
func TestLintFilesCapsEachFile(t *testing.T) {
	const dups = 250
	src := "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: flood\nspec:\n  version: 1.0.0\n  oauth:\n    clientName: Flood\n    redirectUris: [https://app.example.com/cb]\n    scopes: [openid" +
		strings.Repeat(", openid", dups) + "]\n"
	p := filepath.Join(t.TempDir(), ".takos", "app.yml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	lintAll := func(max int) []File {
		cfg := testConfig(true)
		cfg.MaxPerRule = max
		cfg.Stdin, cfg.StdinName = strings.NewReader(src), "stdin.yml"
		var got []File
		if _, err := LintFiles(context.Background(), []string{p}, cfg, func(f File) error {
			got = append(got, f)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 {
			t.Fatalf("emitted %d files, want 2", len(got))
		}
		return got
	}
	count := func(f File, rule string) int {
		n := 0
		for _, d := range f.Diags {
			if d.Rule == rule {
				n++
			}
		}
		return n
	}
	full := lintAll(0)
	for _, f := range full {
		if n := count(f, "scope-duplicate"); n != dups || f.Omitted != nil {
			t.Fatalf("%s uncapped: %d scope-duplicate findings and %v omitted, want %d and none", f.Path, n, f.Omitted, dups)
		}
	}
	for i, f := range lintAll(40) {
		if n := count(f, "scope-duplicate"); n != 40 {
			t.Errorf("%s: %d scope-duplicate findings listed, want 40", f.Path, n)
		}
		want := []Omitted{{Rule: "scope-duplicate", Severity: full[i].Diags[0].Severity, Count: dups - 40}}
		if !slices.Equal(f.Omitted, want) {
			t.Errorf("%s: Omitted = %v, want %v", f.Path, f.Omitted, want)
		}
		if !slices.Equal(f.Diags, full[i].Diags[:40]) {
			t.Errorf("%s: the capped list is not the first 40 findings", f.Path)
		}
	}
}
