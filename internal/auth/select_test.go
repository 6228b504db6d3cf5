package auth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
)

func TestAutoSelection(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	g := authtest.NewGoogle(t, gh.Issuer, authtest.GoogleOptions{})
	extFile := writeCredentials(t, g, gh, true)
	saFile := filepath.Join(t.TempDir(), "sa-key.json")
	writeFile(t, saFile, `{"type":"service_account","private_key":"x"}`, 0o600)
	homeWithConfig := t.TempDir()
	writeFile(t, filepath.Join(homeWithConfig, ".takos", "config.json"), `{"token":"tak_pat_fromfile0123456789","apiUrl":"https://takos.jp"}`, 0o600)

	tests := []struct {
		name       string
		env        env
		google     string // Config.GoogleCredentials
		actions    bool   // Config.GitHubActions
		home       string
		mode       Mode
		wantMode   Mode
		wantReason string
		wantErr    []string
		wantNotErr []string
	}{
		{name: "TAKOS_TOKEN wins over everything", env: env{envToken: "tak_pat_x", envOIDCRequestURL: gh.RequestURL,
			envOIDCRequestToken: "t"}, google: extFile, home: homeWithConfig,
			wantMode: ModeToken, wantReason: "auto: TAKOS_TOKEN is set"},
		{name: "OIDC request URL selects github-oidc", env: env{envOIDCRequestURL: gh.RequestURL, envOIDCRequestToken: "t"},
			google: extFile, home: homeWithConfig,
			wantMode: ModeGitHubOIDC, wantReason: "auto: ACTIONS_ID_TOKEN_REQUEST_URL is set (GitHub Actions job with id-token: write)"},
		{name: "OIDC URL without the request token is the permission error", env: env{envOIDCRequestURL: gh.RequestURL}, actions: true,
			home: homeWithConfig, wantErr: []string{"github-oidc: ACTIONS_ID_TOKEN_REQUEST_TOKEN not set", "id-token: write"}},
		{name: "external_account file selects google", google: extFile, home: homeWithConfig,
			wantMode: ModeGoogle, wantReason: "auto: " + extFile + " is an external_account credentials file"},
		{name: "service account key is skipped for config.json", google: saFile, home: homeWithConfig,
			wantMode: ModeToken, wantReason: "auto: " + filepath.Join(homeWithConfig, ".takos", "config.json") + " exists (takos login)"},
		{name: "config.json", env: env{}, home: homeWithConfig,
			wantMode: ModeToken, wantReason: "auto: " + filepath.Join(homeWithConfig, ".takos", "config.json") + " exists (takos login)"},
		{name: "nothing: the four ways", env: env{}, home: t.TempDir(),
			wantErr:    []string{"auth: no credentials found", "1. TAKOS_TOKEN", "2. GitHub OIDC", "3. Google workload identity federation", "4. ~/.takos/config.json"},
			wantNotErr: []string{"Dependabot"}},
		{name: "nothing in Actions adds the permission fix", actions: true, home: t.TempDir(),
			wantErr: []string{"no credentials found", "permissions:\n    id-token: write\n    contents: read", "forks and Dependabot"}},
		{name: "skipped sources are named", google: saFile, home: "",
			wantErr: []string{"no credentials found", "Skipped: " + saFile + " has type \"service_account\", not external_account"}},
		{name: "Config.Mode selects the mode, trimmed", mode: " token\n", env: env{envToken: "tak_pat_x"},
			wantMode: ModeToken, wantReason: "selected by --auth token / TAKOS_AUTH; token from TAKOS_TOKEN"},
		// Defaults from the environment are the CLI's: auth ignores them.
		{name: "TAKOS_AUTH is not read", env: env{"TAKOS_AUTH": "google", envToken: "tak_pat_x"},
			wantMode: ModeToken, wantReason: "auto: TAKOS_TOKEN is set"},
		{name: "GOOGLE_APPLICATION_CREDENTIALS is not read", env: env{"GOOGLE_APPLICATION_CREDENTIALS": extFile}, home: t.TempDir(),
			wantErr: []string{"no credentials found"}},
		{name: "unknown mode", mode: "aws", wantErr: []string{`unknown mode "aws"`, "auto, token, github-oidc or google"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Resolve(context.Background(), Config{Mode: tc.mode, ControlPlaneURL: "https://takos.jp",
				GoogleCredentials: tc.google, GitHubActions: tc.actions, Getenv: tc.env.get, HomeDir: tc.home, HTTP: testHTTP(0)})
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Resolve() = mode %q, want an error", res.Mode)
				}
				var ae *Error
				if !errors.As(err, &ae) {
					t.Errorf("Resolve() error is %T, want *Error", err)
				}
				mustContain(t, "Resolve() error", err.Error(), tc.wantErr...)
				for _, n := range tc.wantNotErr {
					if strings.Contains(err.Error(), n) {
						t.Errorf("Resolve() error = %q, want it without %q", err, n)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if res.Mode != tc.wantMode {
				t.Errorf("Resolve().Mode = %q, want %q", res.Mode, tc.wantMode)
			}
			if res.Reason != tc.wantReason {
				t.Errorf("Resolve().Reason = %q, want %q", res.Reason, tc.wantReason)
			}
		})
	}
	if n := len(gh.Log.Requests()) + len(g.Log.Requests()); n != 0 {
		t.Errorf("auto selection made %d requests, want 0", n)
	}
}

func TestExplicitModesNeverFallThrough(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	// home holds a usable config.json: a mode that fell through to it
	// would succeed instead of failing.
	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".takos", "config.json"), `{"token":"tak_pat_fromfile0123456789"}`, 0o600)
	emptyHome := t.TempDir()
	tests := []struct {
		name    string
		mode    Mode
		env     env
		actions bool
		home    string
		want    []string
	}{
		{"github-oidc with TAKOS_TOKEN but no id-token permission", ModeGitHubOIDC,
			env{envToken: "tak_pat_x"}, true, home,
			[]string{"github-oidc: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN not set",
				"permissions:\n    id-token: write\n    contents: read", "forks and Dependabot"}},
		{"github-oidc outside Actions", ModeGitHubOIDC, env{}, false, home,
			[]string{"GitHub OIDC works only inside a GitHub Actions job", "--auth token"}},
		{"google with TAKOS_TOKEN but no credentials file", ModeGoogle, env{envToken: "tak_pat_x"}, false, home,
			[]string{"google: no credentials file", "GOOGLE_APPLICATION_CREDENTIALS"}},
		// Token mode itself reads config.json, so this case needs a home
		// without one.
		{"token with OIDC available but no token", ModeToken, env{envOIDCRequestURL: gh.RequestURL, envOIDCRequestToken: gh.RequestToken},
			false, emptyHome, []string{"token: TAKOS_TOKEN is not set and", "config.json does not exist"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Resolve(context.Background(), Config{Mode: tc.mode, ControlPlaneURL: "https://takos.jp",
				GitHubActions: tc.actions, Getenv: tc.env.get, HomeDir: tc.home, HTTP: testHTTP(0)})
			if err == nil {
				t.Fatalf("Resolve() = mode %q (%s), want an error", res.Mode, res.Reason)
			}
			mustContain(t, "Resolve() error", err.Error(), tc.want...)
		})
	}
	if n := len(gh.Log.Requests()); n != 0 {
		t.Errorf("explicit modes made %d GitHub requests, want 0", n)
	}
}

