package lint

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

const fakePAT = "tak_pat_FAKEsecretFAKEsecretFAKEsecret0123456789"

// lintDir runs LintFiles over paths from dir and returns every file
// emitted and the failures, failing the test if the run does not end
// within a few seconds (a FIFO or /dev/stdin once hung it).
func lintDir(t *testing.T, dir string, paths ...string) ([]File, []error) {
	t.Helper()
	t.Chdir(dir)
	type out struct {
		files []File
		res   Result
	}
	done := make(chan out, 1)
	go func() {
		var o out
		cfg := testConfig(true)
		o.res, _ = LintFiles(context.Background(), paths, cfg, func(f File) error {
			o.files = append(o.files, f)
			return nil
		})
		done <- o
	}()
	select {
	case o := <-done:
		return o.files, o.res.Failures
	case <-time.After(5 * time.Second):
		t.Fatalf("lint %v did not end within 5s (blocked on a file?)", paths)
		return nil, nil
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// rulesOf is "path rule" per finding, and asserts that no finding or
// snippet source holds the fake PAT.
func rulesOf(t *testing.T, files []File) []string {
	t.Helper()
	var out []string
	for _, f := range files {
		for _, d := range f.Diags {
			out = append(out, filepath.ToSlash(f.Path)+" "+d.Rule)
			if strings.Contains(d.Message, fakePAT) {
				t.Errorf("%s: a finding quotes the credential: %s", f.Path, d.Message)
			}
		}
		if f.Doc != nil && strings.Contains(string(f.Doc.Source), fakePAT) {
			t.Errorf("%s: the source of a file outside the linted directory was read", f.Path)
		}
	}
	return out
}

// TestSymlinksAndSpecialFiles: a manifest that is a link out of the
// directory being linted, a FIFO, or a link to /dev/stdin is a finding and
// is never read (nor waited on); a link inside the directory is linted.
func TestSymlinksAndSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links and FIFOs need Unix")
	}
	outside := t.TempDir()
	write(t, filepath.Join(outside, ".takos", "config.json"), `{"token":"`+fakePAT+`","apiUrl":"https://takos.example"}`)
	repo := t.TempDir()
	link := func(target, name string) {
		p := filepath.Join(repo, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	link(filepath.Join(outside, ".takos", "config.json"), "abs/.takos/app.yml")
	rel, err := filepath.Rel(filepath.Join(repo, "rel", ".takos"), filepath.Join(outside, ".takos", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	link(rel, "rel/.takos/app.yml")
	link("/dev/stdin", "stdin/.takos/app.yml")
	link("/proc/self/environ", "environ/.takos/app.yml")
	write(t, filepath.Join(repo, "shared", "app.yml"), "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata: {name: a}\nspec: {version: 1.0}\n")
	link("../../shared/app.yml", "inside/.takos/app.yml")
	if err := os.MkdirAll(filepath.Join(repo, "fifo", ".takos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(repo, "fifo", ".takos", "app.yml"), 0o644); err != nil {
		t.Fatal(err)
	}
	link(filepath.Join(repo, "fifo", ".takos", "app.yml"), "fifolink/.takos/app.yml")
	// A linked .takos directory is not entered by the walk.
	link(filepath.Join(outside, ".takos"), "dirlink/.takos")

	files, failures := lintDir(t, repo, ".")
	if len(failures) > 0 {
		t.Errorf("failures: %v", failures)
	}
	got := strings.Join(rulesOf(t, files), "\n")
	want := strings.Join([]string{
		"abs/.takos/app.yml file-symlink-outside",
		"environ/.takos/app.yml file-symlink-outside",
		"fifo/.takos/app.yml file-not-regular",
		"fifolink/.takos/app.yml file-not-regular",
		"inside/.takos/app.yml schema-type", // linked inside the directory: read and linted
		"rel/.takos/app.yml file-symlink-outside",
		"stdin/.takos/app.yml file-symlink-outside",
	}, "\n")
	if got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
	for _, f := range files {
		for _, d := range f.Diags {
			if strings.HasPrefix(d.Rule, "file-") && (d.Pos != diag.Pos{} || d.Severity != diag.Error) {
				t.Errorf("%s: %s at %v %v, want an error without a position", f.Path, d.Rule, d.Pos, d.Severity)
			}
		}
	}

	// A file argument is confined to the working directory.
	files, _ = lintDir(t, repo, "abs/.takos/app.yml", "fifo/.takos/app.yml", "inside/.takos/app.yml")
	if got := strings.Join(rulesOf(t, files), " | "); got != "abs/.takos/app.yml file-symlink-outside | fifo/.takos/app.yml file-not-regular | inside/.takos/app.yml schema-type" {
		t.Errorf("file arguments: %s", got)
	}
	// The default path too (the repository a CI job lints with no
	// argument).
	files, _ = lintDir(t, filepath.Join(repo, "abs"))
	if got := strings.Join(rulesOf(t, files), " | "); got != ".takos/app.yml file-symlink-outside" {
		t.Errorf("default path: %s", got)
	}
	// --disable drops them like any finding.
	cfg := testConfig(false)
	cfg.Disable = []string{ruleFileSymlink.ID}
	t.Chdir(repo)
	_, diags, err := Load(context.Background(), Target{Path: "abs/.takos/app.yml", Root: "."}, cfg)
	if err != nil || len(diags) != 0 {
		t.Errorf("Load with --disable file-symlink-outside = %v, %v; want no finding", diags, err)
	}
}

// TestManifestNames: Takos reads app.yml, else app.yaml, never app.json;
// lint reports the files it would ignore instead of linting them, and Find
// returns only the manifest it reads.
func TestManifestNames(t *testing.T) {
	repo := t.TempDir()
	const ok = "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata: {name: a}\nspec: {version: 1.0.0}\n"
	const bad = "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata: {name: a}\nspec: {version: 1.0}\n"
	write(t, filepath.Join(repo, "both", ".takos", "app.yml"), ok)
	write(t, filepath.Join(repo, "both", ".takos", "app.yaml"), bad) // its error must not count: Takos never reads it
	write(t, filepath.Join(repo, "json", ".takos", "app.json"), `{"apiVersion": "takos.dev/v1alpha1"}`)
	write(t, filepath.Join(repo, "jsonyaml", ".takos", "app.json"), `{}`)
	write(t, filepath.Join(repo, "jsonyaml", ".takos", "app.yaml"), ok)
	files, failures := lintDir(t, repo, ".")
	if len(failures) > 0 {
		t.Fatal(failures)
	}
	got := strings.Join(rulesOf(t, files), "\n")
	want := "both/.takos/app.yaml file-ignored-by-takos\njson/.takos/app.json file-app-json\njsonyaml/.takos/app.json file-ignored-by-takos"
	if got != want {
		t.Errorf("findings:\n%s\nwant:\n%s", got, want)
	}
	for _, f := range files {
		for _, d := range f.Diags {
			if d.Rule == ruleFileIgnored.ID && !strings.Contains(d.Message, "app.y") {
				t.Errorf("%s: %q does not say which file Takos reads", f.Path, d.Message)
			}
		}
	}
	if len(files) != 5 {
		t.Errorf("%d files reported, want 5 (both manifests Takos reads, clean, and the three it does not)", len(files))
	}

	found, unread, err := Find([]string{"both"})
	if err != nil || len(found) != 1 || found[0].Path != filepath.Join("both", ".takos", "app.yml") || len(unread) != 1 {
		t.Errorf("Find(both) = %v, %v, %v; want app.yml, with app.yaml unread", found, unread, err)
	}
	t.Chdir(filepath.Join(repo, "json"))
	if _, _, err := Find(nil); err == nil || !strings.Contains(err.Error(), "rename the file to app.yml") {
		t.Errorf("Find() with only .takos/app.json: %v; want no manifest, and what to do with app.json", err)
	}
}
