package cli

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/hostiletest"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// hostileRun is one takos-apply invocation in a simulated Actions step
// whose every server is the hostile fake, authenticating by GitHub OIDC.
type hostileRun struct {
	args           []string
	stdout, stderr string
	code           int
}

func runHostile(t testing.TB, h *hostiletest.Server, args ...string) hostileRun {
	t.Helper()
	dir := t.TempDir()
	writeManifest(t, dir)
	env := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_OUTPUT":                  filepath.Join(dir, "output"),
		"GITHUB_ENV":                     filepath.Join(dir, "env"),
		"GITHUB_STEP_SUMMARY":            filepath.Join(dir, "summary"),
		"ACTIONS_ID_TOKEN_REQUEST_URL":   h.RequestURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": h.RequestToken,
		"TAKOS_API_URL":                  h.URL,
		"TAKOS_AUTH":                     "github-oidc",
		"HOME":                           dir,
	}
	for _, f := range []string{"output", "env", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	full := append(append([]string{}, args...), "--timeout", "2s")
	if args[0] != "auth" {
		full = append(full, filepath.Join(dir, ".takos", "app.yml"))
	}
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), full, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	return hostileRun{args: args, stdout: stdout.String(), stderr: stderr.String(), code: code}
}

// assertNoInjectedCommand fails when a line of either stream would make
// the runner do something takos-apply did not mean: the only workflow
// commands allowed are add-mask of a credential the fake issued, and
// error/warning/notice annotations titled by takos-apply. No line may hold
// a raw control character or a legacy "##[" command, and no credential may
// appear outside its mask.
func assertNoInjectedCommand(t testing.TB, r hostileRun, secrets []string) {
	t.Helper()
	for stream, out := range map[string]string{"stdout": r.stdout, "stderr": r.stderr} {
		for i, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			where := func() string { return stream + " line " + strconv.Itoa(i+1) + " of " + strings.Join(r.args, " ") }
			for _, c := range line {
				if c != '\t' && safetext.HasControl(string(c)) {
					t.Errorf("%s holds raw %U: %q", where(), c, line)
				}
			}
			if strings.Contains(line, "##[") {
				t.Errorf("%s holds a legacy command: %q", where(), line)
			}
			name, props, data, ok := parseCommand(line)
			if !ok {
				for _, s := range secrets {
					if strings.Contains(line, s) {
						t.Errorf("%s shows a credential outside a mask: %q", where(), line)
					}
				}
				continue
			}
			switch name {
			case "add-mask":
				if !contains(secrets, data) {
					t.Errorf("%s masks %q, which is no credential the fake issued: %q", where(), data, line)
				}
			case "error", "warning", "notice":
				if !strings.HasPrefix(props["title"], "takos-apply") {
					t.Errorf("%s is an annotation takos-apply did not title: %q", where(), line)
				}
			default:
				t.Errorf("%s starts workflow command %q: %q", where(), name, line)
			}
		}
	}
}

// parseCommand reads line as actions/runner's ActionCommand.TryParseV2
// does (leading white space trimmed, "::name props::data"), with
// properties and data unescaped.
func parseCommand(line string) (name string, props map[string]string, data string, ok bool) {
	s := strings.TrimLeft(line, " \t\u00a0")
	if !strings.HasPrefix(s, "::") {
		return "", nil, "", false
	}
	rest := s[2:]
	end := strings.Index(rest, "::")
	if end < 0 {
		// The runner ignores it, but nothing of ours looks like this.
		return rest, nil, "", true
	}
	head, data := rest[:end], rest[end+2:]
	props = map[string]string{}
	name, ps, _ := strings.Cut(head, " ")
	for _, p := range strings.Split(ps, ",") {
		if k, v, found := strings.Cut(p, "="); found {
			props[k] = unescapeRunner(v)
		}
	}
	return name, props, unescapeRunner(data), true
}

