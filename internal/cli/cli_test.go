package cli

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden files and scripts' expected output")

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"takos-apply": func() {
			// What main does: the process is the test's binary here, and
			// SIGINT/SIGTERM cancel the context (the broker shuts down
			// gracefully on it).
			ctx, stop := NotifyContext(context.Background())
			PrepareProcess(os.Args[1:], os.Getenv)
			code := Run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
		// devapp is the command takos-apply dev runs in scripts (dev_test.go).
		"devapp": devApp,
		// printenv prints the environment a step's commands see.
		"printenv": func() {
			for _, kv := range os.Environ() {
				fmt.Println(kv)
			}
		},
	})
}

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		UpdateScripts:       *update,
		Setup:               setupScript(t),
		Cmds:                scriptCmds,
	})
}

// run executes the CLI in process and returns exit code, stdout and stderr.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string { return env[k] }
	code := Run(context.Background(), args, getenv, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestGoldenManifests lints every manifest of the shared corpus: ok/ must be
// clean in both environments; each err/X.yml must print exactly err/X.out
// (regenerate with go test ./internal/cli -run TestGoldenManifests -update).
func TestGoldenManifests(t *testing.T) {
	root := "../../testdata/manifests"
	oks, _ := filepath.Glob(filepath.Join(root, "ok", "*.yml"))
	if len(oks) == 0 {
		t.Fatal("no ok manifests found")
	}
	for _, f := range oks {
		for _, env := range []string{"production", "development"} {
			code, out, errOut := run(t, nil, "lint", "--env", env, "--strict", f)
			if code != ExitOK || strings.Contains(out, ": error:") || strings.Contains(out, ": warning:") {
				t.Errorf("lint --env %s %s = %d, want a clean run:\n%s%s", env, f, code, out, errOut)
			}
		}
	}
	errs, _ := filepath.Glob(filepath.Join(root, "err", "*.yml"))
	if len(errs) == 0 {
		t.Fatal("no err manifests found")
	}
	for _, f := range errs {
		t.Run(filepath.Base(f), func(t *testing.T) {
			// Lint from the file's directory, so the golden output names
			// the file as a user in that directory would see it, not by a
			// path that depends on where this test lives.
			abs, err := filepath.Abs(f)
			if err != nil {
				t.Fatal(err)
			}
			f = abs
			t.Chdir(filepath.Dir(abs))
			code, out, errOut := run(t, nil, "lint", filepath.Base(abs))
			if errOut != "" {
				t.Errorf("stderr: %s", errOut)
			}
			if code != ExitFindings {
				t.Errorf("exit code %d, want %d (every err/ manifest has an error)", code, ExitFindings)
			}
			golden := strings.TrimSuffix(f, ".yml") + ".out"
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run with -update): %v", err)
			}
			if out != string(want) {
				t.Errorf("lint %s output differs from %s:\n--- got\n%s--- want\n%s", f, golden, out, want)
			}
		})
	}
}

func TestColorEnabled(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// The master side of a pseudo-terminal is a character device, as a
	// real terminal is.
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer tty.Close()
	tests := []struct {
		name string
		mode string
		w    io.Writer
		env  map[string]string
		want bool
	}{
		{"buffer", "auto", &bytes.Buffer{}, nil, false},
		{"regular file", "auto", f, nil, false},
		{"terminal", "auto", tty, nil, true},
		{"terminal, NO_COLOR", "auto", tty, map[string]string{"NO_COLOR": "1"}, false},
		{"terminal, TERM=dumb", "auto", tty, map[string]string{"TERM": "dumb"}, false},
		{"terminal, TERM=xterm", "auto", tty, map[string]string{"TERM": "xterm-256color"}, true},
		{"never on a terminal", "never", tty, nil, false},
		{"always into a file", "always", f, nil, true},
		{"always beats NO_COLOR", "always", &bytes.Buffer{}, map[string]string{"NO_COLOR": "1", "TERM": "dumb"}, true},
	}
	for _, tc := range tests {
		getenv := func(k string) string { return tc.env[k] }
		if got := colorEnabled(tc.mode, tc.w, getenv); got != tc.want {
			t.Errorf("%s: colorEnabled(%q) = %v, want %v", tc.name, tc.mode, got, tc.want)
		}
	}
}

// TestColorFlag checks --color through the command: always colours text
// output into a pipe, never and auto do not, and a bad value is a usage
// error.
func TestColorFlag(t *testing.T) {
	const esc = "\x1b["
	bad := filepath.Join("..", "..", "testdata", "manifests", "err")
	files, _ := filepath.Glob(filepath.Join(bad, "*.yml"))
	if len(files) == 0 {
		t.Fatal("no err manifests")
	}
	if _, out, _ := run(t, nil, "lint", "--color", "always", files[0]); !strings.Contains(out, esc) {
		t.Errorf("lint --color always: no ANSI colour in\n%s", out)
	}
	for _, mode := range []string{"never", "auto"} {
		if _, out, _ := run(t, nil, "lint", "--color", mode, files[0]); strings.Contains(out, esc) {
			t.Errorf("lint --color %s into a buffer: ANSI colour in\n%s", mode, out)
		}
	}
	code, _, errOut := run(t, nil, "lint", "--color", "sometimes", files[0])
	if code != 2 || !strings.Contains(errOut, `unknown --color "sometimes"; use auto, always or never`) {
		t.Errorf("lint --color sometimes = %d, %q; want 2 and the accepted values", code, errOut)
	}
}
