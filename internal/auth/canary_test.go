package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
)

// TestSecretCanary runs every mode, successful and failing, with known
// secret values, and asserts that none of them reaches an error, a debug
// report, the claims, or the fakes' logs, and that every one reached Mask,
// the only intended sink.
func TestSecretCanary(t *testing.T) {
	const envPAT = "tak_pat_CANARYenvAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	const filePAT = "tak_pat_CANARYfileBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"

	gh := authtest.NewGitHubOIDC(t)
	sts := authtest.NewSTS(t, gh.Issuer, authtest.STSOptions{})
	strictSTS := authtest.NewSTS(t, gh.Issuer, authtest.STSOptions{Subject: "repo:nobody/else:ref:refs/heads/main"})
	g := authtest.NewGoogle(t, gh.Issuer, authtest.GoogleOptions{})
	gDeny := authtest.NewGoogle(t, gh.Issuer, authtest.GoogleOptions{DenyIDToken: true})
	// A hostile token endpoint that echoes the subject token back in its
	// error description and a header.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Retry-After", r.PostForm.Get("subject_token"))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant",
			"error_description": "bad token " + r.PostForm.Get("subject_token")})
	}))
	defer echo.Close()
	// A token endpoint that answers a malformed body containing a token.
	leaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"access_token":"sts_at_LEAKYCANARY0123456789","token_type":"mac"}`))
	}))
	defer leaky.Close()

	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".takos", "config.json"), `{"token":"`+filePAT+`","apiUrl":"https://takos.jp"}`, 0o600)
	badHome := t.TempDir()
	writeFile(t, filepath.Join(badHome, ".takos", "config.json"), `{"token":"`+filePAT+`"}`, 0o644)
	oidcEnv := env(gh.Env())

	sink := &maskSink{}
	runs := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"token env", Config{Getenv: env{envToken: envPAT}.get}, true},
		{"token config.json", Config{Mode: ModeToken, HomeDir: home, Getenv: env{}.get}, true},
		{"token config.json refused", Config{Mode: ModeToken, HomeDir: badHome, Getenv: env{}.get}, false},
		{"token env with newline", Config{Getenv: env{envToken: envPAT + "\nX: y"}.get}, false},
		{"github-oidc", Config{ControlPlaneURL: sts.URL, Getenv: oidcEnv.get}, true},
		{"github-oidc trust policy mismatch", Config{ControlPlaneURL: strictSTS.URL, Getenv: oidcEnv.get}, false},
		{"github-oidc echoing endpoint", Config{ControlPlaneURL: sts.URL, TokenURL: echo.URL, Getenv: oidcEnv.get}, false},
		{"github-oidc leaky malformed response", Config{ControlPlaneURL: sts.URL, TokenURL: leaky.URL, Getenv: oidcEnv.get}, false},
		{"google impersonation", Config{Mode: ModeGoogle, GoogleCredentials: writeCredentials(t, g, gh, true)}, true},
		{"google ID token", Config{Mode: ModeGoogle, GoogleCredentials: writeCredentials(t, g, gh, true), GoogleIDTokenAudience: "https://cp.example"}, true},
		{"google ID token denied", Config{Mode: ModeGoogle, GoogleCredentials: writeCredentials(t, gDeny, gh, true), GoogleIDTokenAudience: "https://cp.example"}, false},
		{"google direct", Config{Mode: ModeGoogle, GoogleCredentials: writeCredentials(t, g, gh, false)}, true},
	}
	var surfaces []string // every non-secret output produced
	for _, run := range runs {
		cfg := run.cfg
		cfg.HTTP = testHTTP(0)
		cfg.Mask = sink.mask
		for _, viaDebug := range []bool{false, true} {
			var err error
			if viaDebug {
				var rep DebugReport
				rep, err = Debug(context.Background(), cfg)
				var buf bytes.Buffer
				if werr := rep.WriteText(&buf); werr != nil {
					t.Fatal(werr)
				}
				surfaces = append(surfaces, buf.String(), fmt.Sprintf("%+v %#v", rep, rep))
				if b, jerr := json.Marshal(rep.Claims); jerr == nil {
					surfaces = append(surfaces, string(b))
				}
			} else {
				var res *Resolved
				res, err = Resolve(context.Background(), cfg)
				if err == nil {
					_, err = res.Source.Token()
					surfaces = append(surfaces, fmt.Sprintf("%+v", res.Claims()), res.Reason)
				}
			}
			if (err == nil) != run.ok {
				t.Errorf("%s (debug=%v): error = %v, want success %v", run.name, viaDebug, err, run.ok)
			}
			if err != nil {
				surfaces = append(surfaces, err.Error(), fmt.Sprintf("%+v %#v", err, err))
				var ae *Error
				if errors.As(err, &ae) {
					surfaces = append(surfaces, fmt.Sprintf("%#v", ae.Claims))
					if ae.Err != nil {
						surfaces = append(surfaces, ae.Err.Error())
					}
				}
				for e := errors.Unwrap(err); e != nil; e = errors.Unwrap(e) {
					surfaces = append(surfaces, e.Error())
				}
			}
		}
	}
	for _, l := range []*authtest.Log{gh.Log, sts.Log, strictSTS.Log, g.Log, gDeny.Log} {
		surfaces = append(surfaces, fmt.Sprintf("%+v", l.Requests()))
	}

	secrets := map[string]string{"env PAT": envPAT, "file PAT": filePAT, "request token": gh.RequestToken,
		"leaky access token": "sts_at_LEAKYCANARY0123456789"}
	for i, v := range gh.Issued() {
		secrets[fmt.Sprintf("GitHub JWT %d", i)] = v
		// The signature alone is as good as a token for a replay hunt.
		secrets[fmt.Sprintf("GitHub JWT %d signature", i)] = v[strings.LastIndex(v, ".")+1:]
	}
	for i, v := range append(sts.Issued(), strictSTS.Issued()...) {
		secrets[fmt.Sprintf("STS token %d", i)] = v
	}
	for i, v := range append(g.Issued(), gDeny.Issued()...) {
		secrets[fmt.Sprintf("Google token %d", i)] = v
	}
	if len(gh.Issued()) < 8 || len(g.Issued()) < 4 {
		t.Fatalf("the runs issued %d GitHub and %d Google tokens; the canary would prove little", len(gh.Issued()), len(g.Issued()))
	}
	all := strings.Join(surfaces, "\n")
	for name, v := range secrets {
		if strings.Contains(all, v) {
			t.Errorf("the %s appears in an error, report or log", name)
		}
		if !sink.has(v) && !strings.HasSuffix(name, "signature") {
			t.Errorf("the %s was never passed to Mask", name)
		}
	}
	// The canary must be able to fail: the surfaces do carry the non-secret
	// context a user needs.
	mustContain(t, "outputs", all, "repo:octo-org/octo-repo:environment:production", "bad token [REDACTED]",
		"unsupported token_type \"mac\"", "chmod 600")
}