func TestTokenMode(t *testing.T) {
	const pat = "tak_pat_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghi"
	tests := []struct {
		name     string
		env      env
		file     string
		perm     os.FileMode
		wantTok  string
		wantAPI  string
		wantErr  []string
		noConfig bool
	}{
		{name: "TAKOS_TOKEN", env: env{envToken: pat}, noConfig: true, wantTok: pat},
		{name: "TAKOS_TOKEN trimmed", env: env{envToken: " " + pat + "\n"}, noConfig: true, wantTok: pat},
		{name: "TAKOS_TOKEN with an inner newline", env: env{envToken: "tak_pat_a\nX-Injected: 1"}, noConfig: true,
			wantErr: []string{"TAKOS_TOKEN contains whitespace"}},
		{name: "config.json 0600", file: `{"token":"` + pat + `","apiUrl":"https://takos.jp"}`, perm: 0o600,
			wantTok: pat, wantAPI: "https://takos.jp"},
		{name: "config.json 0400", file: `{"token":"` + pat + `"}`, perm: 0o400, wantTok: pat},
		{name: "config.json 0644 refused", file: `{"token":"` + pat + `"}`, perm: 0o644,
			wantErr: []string{"config.json is readable by group or others (mode 0644)", "fix: run: chmod 600 "}},
		{name: "config.json 0640 refused", file: `{"token":"` + pat + `"}`, perm: 0o640,
			wantErr: []string{"(mode 0640)", "chmod 600"}},
		{name: "config.json 0604 refused", file: `{"token":"` + pat + `"}`, perm: 0o604, wantErr: []string{"(mode 0604)"}},
		{name: "config.json without token", file: `{"apiUrl":"https://takos.jp"}`, perm: 0o600,
			wantErr: []string{"has no token", "takos login"}},
		{name: "config.json not JSON", file: `token=` + pat, perm: 0o600, wantErr: []string{"is not valid JSON"}},
		{name: "config.json with an http apiUrl", file: `{"token":"` + pat + `","apiUrl":"http://takos.example"}`, perm: 0o600,
			wantErr: []string{"apiUrl in", "plain http is allowed only to loopback"}},
		{name: "config.json with a loopback apiUrl", file: `{"token":"` + pat + `","apiUrl":"http://localhost:8787"}`, perm: 0o600,
			wantTok: pat, wantAPI: "http://localhost:8787"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if !tc.noConfig {
				writeFile(t, filepath.Join(home, ".takos", "config.json"), tc.file, tc.perm)
			}
			sink := &maskSink{}
			res, err := Resolve(context.Background(), Config{Mode: ModeToken, Getenv: tc.env.get, HomeDir: home, Mask: sink.mask})
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Resolve() succeeded, want an error")
				}
				mustContain(t, "Resolve() error", err.Error(), tc.wantErr...)
				if strings.Contains(err.Error(), pat) {
					t.Errorf("Resolve() error contains the token")
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			tok, err := res.Source.Token()
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if tok.AccessToken != tc.wantTok || tok.Type() != "Bearer" {
				t.Errorf("Token() = (%d chars, %q), want the PAT as a Bearer", len(tok.AccessToken), tok.Type())
			}
			if res.APIURL != tc.wantAPI {
				t.Errorf("Resolve().APIURL = %q, want %q", res.APIURL, tc.wantAPI)
			}
			// Explicit mode: the reason names the source actually used.
			wantReason := "selected by --auth token / TAKOS_AUTH; token from TAKOS_TOKEN"
			if !tc.noConfig {
				wantReason = "selected by --auth token / TAKOS_AUTH; token from " + filepath.Join(home, ".takos", "config.json")
			}
			if res.Reason != wantReason {
				t.Errorf("Resolve().Reason = %q, want %q", res.Reason, wantReason)
			}
			if !sink.has(pat) {
				t.Errorf("the PAT was not passed to Mask")
			}
		})
	}
}

func TestAutoReadsCredentialsOnce(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	g := authtest.NewGoogle(t, gh.Issuer, authtest.GoogleOptions{})
	path := writeCredentials(t, g, gh, false)
	var mu sync.Mutex
	reads := map[string]int{}
	readFile := func(p string) ([]byte, error) {
		mu.Lock()
		reads[p]++
		mu.Unlock()
		return os.ReadFile(p)
	}
	res, err := Resolve(context.Background(), Config{GoogleCredentials: path,
		ReadFile: readFile, HTTP: testHTTP(0)})
	if err != nil {
		t.Fatalf("Resolve() error = %v", err)
	}
	if res.Mode != ModeGoogle {
		t.Fatalf("Resolve().Mode = %q, want %q", res.Mode, ModeGoogle)
	}
	if got := reads[path]; got != 1 {
		t.Errorf("auto mode read %s %d times, want 1", path, got)
	}
}
