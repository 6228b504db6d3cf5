package cli

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// writes lists the requests of the log that are not reads.
func writes(cp *devserver.Server) []string {
	var out []string
	for _, r := range cp.Requests() {
		if r.Method != http.MethodGet {
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// outsideActions turns a step into a terminal run whose stderr is not a
// terminal (a buffer): no GitHub sinks.
func outsideActions(s *step) {
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"} {
		delete(s.env, k)
	}
}

// TestApplyPreflight: an apply that has nowhere to put what it would write
// stops before its first write request. Before the preflight each of these
// created a client, revoked it again and exited 3.
func TestApplyPreflight(t *testing.T) {
	seedDemo := func(cp *devserver.Server) {
		cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid", "profile"}})
	}
	tests := []struct {
		name     string
		seed     func(*devserver.Server)
		terminal bool // outside Actions
		args     func(s *step) []string
		env      map[string]string
		want     []string // fragments of stderr
		dont     []string // not in stderr
	}{
		{
			name: "env file in a directory that does not exist", terminal: true,
			args: func(s *step) []string { return []string{"--env-file", filepath.Join(s.dir, "missing", ".env")} },
			want: []string{"missing/.env: directory", "does not exist", "nothing was written to the control plane"},
			dont: []string{"re-run with --env-file"},
		},
		{
			name: "rotation with an env file in a directory that does not exist", seed: seedDemo, terminal: true,
			args: func(s *step) []string {
				return []string{"--rotate-secret", "--env-file", filepath.Join(s.dir, "missing", ".env")}
			},
			want: []string{"does not exist"},
		},
		{
			name: "env file is a symlink", terminal: true,
			args: func(s *step) []string {
				p := filepath.Join(s.dir, ".env")
				if err := os.Symlink(filepath.Join(s.dir, "elsewhere"), p); err != nil {
					t.Skip(err)
				}
				return []string{"--env-file", p}
			},
			want: []string{"symlink"},
		},
		{
			name: "stderr is not a terminal", terminal: true,
			want: []string{"nowhere to put a new client secret", "stderr is not a terminal", "re-run with --env-file PATH", "--print-secret"},
		},
		{
			name: "GITHUB_OUTPUT not writable",
			env:  map[string]string{"GITHUB_OUTPUT": "/nonexistent/dir/output"},
			want: []string{"GITHUB_OUTPUT file /nonexistent/dir/output cannot be opened"},
		},
		{
			name: "GITHUB_ENV unset with --export-env",
			env:  map[string]string{"GITHUB_ENV": ""},
			args: func(*step) []string { return []string{"--export-env"} },
			want: []string{"GITHUB_ENV is not set"},
		},
		{
			name: "an update checks the sinks too", seed: func(cp *devserver.Server) {
				cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid"}})
			},
			env:  map[string]string{"GITHUB_STEP_SUMMARY": "/nonexistent/summary"},
			want: []string{"GITHUB_STEP_SUMMARY file /nonexistent/summary cannot be opened"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cp := devservertest.New(t)
			if tc.seed != nil {
				tc.seed(cp)
			}
			before := cp.Clients()
			s := newStep(t, cp)
			if tc.terminal {
				outsideActions(s)
			}
			for k, v := range tc.env {
				s.env[k] = v
			}
			var args []string
			if tc.args != nil {
				args = tc.args(s)
			}
			s.apply(args...)
			if s.code != ExitFailure {
				t.Errorf("exit %d, want %d\n%s", s.code, ExitFailure, s.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(s.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, s.stderr)
				}
			}
			for _, w := range tc.dont {
				if strings.Contains(s.stderr, w) {
					t.Errorf("stderr has %q:\n%s", w, s.stderr)
				}
			}
			if w := writes(cp); len(w) != 0 {
				t.Errorf("write requests %q, want none", w)
			}
			if len(cp.IssuedSecrets()) != 0 || len(cp.Clients()) != len(before) {
				t.Errorf("clients changed: %d secrets issued, %d clients (were %d)", len(cp.IssuedSecrets()), len(cp.Clients()), len(before))
			}
			t.Logf("requests: %d, all reads", len(cp.Requests()))
		})
	}
}

// TestRedirectedTo: a forced print names the file stderr goes to, through
// a link as /dev/stderr is one, or the kind of stream.
func TestRedirectedTo(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "deploy.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "stderr")
	if err := os.Symlink(log, link); err != nil {
		t.Skip(err)
	}
	f, err := os.OpenFile(link, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	real, _ := filepath.EvalSymlinks(log)
	if got, want := redirectedTo(f), `the file "`+real+`", not a terminal`; got != want {
		t.Errorf("redirectedTo(file) = %q, want %q", got, want)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if got := redirectedTo(w); got != "a pipe, not a terminal" {
		t.Errorf("redirectedTo(pipe) = %q", got)
	}
	if got := redirectedTo(new(strings.Builder)); got != "not a terminal" {
		t.Errorf("redirectedTo(buffer) = %q", got)
	}
}
