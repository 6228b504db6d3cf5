package auth

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

type googleSetup struct {
	gh   *authtest.GitHubOIDC
	g    *authtest.Google
	sink *maskSink
	cfg  Config
}

func newGoogleSetup(t *testing.T, opts authtest.GoogleOptions, impersonate bool) *googleSetup {
	t.Helper()
	gh := authtest.NewGitHubOIDC(t)
	g := authtest.NewGoogle(t, gh.Issuer, opts)
	sink := &maskSink{}
	return &googleSetup{gh: gh, g: g, sink: sink, cfg: Config{
		Mode:              ModeGoogle,
		ControlPlaneURL:   "https://takos.example",
		GoogleCredentials: writeCredentials(t, g, gh, impersonate),
		HTTP:              testHTTP(2 * time.Second),
		Mask:              sink.mask,
	}}
}

func TestGoogleEndToEnd(t *testing.T) {
	tests := []struct {
		name        string
		impersonate bool
		idAudience  string
		wantPrefix  string
		wantIssued  string
		wantPaths   []string
	}{
		{name: "direct workload identity federation", wantPrefix: "ya29.fed_", wantIssued: oauthwire.TokenTypeAccessToken,
			wantPaths: []string{authtest.GoogleSTSPath}},
		{name: "service account impersonation", impersonate: true, wantPrefix: "ya29.imp_", wantIssued: oauthwire.TokenTypeAccessToken,
			wantPaths: []string{authtest.GoogleSTSPath, authtest.GoogleIAMPrefix + "takos-deployer@example-project.iam.gserviceaccount.com:generateAccessToken"}},
		{name: "ID token for Cloud Run", impersonate: true, idAudience: "https://takos-cp-abc123-an.a.run.app",
			wantPrefix: "eyJ", wantIssued: oauthwire.TokenTypeIDToken,
			wantPaths: []string{authtest.GoogleSTSPath, authtest.GoogleIAMPrefix + "takos-deployer@example-project.iam.gserviceaccount.com:generateIdToken"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newGoogleSetup(t, authtest.GoogleOptions{}, tc.impersonate)
			s.cfg.GoogleIDTokenAudience = tc.idAudience
			res, err := Resolve(context.Background(), s.cfg)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			tok, err := res.Source.Token()
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if !strings.HasPrefix(tok.AccessToken, tc.wantPrefix) {
				t.Errorf("Token() has the wrong kind of token (want prefix %q)", tc.wantPrefix)
			}
			if got := tok.Extra("issued_token_type"); got != tc.wantIssued {
				t.Errorf("issued_token_type = %v, want %s", got, tc.wantIssued)
			}
			if d := time.Until(tok.Expiry); d < 55*time.Minute || d > 61*time.Minute {
				t.Errorf("Token().Expiry in %v, want about 1h", d)
			}
			var paths []string
			for _, r := range s.g.Log.Requests() {
				paths = append(paths, r.Path)
			}
			if strings.Join(paths, " ") != strings.Join(tc.wantPaths, " ") {
				t.Errorf("Google requests = %q, want %q", paths, tc.wantPaths)
			}
			sts := reqsTo(s.g.Log, authtest.GoogleSTSPath)[0]
			if got := sts.Form.Get("audience"); got != s.g.Audience {
				t.Errorf("STS audience = %q, want %q", got, s.g.Audience)
			}
			if got := reqsTo(s.gh.Log, authtest.GitHubTokenPath)[0].Query.Get("audience"); got != s.g.SubjectAudience {
				t.Errorf("GitHub audience = %q, want %q", got, s.g.SubjectAudience)
			}
			if tc.idAudience != "" {
				claims, err := s.g.VerifyIDToken(tok.AccessToken)
				if err != nil {
					t.Fatalf("VerifyIDToken() error = %v", err)
				}
				if claims["aud"] != tc.idAudience || claims["email"] != s.g.ServiceAccount {
					t.Errorf("ID token aud, email = %v, %v; want %q, %q", claims["aud"], claims["email"], tc.idAudience, s.g.ServiceAccount)
				}
			}
			if got := res.Claims()["sub"]; got != "repo:octo-org/octo-repo:environment:production" {
				t.Errorf("Claims()[sub] = %v, want the GitHub subject", got)
			}
			// Every secret is masked: request token, GitHub JWT, every Google token.
			for _, v := range append(append([]string{s.gh.RequestToken}, s.gh.Issued()...), s.g.Issued()...) {
				if !s.sink.has(v) {
					t.Errorf("a secret (prefix %.8q) was not passed to Mask", v)
				}
			}
			// Cached: a second call makes no request.
			n := len(s.g.Log.Requests())
			if _, err := res.Source.Token(); err != nil {
				t.Fatal(err)
			}
			if got := len(s.g.Log.Requests()); got != n {
				t.Errorf("second Token() made %d Google requests, want 0", got-n)
			}
		})
	}
}

