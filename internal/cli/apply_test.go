package cli

import (
	"encoding/json"
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

// renamedManifest is faultManifest after clientName changed from Demo.
var renamedManifest = strings.Replace(faultManifest, "clientName: Demo", "clientName: Demo App", 1)

// renameStep seeds the control plane with the client of faultManifest and
// gives the step the manifest with the new name.
func renameStep(t *testing.T) (*devserver.Server, devserver.StoredClient, *step) {
	t.Helper()
	cp := devservertest.New(t)
	old := cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid", "profile"}})
	s := newStep(t, cp)
	if err := os.WriteFile(filepath.Join(s.dir, ".takos", "app.yml"), []byte(renamedManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return cp, old, s
}

func (s *step) plan(args ...string) {
	s.t.Helper()
	full := append([]string{"plan"}, args...)
	full = append(full, filepath.Join(s.dir, ".takos", "app.yml"))
	s.code, s.stdout, s.stderr = run(s.t, s.env, full...)
}

// TestPlanLikelyRename: after clientName changed, plan says create but
// names the active client with the same redirect URIs and both ways on, in
// text, JSON, an Actions annotation on clientName and the job summary.
func TestPlanLikelyRename(t *testing.T) {
	_, old, s := renameStep(t)
	outsideActions(s)
	s.plan()
	if s.code != ExitOK {
		t.Fatalf("plan exit %d:\n%s", s.code, s.stderr)
	}
	for _, w := range []string{
		`Plan: create OAuth client "Demo App"`,
		`Likely rename: no OAuth client is named "Demo App", but active client ` + old.ClientID + ` (named "Demo") has the same redirectUris.`,
		"--client-id " + old.ClientID, `apply renames it to "Demo App"`, "--create-new", "apply refuses to create",
	} {
		if !strings.Contains(s.stdout, w) {
			t.Errorf("plan lacks %q:\n%s", w, s.stdout)
		}
	}

	s.plan("--format", "json")
	var doc struct {
		Action string `json:"action"`
		Rename *struct {
			FoundBy string `json:"found_by"`
			Clients []struct {
				ClientID string `json:"client_id"`
				Name     string `json:"name"`
			} `json:"clients"`
			CreateNew bool `json:"create_new"`
		} `json:"likely_rename"`
	}
	if err := json.Unmarshal([]byte(s.stdout), &doc); err != nil {
		t.Fatalf("plan JSON: %v\n%s", err, s.stdout)
	}
	if doc.Action != "create" || doc.Rename == nil || doc.Rename.FoundBy != "redirect_uris" || len(doc.Rename.Clients) != 1 ||
		doc.Rename.Clients[0].ClientID != old.ClientID || doc.Rename.Clients[0].Name != "Demo" || doc.Rename.CreateNew {
		t.Errorf("plan JSON = %s, want a create with likely_rename naming %s", s.stdout, old.ClientID)
	}

	s.plan("--create-new")
	if !strings.Contains(s.stdout, "--create-new: apply creates a new client") || strings.Contains(s.stdout, "apply refuses") {
		t.Errorf("plan --create-new:\n%s", s.stdout)
	}

	// In Actions: an annotation on clientName (line 8, column 17) and the
	// job summary.
	_, old, s = renameStep(t)
	s.plan()
	if s.code != ExitOK {
		t.Fatalf("plan exit %d:\n%s", s.code, s.stderr)
	}
	wantAnn := "::warning file=" + filepath.Join(s.dir, ".takos", "app.yml") + ",line=8,col=17,title=takos-apply%3A likely rename::no OAuth client is named \"Demo App\""
	if !strings.Contains(s.stdout, wantAnn) || !strings.Contains(s.stdout, "keep managing "+old.ClientID+" with --client-id "+old.ClientID) {
		t.Errorf("stdout lacks the annotation %q:\n%s", wantAnn, s.stdout)
	}
	summary := s.file("summary")
	for _, w := range []string{"### takos-apply: likely rename of the OAuth client", "| Demo |", "`--create-new`"} {
		if !strings.Contains(summary, w) {
			t.Errorf("job summary lacks %q:\n%s", w, summary)
		}
	}
	if s.file("output") != "" {
		t.Errorf("plan wrote step outputs:\n%s", s.file("output"))
	}
}

// TestApplyLikelyRename: apply refuses to create while a rename is likely,
// with no write request; --client-id renames the old client in place and
// --create-new creates a second one on purpose.
func TestApplyLikelyRename(t *testing.T) {
	cp, old, s := renameStep(t)
	s.apply()
	if s.code != ExitFailure {
		t.Fatalf("apply exit %d, want %d:\n%s", s.code, ExitFailure, s.stderr)
	}
	for _, w := range []string{`no OAuth client is named "Demo App"`, "--client-id " + old.ClientID, "--create-new"} {
		if !strings.Contains(s.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, s.stderr)
		}
	}
	if w := writes(cp); len(w) != 0 {
		t.Errorf("write requests %q, want none", w)
	}
	if !strings.Contains(s.file("summary"), "likely rename of the OAuth client") || s.file("output") != "" {
		t.Errorf("summary %q, outputs %q; want the rename in the summary and no outputs", s.file("summary"), s.file("output"))
	}

	s.apply("--client-id", old.ClientID)
	if s.code != ExitOK {
		t.Fatalf("apply --client-id exit %d:\n%s", s.code, s.stderr)
	}
	if c, _ := cp.Client(old.ClientID); c.Name != "Demo App" || c.Status != "active" {
		t.Errorf("client after apply --client-id = %q %s, want it renamed and active", c.Name, c.Status)
	}
	if !strings.Contains(s.stdout, "~ clientName: Demo -> Demo App") || len(cp.Clients()) != 1 || len(cp.IssuedSecrets()) != 0 {
		t.Errorf("apply --client-id did not rename in place:\n%s", s.stdout)
	}

	cp, old, s = renameStep(t)
	s.apply("--create-new")
	if s.code != ExitOK {
		t.Fatalf("apply --create-new exit %d:\n%s", s.code, s.stderr)
	}
	active := 0
	for _, c := range cp.Clients() {
		if c.Status == "active" {
			active++
		}
	}
	if c, _ := cp.Client(old.ClientID); c.Status != "active" || active != 2 {
		t.Errorf("after --create-new: old client %s, %d active; want the old one kept and a new one", c.Status, active)
	}
	if !strings.Contains(s.stderr, old.ClientID+" stays active (--create-new does not revoke it)") {
		t.Errorf("stderr does not say the old client stays active:\n%s", s.stderr)
	}
	if !strings.Contains(s.stdout, "::notice file=") || !strings.Contains(s.file("summary"), "With `--create-new`") {
		t.Errorf("apply --create-new: stdout %q, summary %q; want a notice and the summary's note", s.stdout, s.file("summary"))
	}
	if n := strings.Count(strings.ToLower(s.file("summary")), "likely rename"); n != 1 {
		t.Errorf("job summary has %d rename sections, want 1:\n%s", n, s.file("summary"))
	}
	// The new client's secret reached the step outputs.
	var created devserver.StoredClient
	for _, c := range cp.Clients() {
		if c.ClientID != old.ClientID {
			created = c
		}
	}
	delivered := false
	for _, sec := range cp.IssuedSecrets() {
		delivered = delivered || cp.SecretMatches(created.ClientID, sec) && strings.Contains(s.file("output"), sec)
	}
	if created.Name != "Demo App" || !delivered {
		t.Errorf("new client %q: secret delivered %v; want \"Demo App\" with its secret in GITHUB_OUTPUT", created.Name, delivered)
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
