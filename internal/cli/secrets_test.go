package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/broker"
	"github.com/takos-dev/takos-apply/internal/hostiletest"
	"github.com/takos-dev/takos-apply/schema"
)

// registryCanary is a bearer token of no recognisable shape: only its
// registration can keep it out of the output.
const registryCanary = "canary-bearer-Vq7Rz0PmX2"

// secretRun is one Actions step against the hostile fake, authenticated
// with TAKOS_TOKEN=registryCanary, and every file the step can write.
type secretRun struct {
	hostileRun
	files map[string]string // GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY
}

func runWithToken(t *testing.T, h *hostiletest.Server, args ...string) secretRun {
	t.Helper()
	dir := t.TempDir()
	writeManifest(t, dir)
	paths := map[string]string{}
	for _, name := range []string{"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"} {
		paths[name] = filepath.Join(dir, name)
		if err := os.WriteFile(paths[name], nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"GITHUB_ACTIONS": "true", "TAKOS_API_URL": h.URL, "TAKOS_AUTH": "token",
		"TAKOS_TOKEN": registryCanary, "HOME": dir}
	for k, v := range paths {
		env[k] = v
	}
	full := append(append([]string{}, args...), "--timeout", "2s", filepath.Join(dir, ".takos", "app.yml"))
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), full, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	r := secretRun{hostileRun: hostileRun{args: args, stdout: stdout.String(), stderr: stderr.String(), code: code}, files: map[string]string{}}
	for k, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		r.files[k] = string(b)
	}
	return r
}

// TestRegisteredSecretsNeverShown: the token auth registers is masked
// before anything else is written, and every output path redacts it when a
// hostile control plane echoes it — the plan and the result on stdout,
// errors on stderr, the job summary and the non-secret step outputs — while
// the text around it is shown. The client secret apply registers is masked
// before any file holds it. Annotations are redacted on the same Stream
// (TestRedactedAnnotations).
func TestRegisteredSecretsNeverShown(t *testing.T) {
	text := "see " + registryCanary + " then " + hostiletest.Text
	for _, tc := range []struct {
		name  string
		opt   hostiletest.Options
		args  []string
		fail  bool   // the run fails with the echo on stderr
		where string // what must show the redacted echo
	}{
		{"plan renames a client named with the token", hostiletest.Options{Name: "Demo", Text: text}, []string{"plan", "--client-id", "c_other"}, false, "stdout"},
		{"apply renames it", hostiletest.Options{Name: "Demo", Text: text}, []string{"apply", "--client-id", "c_other"}, false, "GITHUB_STEP_SUMMARY"},
		{"apply creates a client", hostiletest.Options{Text: text}, []string{"apply"}, false, ""},
		{"the control plane echoes the token in an error", hostiletest.Options{Name: "Demo", Text: text}, []string{"apply"}, true, "stderr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := hostiletest.New(t, tc.opt)
			if tc.fail {
				h.Override(hostiletest.List, h.ErrorReply(http.StatusBadRequest))
			}
			r := runWithToken(t, h, tc.args...)
			if (r.code != ExitOK) != tc.fail {
				t.Fatalf("%v = exit %d\nstdout:\n%s\nstderr:\n%s", tc.args, r.code, r.stdout, r.stderr)
			}
			// The one strict check of the injection tests, with the token
			// among the credentials: masks only of credentials, none shown
			// outside its mask, no command but takos-apply's own.
			secrets := append(h.Issued(), registryCanary)
			assertNoInjectedCommand(t, r.hostileRun, secrets)
			if first, _, _ := strings.Cut(r.stdout, "\n"); first != "::add-mask::"+registryCanary {
				t.Errorf("first stdout line = %q, want the token's mask before anything else", first)
			}
			for name, body := range r.files {
				for _, s := range secrets {
					if strings.Contains(body, s) && !(name != "GITHUB_STEP_SUMMARY" && strings.HasPrefix(s, "sec_")) {
						t.Errorf("%s shows a credential:\n%s", name, body)
					}
				}
			}
			// In the file commands, the client secret is the value of its
			// own record only, never of a non-secret output.
			for name, secretKey := range map[string]string{"GITHUB_OUTPUT": "client-secret", "GITHUB_ENV": "OAUTH_CLIENT_SECRET"} {
				for _, rec := range fileCommandRecords(t, name, r.files[name]) {
					for _, s := range secrets {
						if rec[0] != secretKey && strings.Contains(rec[1], s) {
							t.Errorf("%s: the non-secret record %s shows a credential: %q", name, rec[0], rec[1])
						}
					}
				}
			}
			for _, s := range h.Issued() {
				if strings.HasPrefix(s, "sec_") && !strings.Contains(r.stdout, "::add-mask::"+s+"\n") {
					t.Errorf("the client secret was not masked:\n%s", r.stdout)
				}
			}
			shown := map[string]string{"stdout": r.stdout, "stderr": r.stderr}
			for k, v := range r.files {
				shown[k] = v
			}
			if tc.where != "" && !strings.Contains(shown[tc.where], "see ***") && !strings.Contains(shown[tc.where], `see \*\*\*`) {
				t.Errorf("%s does not show the echo, redacted (the test would prove nothing):\n%s", tc.where, shown[tc.where])
			}
		})
	}
}