func unescapeRunner(s string) string {
	return strings.NewReplacer("%0D", "\r", "%0A", "\n", "%3A", ":", "%2C", ",", "%25", "%").Replace(s)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var hostileCommands = [][]string{
	{"plan"},
	{"plan", "--format", "json"},
	{"apply"},
	{"apply", "--format", "json"},
	{"apply", "--rotate-secret"},
	// The fake lists c_other with the hostile text, controls included, as
	// its name: pinned, the plan renames it and shows that name.
	{"plan", "--client-id", "c_other"},
	{"apply", "--client-id", "c_other"},
	{"auth", "debug"},
}

// TestHostileServers runs plan, apply, rotate and auth debug against a
// control plane, STS and OIDC endpoint that put command sequences into
// every field, and checks that no output line starts a workflow command
// but takos-apply's own.
func TestHostileServers(t *testing.T) {
	scenarios := []struct {
		name string
		opt  hostiletest.Options
		// shown is text that must reach the output (escaped), proving the
		// hostile values were rendered and not merely dropped.
		shown string
	}{
		{"update of a hostile client", hostiletest.Options{Name: "Demo"}, "::error title=pwned::injected"},
		{"create with a hostile reply", hostiletest.Options{}, ""},
		{"controls in URIs are refused", hostiletest.Options{Name: "Demo", RawURIs: true}, ""},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			for _, args := range hostileCommands {
				h := hostiletest.New(t, sc.opt)
				r := runHostile(t, h, args...)
				assertNoInjectedCommand(t, r, h.Issued())
				if sc.shown != "" && args[0] == "plan" && args[len(args)-1] == "plan" && !strings.Contains(r.stdout, sc.shown) {
					t.Errorf("%v: stdout does not show the hostile value %q:\n%s", args, sc.shown, r.stdout)
				}
				// auth debug prints the JWT's claims and the issued token's
				// type and scopes, all hostile: they must be shown, inert.
				if args[0] == "auth" && (r.code != ExitOK || strings.Count(r.stdout, "::error title=pwned::injected") < 3) {
					t.Errorf("auth debug = exit %d, stdout does not show the hostile claims:\n%s", r.code, r.stdout)
				}
			}
		})
	}
	t.Run("refused values are a server error", func(t *testing.T) {
		h := hostiletest.New(t, hostiletest.Options{Name: "Demo", RawURIs: true})
		r := runHostile(t, h, "plan")
		if r.code != ExitFailure || !strings.Contains(r.stderr, "holds a control character, which the API never accepts") {
			t.Errorf("plan against a list with control characters = exit %d, stderr %q; want exit 3 naming the refusal", r.code, r.stderr)
		}
	})
}

// TestHostileErrors: every endpoint in turn, then all at once, answers
// each error status with the hostile text in every error field and header.
func TestHostileErrors(t *testing.T) {
	statuses := []int{http.StatusFound, http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusServiceUnavailable}
	for _, e := range hostiletest.Endpoints {
		t.Run(string(e), func(t *testing.T) {
			t.Parallel()
			for _, status := range statuses {
				for _, args := range [][]string{{"apply"}, {"auth", "debug"}} {
					h := hostiletest.New(t, hostiletest.Options{Name: "Demo"})
					h.Override(e, h.ErrorReply(status))
					assertNoInjectedCommand(t, runHostile(t, h, args...), h.Issued())
				}
			}
			// A 2xx that is not JSON, with a hostile Content-Type.
			h := hostiletest.New(t, hostiletest.Options{Name: "Demo"})
			h.Override(e, hostiletest.Reply{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/html; x=" + visible(hostiletest.Text)}},
				Body: []byte(hostiletest.Text)})
			assertNoInjectedCommand(t, runHostile(t, h, "apply"), h.Issued())
		})
	}
	t.Run("every endpoint", func(t *testing.T) {
		t.Parallel()
		for _, status := range statuses {
			h := hostiletest.New(t, hostiletest.Options{Name: "Demo"})
			h.FailAll(status)
			for _, args := range hostileCommands {
				assertNoInjectedCommand(t, runHostile(t, h, args...), h.Issued())
			}
		}
	})
}

// FuzzHostileReplies feeds random replies from one endpoint (status, a
// Content-Type, a header echoed in errors and the body) and random text in
// every field of the others, runs apply, and asserts that no output line
// starts a workflow command except takos-apply's own.
func FuzzHostileReplies(f *testing.F) {
	f.Add(uint8(1), uint16(200), "application/json", `{"clients":[{"client_id":"c_1","name":"Demo","redirect_uris":["::error::x"]}]}`, "x\n::add-mask::y", hostiletest.Text)
	f.Add(uint8(2), uint16(201), "application/json", `{"client_id":"c_2","client_secret":"s\n::error::x"}`, "", "::warning::w")
	f.Add(uint8(5), uint16(400), "application/json", `{"error":"::error::x","error_description":"\u2028::notice::y"}`, "::debug::d", "\r::add-mask::z")
	f.Add(uint8(0), uint16(302), "text/plain", "::stop-commands::t", "/x\r\n::error::h", "##[set-env name=A]b")
	f.Fuzz(func(t *testing.T, endpoint uint8, status uint16, ctype, body, header, text string) {
		if len(body) > 1<<14 {
			t.Skip()
		}
		code := 200 + int(status)%400 // every 2xx to 5xx
		if text == "" {
			text = hostiletest.Text
		}
		h := hostiletest.New(t, hostiletest.Options{Name: "Demo", Text: text})
		hdr := http.Header{}
		hdr.Set("Content-Type", visible(ctype))
		hdr.Set("Location", visible(header))
		hdr.Set("WWW-Authenticate", visible(header))
		hdr.Set("Retry-After", "0") // retries must not sleep in a fuzz loop
		h.Override(hostiletest.Endpoints[int(endpoint)%len(hostiletest.Endpoints)], hostiletest.Reply{Status: code, Header: hdr, Body: []byte(body)})
		assertNoInjectedCommand(t, runHostile(t, h, "apply"), h.Issued())
	})
}

