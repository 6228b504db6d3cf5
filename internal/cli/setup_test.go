package cli

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/export/exporttest"
)

// world is one script's set of loopback fakes: a GitHub OIDC issuer, an
// RFC 8693 STS that trusts it, and a control plane that accepts the STS's
// tokens or its PAT.
type world struct {
	gh  *authtest.GitHubOIDC
	sts *authtest.STS
	cp  *devserver.Server
	gcp *authtest.Google
}

func setupScript(t *testing.T) func(env *testscript.Env) error {
	return func(env *testscript.Env) error {
		w := &world{gh: authtest.NewGitHubOIDC(t)}
		w.sts = authtest.NewSTS(t, w.gh.Issuer, authtest.STSOptions{Subject: "repo:octo-org/octo-repo:environment:production"})
		w.cp = devservertest.New(t, devserver.WithFederation(func(tok string) (string, bool) {
			_, ok := w.sts.Lookup(tok)
			// A control plane behind Google workload identity accepts the
			// Google-issued bearer (access or ID token).
			ok = ok || slices.Contains(w.gcp.Issued(), tok)
			return devserver.DefaultOwner, ok
		}))
		// Google workload identity federation: STS + IAM Credentials fakes
		// and the external_account file google-github-actions/auth writes.
		w.gcp = authtest.NewGoogle(t, w.gh.Issuer, authtest.GoogleOptions{})
		if err := os.WriteFile(filepath.Join(env.WorkDir, "gcp-credentials.json"), w.gcp.CredentialsJSON(w.gh, true), 0o600); err != nil {
			return err
		}
		env.Values["world"] = w
		env.Setenv("NO_COLOR", "1")
		env.Setenv("CP_URL", w.cp.URL)
		env.Setenv("CP_TOKEN", w.cp.Token)
		env.Setenv("STS_URL", w.sts.URL)
		env.Setenv("STS_TOKEN_URL", w.sts.TokenURL)
		env.Setenv("GH_REQ_URL", w.gh.RequestURL)
		env.Setenv("GH_REQ_TOKEN", w.gh.RequestToken)
		env.Setenv("GH_ISSUER", w.gh.Issuer)
		return nil
	}
}

func worldOf(ts *testscript.TestScript) *world { return ts.Value("world").(*world) }

// secrets returns every secret value the fakes ever issued or hold: client
// secrets, GitHub JWTs, the OIDC request token, STS access tokens, the PAT.
func (w *world) secrets() []string {
	out := slices.Clone(w.cp.IssuedSecrets())
	out = append(out, w.gh.Issued()...)
	out = append(out, w.gh.RequestToken, w.cp.Token)
	out = append(out, w.sts.Issued()...)
	out = append(out, w.gcp.Issued()...)
	out = append(out, w.cp.IssuedPATs()...)
	return out
}