func TestGoogleFaults(t *testing.T) {
	tests := []struct {
		name        string
		opts        authtest.GoogleOptions
		impersonate bool
		idAudience  string
		setup       func(*googleSetup)
		wantErr     []string
		wantNot     []string
		claims      bool
	}{
		{name: "STS 503 then success", setup: func(s *googleSetup) { s.g.Fail(1, authtest.Fault503("1")) }},
		{name: "STS 500 until the attempts run out", setup: func(s *googleSetup) { s.g.Fail(5, authtest.Fault500) },
			wantErr: []string{"google: Google STS token exchange", "HTTP 500 server_error", "Google failed after retries"}, claims: true},
		{name: "GitHub token has the wrong audience", setup: func(s *googleSetup) {
			path := filepath.Join(t.TempDir(), "wrong-aud.json")
			data := strings.ReplaceAll(string(s.g.CredentialsJSON(s.gh, false)), url.QueryEscape(s.g.SubjectAudience), "https%3A%2F%2Fwrong.example")
			writeFile(t, path, data, 0o600)
			s.cfg.GoogleCredentials = path
		}, wantErr: []string{"HTTP 400 invalid_grant: The audience in ID Token does not match", "allowed audience",
			"GitHub token claims (non-secret):", "aud=https://wrong.example"}, claims: true},
		{name: "attribute condition", opts: authtest.GoogleOptions{Subject: "repo:octo-org/other:ref:refs/heads/main"},
			wantErr: []string{"unauthorized_client", "attribute condition rejected the GitHub token", "repository_id"}, claims: true},
		{name: "expired GitHub token", setup: func(s *googleSetup) { s.gh.SetLifetime(-time.Minute) },
			wantErr: []string{"invalid_grant", "must be unexpired", "The GitHub token expired at"}, claims: true},
		{name: "impersonation denied", impersonate: true, opts: authtest.GoogleOptions{DenyAccessToken: true},
			wantErr: []string{"google: service account impersonation", "HTTP 403 PERMISSION_DENIED: Permission 'iam.serviceAccounts.getAccessToken' denied",
				"grant principalSet://iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/github/attribute.repository/octo-org/octo-repo roles/iam.workloadIdentityUser"},
			claims: true},
		{name: "ID token denied", impersonate: true, idAudience: "https://cp.example", opts: authtest.GoogleOptions{DenyIDToken: true},
			wantErr: []string{"google: generateIdToken", "HTTP 403 PERMISSION_DENIED", "may not mint ID tokens for takos-deployer@",
				"roles/iam.serviceAccountOpenIdTokenCreator"}, claims: true},
		{name: "GitHub request token refused", setup: func(s *googleSetup) {
			path := filepath.Join(t.TempDir(), "bad.json")
			data := strings.ReplaceAll(string(s.g.CredentialsJSON(s.gh, false)), s.gh.RequestToken, "wrong-request-token")
			writeFile(t, path, data, 0o600)
			s.cfg.GoogleCredentials = path
		}, wantErr: []string{"google: fetching the GitHub token (credential_source.url)", "HTTP 401", "id-token: write"}},
		{name: "STS malformed JSON", setup: func(s *googleSetup) { s.g.Fail(1, authtest.FaultMalformed) },
			wantErr: []string{"google", "failed to unmarshal response body"}, claims: true},
		// The service account is decoded from the URL's path: %0A is a line
		// break that must not forge a line of the message.
		{name: "service account name with a line break", impersonate: true, idAudience: "https://cp.example",
			setup: func(s *googleSetup) {
				path := filepath.Join(t.TempDir(), "newline-sa.json")
				data := strings.ReplaceAll(string(s.g.CredentialsJSON(s.gh, true)), "/serviceAccounts/takos-deployer@",
					"/serviceAccounts/takos-deployer%0Aerror%20forged@")
				writeFile(t, path, data, 0o600)
				s.cfg.GoogleCredentials = path
			},
			wantErr: []string{"google: generateIdToken", "HTTP 404 NOT_FOUND",
				"service account takos-deployer error forged@example-project.iam.gserviceaccount.com does not exist"},
			wantNot: []string{"\nerror forged"}, claims: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newGoogleSetup(t, tc.opts, tc.impersonate)
			s.cfg.GoogleIDTokenAudience = tc.idAudience
			if tc.setup != nil {
				tc.setup(s)
			}
			res, err := Resolve(context.Background(), s.cfg)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			_, err = res.Source.Token()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Token() error = %v, want success", err)
				}
				return
			}
			checkTokenErr(t, err, tc.wantErr, tc.wantNot, tc.claims)
		})
	}
}