// TestRedactedAnnotations: an annotation (lint --format github) never shows
// a credential: a manifest that holds a Takos PAT gets findings quoting the
// URI around it, and the PAT is redacted by its shape.
func TestRedactedAnnotations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yml")
	const pat = "tak_pat_LeakedInTheManifest0123"
	manifest := strings.Replace(faultManifest, "[https://demo.example.com/cb]", `["https://demo.example.com/cb?token=`+pat+`"]`, 1)
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"github", "text"} {
		code, stdout, stderr := run(t, map[string]string{"GITHUB_ACTIONS": "true"}, "lint", "--format", format, path)
		if code != ExitOK || strings.Contains(stdout+stderr, pat) || !strings.Contains(stdout, "?token=***") {
			t.Errorf("lint --format %s = exit %d; the PAT shown or the URI not quoted:\n%s%s", format, code, stdout, stderr)
		}
	}
}

// TestDataOutputsAreExact: data passes the process's Streams unchanged, on
// a runner and on a terminal alike: the embedded schemas byte for byte, and
// JSON whose strings hold what a Stream rewrites (a C1 control, a bidi
// override, "##[", "::") decodes to the exact value.
func TestDataOutputsAreExact(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a ##[b]\u202ec\u0085::d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(path, []byte(faultManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, env := range []map[string]string{nil, {"GITHUB_ACTIONS": "true"}} {
		if _, out, _ := run(t, env, "schema"); out != string(schema.JSON()) {
			t.Errorf("schema (env %v) differs from the embedded schema", env)
		}
		if _, out, _ := run(t, env, "broker", "schema"); out != string(broker.PolicySchema()) {
			t.Errorf("broker schema (env %v) differs from the embedded schema", env)
		}
		code, out, stderr := run(t, env, "lint", "--format", "json", path)
		var doc struct {
			Files []struct{ Path string } `json:"files"`
		}
		if err := json.Unmarshal([]byte(out), &doc); code != ExitOK || err != nil || len(doc.Files) != 1 || doc.Files[0].Path != path {
			t.Errorf("lint --format json (env %v) = exit %d, %v, %+v; want the exact path %q\n%s", env, code, err, doc, path, stderr)
		}
	}
}

// TestTerminalStreamsAreGuarded: outside Actions the same Stream guards
// the terminal: text from anywhere (here a path argument in an error) has
// its controls shown as escapes, and a line it starts cannot be a command
// (a runner may read a terminal's output when the variable is not passed
// on, as in a container), while
// takos-apply's own colours (--color always) reach the terminal.
func TestTerminalStreamsAreGuarded(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "x\x1b[2J\n::error::pwned\u202e.yml")
	code, stdout, stderr := run(t, nil, "lint", missing)
	if code != ExitFailure || strings.ContainsAny(stdout+stderr, "\x1b\u202e") || strings.Contains(stderr, "\n::") ||
		!strings.Contains(stderr, `x\x1b[2J`+"\n"+`> ::error::pwned\u202e.yml`) {
		t.Errorf("lint of a hostile missing path = exit %d, stderr %q", code, stderr)
	}
	dir := t.TempDir()
	writeManifest(t, dir)
	path := filepath.Join(dir, ".takos", "app.yml")
	if err := os.WriteFile(path, []byte(strings.Replace(faultManifest, "https://demo.example.com/cb", "http://localhost:3000/cb", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, out, _ := run(t, nil, "lint", "--color", "always", path); !strings.Contains(out, "\x1b[33mwarning\x1b[0m") {
		t.Errorf("lint --color always shows no coloured severity:\n%q", out)
	}
}

// fileCommandRecords parses a GITHUB_OUTPUT or GITHUB_ENV file as the
// runner does ("name<<DELIM\nvalue\nDELIM\n" records) into name, value
// pairs.
func fileCommandRecords(t *testing.T, file, body string) [][2]string {
	t.Helper()
	var recs [][2]string
	lines := strings.Split(strings.TrimSuffix(body, "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] == "" && i == len(lines)-1 {
			break
		}
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok || delim == "" {
			t.Fatalf("%s: line %q is not a name<<DELIM record:\n%s", file, lines[i], body)
		}
		var value []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			value = append(value, lines[i])
		}
		if i == len(lines) {
			t.Fatalf("%s: record %s has no closing %s:\n%s", file, name, delim, body)
		}
		recs = append(recs, [2]string{name, strings.Join(value, "\n")})
	}
	return recs
}