var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// waitbroker FILE waits (up to 30 s) for a broker started in the
	// background to write its --addr-file, then sets BROKER_URL.
	"waitbroker": func(ts *testscript.TestScript, neg bool, args []string) {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if b, err := os.ReadFile(ts.MkAbs(args[0])); err == nil && strings.HasSuffix(string(b), "\n") {
				ts.Setenv("BROKER_URL", "http://"+strings.TrimSpace(string(b)))
				return
			}
		}
		ts.Fatalf("the broker did not write %s", args[0])
	},
	// ghclaim NAME VALUE makes the GitHub fake issue tokens whose claim
	// NAME is VALUE (a run a fork triggered, another ref...).
	"ghclaim": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: ghclaim NAME VALUE")
		}
		worldOf(ts).gh.SetClaim(args[0], args[1])
	},
	// nopats fails when the control plane holds any PAT besides its own
	// (the broker never makes one for a job).
	"nopats": func(ts *testscript.TestScript, neg bool, args []string) {
		if pats := worldOf(ts).cp.PATs(); len(pats) > 0 {
			ts.Fatalf("%d PATs exist on the control plane, want none: %+v", len(pats), pats)
		}
	},
	// mode FILE prints the file's permission bits in octal.
	"mode": func(ts *testscript.TestScript, neg bool, args []string) {
		st, err := os.Stat(ts.MkAbs(args[0]))
		if err != nil {
			ts.Fatalf("%v", err)
		}
		fmt.Fprintf(ts.Stdout(), "%o\n", st.Mode().Perm())
	},
	// cpstate prints the control plane's clients: "active NAME" or
	// "revoked NAME" per client, oldest first, then the count of writes.
	"cpstate": func(ts *testscript.TestScript, neg bool, args []string) {
		w := worldOf(ts)
		for _, c := range w.cp.Clients() {
			ts.Stdout().Write([]byte(fmt.Sprintf("%s %s\n", c.Status, c.Name)))
		}
		writes := 0
		for _, r := range w.cp.Requests() {
			if r.Method != "GET" {
				writes++
			}
		}
		fmt.Fprintf(ts.Stdout(), "writes %d\n", writes)
	},
	// cpfault METHOD PATH KIND [STATUS] injects a fault into the control plane.
	"cpfault": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 3 {
			ts.Fatalf("usage: cpfault METHOD PATH KIND [STATUS]")
		}
		kinds := map[string]devserver.FaultKind{
			"status-before": devserver.StatusBeforeAct, "status-after": devserver.StatusAfterAct,
			"reset-before": devserver.ResetBeforeAct, "reset-after": devserver.ResetAfterAct,
			"malformed": devserver.MalformedJSON, "redirect": devserver.Redirect,
		}
		k, ok := kinds[args[2]]
		if !ok {
			ts.Fatalf("unknown fault kind %q", args[2])
		}
		f := devserver.Fault{Method: args[0], Path: args[1], Kind: k}
		if len(args) > 3 {
			fmt.Sscan(args[3], &f.Status)
		}
		worldOf(ts).cp.Inject(f)
	},
	// cpburn PATH N sends N form-encoded POSTs to the control plane's PATH
	// (an /oauth endpoint), filling its rate limiter as other callers would.
	"cpburn": func(ts *testscript.TestScript, neg bool, args []string) {
		var n int
		if len(args) != 2 {
			ts.Fatalf("usage: cpburn PATH N")
		}
		if _, err := fmt.Sscan(args[1], &n); err != nil {
			ts.Fatalf("cpburn: %v", err)
		}
		url := worldOf(ts).cp.URL + args[0]
		for range n {
			resp, err := http.Post(url, "application/x-www-form-urlencoded", strings.NewReader("grant_type=refresh_token"))
			if err != nil {
				ts.Fatalf("cpburn: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				ts.Fatalf("cpburn: %s was rate limited before %d requests", args[0], n)
			}
		}
	},
	// ghfile FILE prints the records of a GitHub file-command file (the
	// runner's name<<DELIM format) as name=value, with every value that is
	// an issued secret shown as [secret] and client ids as [client N]
	// (N in creation order), so scripts can compare exact content.
	"ghfile": func(ts *testscript.TestScript, neg bool, args []string) {
		w := worldOf(ts)
		recs, err := exporttest.ParseFileCommands(ts.ReadFile(args[0]))
		if err != nil {
			ts.Fatalf("%s: %v", args[0], err)
		}
		for _, r := range recs {
			fmt.Fprintf(ts.Stdout(), "%s=%s\n", r.Name, w.symbolic(r.Value))
		}
	},
	// leakcheck FILE... fails when a file contains any secret the fakes
	// issued, except on a line "::add-mask::SECRET" or, with -label, the
	// labelled one-time print "  OAUTH_CLIENT_SECRET=SECRET".
	"leakcheck": func(ts *testscript.TestScript, neg bool, args []string) {
		label := false
		if len(args) > 0 && args[0] == "-label" {
			label, args = true, args[1:]
		}
		w := worldOf(ts)
		secrets := w.secrets()
		for _, f := range args {
			sc := bufio.NewScanner(strings.NewReader(ts.ReadFile(f)))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for n := 1; sc.Scan(); n++ {
				line := sc.Text()
				// The broker's access tokens are issued in another
				// process: recognised by shape.
				for _, tok := range accessToken.FindAllString(line, -1) {
					if line != "::add-mask::"+tok {
						ts.Fatalf("%s:%d leaks a broker access token: %q", f, n, strings.ReplaceAll(line, tok, "<ACCESS TOKEN>"))
					}
				}
				for _, s := range secrets {
					if s == "" || !strings.Contains(line, s) {
						continue
					}
					if line == "::add-mask::"+s || (label && line == "  OAUTH_CLIENT_SECRET="+s) {
						continue
					}
					ts.Fatalf("%s:%d leaks a secret: %q", f, n, strings.ReplaceAll(line, s, "<SECRET>"))
				}
			}
		}
	},
	// secretmasked FILE fails unless FILE masks at least one client secret
	// and masks every client secret it mentions before any other line does.
	"secretmasked": func(ts *testscript.TestScript, neg bool, args []string) {
		text := ts.ReadFile(args[0])
		masked := 0
		for _, s := range worldOf(ts).cp.IssuedSecrets() {
			first := strings.Index(text, s)
			if first < 0 {
				continue
			}
			if !strings.HasPrefix(text[max(first-len("::add-mask::"), 0):], "::add-mask::"+s) {
				ts.Fatalf("%s: a client secret appears before it is masked", args[0])
			}
			masked++
		}
		if masked == 0 {
			ts.Fatalf("%s: no client secret is masked", args[0])
		}
	},
}

// accessToken is the shape of a broker access token (broker.AccessTokenPrefix).
var accessToken = regexp.MustCompile(`takb_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+`)

// symbolic replaces random values with stable names for golden output.
func (w *world) symbolic(v string) string {
	if slices.Contains(w.cp.IssuedSecrets(), v) {
		return "[secret]"
	}
	for i, c := range w.cp.Clients() {
		if c.ClientID == v {
			return fmt.Sprintf("[client %d]", i+1)
		}
	}
	return v
}