func TestGoogleCredentialsRefused(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	g := authtest.NewGoogle(t, gh.Issuer, authtest.GoogleOptions{})
	good := string(g.CredentialsJSON(gh, false))
	tests := []struct {
		name       string
		file       string
		idAudience string
		want       []string
	}{
		{"service account key", `{"type":"service_account","private_key":"-----BEGIN"}`, "",
			[]string{`has type "service_account", not external_account`, "long-lived service account keys are not accepted"}},
		{"executable source", `{"type":"external_account","audience":"a","subject_token_type":"x","credential_source":{"executable":{"command":"/bin/sh"}}}`, "",
			[]string{"uses an executable or AWS credential source"}},
		{"plain http token_url", strings.Replace(good, g.STSURL, "http://sts.example/v1/token", 1), "",
			[]string{"token_url in", "plain http is allowed only to loopback"}},
		{"ID token without a service account", good, "https://cp.example",
			[]string{"--google-id-token-audience needs a service account", "service_account input"}},
		{"not JSON", "type=external_account", "", []string{"not a JSON credentials file"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "creds.json")
			writeFile(t, path, tc.file, 0o600)
			_, err := Resolve(context.Background(), Config{Mode: ModeGoogle, GoogleCredentials: path,
				GoogleIDTokenAudience: tc.idAudience, HTTP: testHTTP(0)})
			if err == nil {
				t.Fatalf("Resolve() succeeded, want an error")
			}
			mustContain(t, "Resolve() error", err.Error(), tc.want...)
		})
	}
	if n := len(gh.Log.Requests()) + len(g.Log.Requests()); n != 0 {
		t.Errorf("refused files caused %d requests, want 0", n)
	}
}

// TestGoogleRefreshBefore proves RefreshBefore governs every Google path:
// with a margin longer than the tokens' one-hour life, each Token call
// must fetch the bearer again. A second cache stacked on the google
// package's own would hand back its cached token instead.
func TestGoogleRefreshBefore(t *testing.T) {
	sa := "takos-deployer@example-project.iam.gserviceaccount.com"
	tests := []struct {
		name        string
		impersonate bool
		idAudience  string
		wantRefetch string // the one request a refresh makes
	}{
		{name: "direct workload identity federation", wantRefetch: authtest.GoogleSTSPath},
		{name: "service account impersonation", impersonate: true,
			wantRefetch: authtest.GoogleIAMPrefix + sa + ":generateAccessToken"},
		{name: "ID token", impersonate: true, idAudience: "https://cp.example",
			wantRefetch: authtest.GoogleIAMPrefix + sa + ":generateIdToken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newGoogleSetup(t, authtest.GoogleOptions{}, tc.impersonate)
			s.cfg.GoogleIDTokenAudience = tc.idAudience
			s.cfg.RefreshBefore = 2 * time.Hour
			res, err := Resolve(context.Background(), s.cfg)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			if _, err := res.Source.Token(); err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			n := len(s.g.Log.Requests())
			t2, err := res.Source.Token()
			if err != nil {
				t.Fatalf("second Token() error = %v", err)
			}
			var paths []string
			for _, r := range s.g.Log.Requests()[n:] {
				paths = append(paths, r.Path)
			}
			if len(paths) != 1 || paths[0] != tc.wantRefetch {
				t.Errorf("second Token() requests = %q, want [%s]", paths, tc.wantRefetch)
			}
			if issued := s.g.Issued(); t2.AccessToken != issued[len(issued)-1] {
				t.Errorf("second Token() did not return the token just issued")
			}
		})
	}
}