// visible is s with its control characters turned into spaces: the text a
// header can carry to a client that parses it.
func visible(s string) string {
	return strings.Map(func(r rune) rune {
		if safetext.HasControl(string(r)) {
			return ' '
		}
		return r
	}, s)
}

// hostileManifest puts command sequences into every kind of value lint
// quotes: the client name, a redirect URI, a scope, the description and
// the logo URI.
const hostileManifest = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: "inject\n::error title=pwned::meta"
spec:
  version: 1.0.0
  oauth:
    clientName: "x\n::set-output name=x::y\r::add-mask::Heldout"
    redirectUris:
      - "https://a.example/cb\n::warning::uri"
      - "::error::cb"
    scopes: ["openid", "::stop-commands::tok", "\u2028::notice::s"]
    logoUri: "https://a.example/l.png\u0085::debug::nel"
    description: |
      ::add-mask::hidden
      ##[set-env name=A;]b
`

// TestHostileManifestLint: in Actions mode, every lint format writes only
// takos-apply's own annotations as workflow commands, whatever the
// manifest holds.
func TestHostileManifestLint(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(path, []byte(hostileManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_ACTIONS": "true", "HOME": dir}
	for _, format := range []string{"github", "text", "json", "sarif"} {
		var stdout, stderr bytes.Buffer
		args := []string{"lint", "--format", format, path}
		code := Run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
		if code != ExitFindings {
			t.Errorf("lint --format %s = exit %d, want 1 (the manifest has errors)", format, code)
		}
		assertNoInjectedCommand(t, hostileRun{args: args, stdout: stdout.String(), stderr: stderr.String(), code: code}, nil)
		if format == "github" && !strings.Contains(stdout.String(), "::error file=") {
			t.Errorf("lint --format github wrote no annotation:\n%s", stdout.String())
		}
	}
}

// TestLintHidesCredentials: a manifest line that carries a credential (a
// PAT pasted as a scope, a JWS under an unknown key) is never printed in
// the clear by any format or by plan, though its finding is: the snippet
// and the message mask it by its shape, and the caret still points at the
// column.
func TestLintHidesCredentials(t *testing.T) {
	const pat = "tak_pat_PASTEDbyMISTAKE0123456789abcdefABCDEF"
	const jws = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2ln"
	dir := t.TempDir()
	path := filepath.Join(dir, "app.yml")
	src := "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: demo\nspec:\n  version: 1.0.0\n  token: " + jws + "\n" +
		"  oauth:\n    clientName: Demo\n    redirectUris: [https://demo.example.com/cb]\n    scopes: [" + pat + ", openid]\n"
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "github", "json", "sarif"} {
		code, out, errOut := run(t, map[string]string{"NO_COLOR": "1"}, "lint", "--format", format, path)
		if code != ExitFindings {
			t.Errorf("lint --format %s = %d, want 1", format, code)
		}
		for _, secret := range []string{pat[8:], jws[3:]} {
			if strings.Contains(out+errOut, secret) {
				t.Errorf("lint --format %s prints a credential:\n%s%s", format, out, errOut)
			}
		}
		masked := "tak_pat_" + strings.Repeat("*", len(pat)-len("tak_pat_"))
		if format == "text" && !strings.Contains(out, " 11 |     scopes: ["+masked+", openid]\n    |              ^") {
			t.Errorf("lint text snippet is not masked in place:\n%s", out)
		}
	}
	cp := devservertest.New(t)
	_, out, errOut := run(t, map[string]string{"TAKOS_API_URL": cp.URL, "TAKOS_TOKEN": cp.Token}, "plan", path)
	if strings.Contains(out+errOut, pat[8:]) || strings.Contains(out+errOut, jws[3:]) || !strings.Contains(errOut, "scope-unknown") {
		t.Errorf("plan shows a credential, or not the finding:\n%s%s", out, errOut)
	}
}
