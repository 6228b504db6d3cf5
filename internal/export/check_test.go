package export

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// dirState is a directory's names and file contents, to prove that a
// preflight left it as it was.
func dirState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if d.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out[p] = "-> " + target
			return err
		}
		b, err := os.ReadFile(p)
		out[p] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCheckDotenv: the preflight of --env-file refuses every path a
// delivery would fail on, says what to do, and changes nothing on disk.
func TestCheckDotenv(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) string // returns the env file path
		want  []string                              // fragments of the error; nil = ok
		is    error
	}{
		{name: "new file in an existing directory", setup: func(t *testing.T, dir string) string { return filepath.Join(dir, ".env") }},
		{name: "existing file is rewritable", setup: func(t *testing.T, dir string) string {
			return writeTemp(t, dir, ".env", "A=1\nOAUTH_CLIENT_ID='old'\n")
		}},
		{name: "directory does not exist", setup: func(t *testing.T, dir string) string { return filepath.Join(dir, "missing", ".env") },
			want: []string{"missing/.env", "directory", "missing does not exist", "create it"}},
		{name: "parent is a file", setup: func(t *testing.T, dir string) string {
			return filepath.Join(writeTemp(t, dir, "plain", ""), ".env")
		}, want: []string{"plain"}},
		{name: "symlink", setup: func(t *testing.T, dir string) string {
			p := filepath.Join(dir, ".env")
			if err := os.Symlink(filepath.Join(dir, "elsewhere"), p); err != nil {
				t.Skip(err)
			}
			return p
		}, want: []string{".env"}, is: errUnsafeDotenvPath},
		{name: "a directory", setup: func(t *testing.T, dir string) string { return dir }, is: errUnsafeDotenvPath},
		{name: "our value spans lines", setup: func(t *testing.T, dir string) string {
			return writeTemp(t, dir, ".env", "OAUTH_CLIENT_SECRET='a\nb'\n")
		}, want: []string{"line 1", "spans several lines"}},
		{name: "directory not writable", setup: func(t *testing.T, dir string) string {
			if runtime.GOOS == "windows" || os.Geteuid() == 0 {
				t.Skip("permissions do not bind here (Windows or root)")
			}
			ro := filepath.Join(dir, "ro")
			if err := os.Mkdir(ro, 0o500); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(ro, 0o700) })
			return filepath.Join(ro, ".env")
		}, want: []string{"cannot create a file in", "permission denied"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := tc.setup(t, dir)
			before := dirState(t, dir)
			err := New(Config{EnvFile: p}).Check(t.Context(), true)
			if tc.want == nil && tc.is == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
			} else if err == nil {
				t.Fatalf("Check = nil, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q, want it to contain %q", err, w)
				}
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Check = %v, want errors.Is %v", err, tc.is)
			}
			if after := dirState(t, dir); !mapsEqual(before, after) {
				t.Errorf("Check changed the directory:\nbefore %v\nafter  %v", before, after)
			}
			// What Check accepts, Deliver writes.
			if err == nil {
				if _, derr := New(Config{EnvFile: p}).Deliver(t.Context(), "cid", canarySecret); derr != nil {
					t.Errorf("Check passed but Deliver = %v", derr)
				}
			}
		})
	}
}

func writeTemp(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestCheckActions: in Actions every file-command file must be set and
// openable, the job summary included; nothing is written.
func TestCheckActions(t *testing.T) {
	tests := []struct {
		name      string
		change    func(a *actionsEnv)
		exportEnv bool
		want      []string
	}{
		{name: "all there", exportEnv: true},
		{name: "GITHUB_OUTPUT unset", change: func(a *actionsEnv) { a.vars[envGitHubOutput] = "" }, want: []string{"GITHUB_OUTPUT is not set"}},
		{name: "GITHUB_OUTPUT missing", change: func(a *actionsEnv) { a.vars[envGitHubOutput] = "/nonexistent/dir/output" },
			want: []string{"GITHUB_OUTPUT file /nonexistent/dir/output cannot be opened for appending", "no such file"}},
		{name: "GITHUB_ENV unset with export", exportEnv: true, change: func(a *actionsEnv) { a.vars[envGitHubEnv] = "" }, want: []string{"GITHUB_ENV is not set"}},
		{name: "GITHUB_ENV unset without export is not used", change: func(a *actionsEnv) { a.vars[envGitHubEnv] = "" }},
		{name: "summary missing", change: func(a *actionsEnv) { a.vars[envGitHubStepSummary] = "/nonexistent/summary" },
			want: []string{"GITHUB_STEP_SUMMARY file /nonexistent/summary cannot be opened"}},
		{name: "every failure is reported", exportEnv: true, change: func(a *actionsEnv) {
			a.vars[envGitHubOutput], a.vars[envGitHubEnv] = "", ""
		}, want: []string{"GITHUB_OUTPUT is not set", "GITHUB_ENV is not set"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newActionsEnv(t)
			if tc.change != nil {
				tc.change(&a)
			}
			var stdout bytes.Buffer
			err := New(Config{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: tc.exportEnv}).Check(t.Context(), true)
			if tc.want == nil && err != nil {
				t.Fatalf("Check = %v, want nil", err)
			}
			if tc.want != nil && err == nil {
				t.Fatalf("Check = nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check = %q, want it to contain %q", err, w)
				}
			}
			for _, p := range []string{a.output, a.env, a.summary} {
				if got := readFile(t, p); got != "" {
					t.Errorf("%s = %q after Check, want it untouched", filepath.Base(p), got)
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q after Check, want nothing", stdout.String())
			}
		})
	}
}

// TestCheckSecretPlace: a run that will issue a secret needs a sink for it;
// one that will not (update, unchanged) does not.
func TestCheckSecretPlace(t *testing.T) {
	var terminal bytes.Buffer
	if err := New(Config{}).Check(t.Context(), true); !errors.Is(err, ErrNoSecretSink) {
		t.Errorf("Check(no sink, secret) = %v, want ErrNoSecretSink", err)
	}
	if err := New(Config{}).Check(t.Context(), false); err != nil {
		t.Errorf("Check(no sink, no secret) = %v, want nil", err)
	}
	if err := New(Config{Terminal: &terminal}).Check(t.Context(), true); err != nil {
		t.Errorf("Check(terminal, secret) = %v, want nil", err)
	}
	// A sink that cannot be written is not rescued by the terminal: the
	// user asked for that sink.
	p := filepath.Join(t.TempDir(), "missing", ".env")
	err := New(Config{Terminal: &terminal, EnvFile: p}).Check(t.Context(), true)
	if err == nil || errors.Is(err, ErrNoSecretSink) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Check(bad env file, terminal) = %v, want the env file's error", err)
	}
	if terminal.Len() != 0 {
		t.Errorf("terminal = %q after Check, want nothing", terminal.String())
	}
}

// TestTerminalName: a forced print names where it went.
func TestTerminalName(t *testing.T) {
	var w bytes.Buffer
	took, err := New(Config{Terminal: &w, TerminalName: "stderr (the file /tmp/err.log)"}).Deliver(t.Context(), "cid", canarySecret)
	if err != nil || !slices.Equal(took, []string{"stderr (the file /tmp/err.log)"}) {
		t.Errorf("Deliver = %v, %v; want the stream's name", took, err)
	}
	took, _ = New(Config{Terminal: &w}).Deliver(t.Context(), "cid", canarySecret)
	if !slices.Equal(took, []string{"terminal"}) {
		t.Errorf("Deliver = %v, want terminal by default", took)
	}
}
