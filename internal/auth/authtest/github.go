// Package authtest provides in-process loopback fakes of the servers
// takos-apply authenticates against: GitHub's OIDC token endpoint and issuer,
// an RFC 8693 security token service, and Google's STS and IAM Credentials.
// They are real HTTP servers (httptest) speaking the real wire formats, with
// request logs whose secrets are redacted and scripted faults, so tests of
// auth and of the CLI exercise the real client code end to end.
package authtest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// GitHub OIDC paths served by GitHubOIDC.
const (
	GitHubTokenPath = "/idtoken"
	DiscoveryPath   = "/.well-known/openid-configuration"
	JWKSPath        = "/.well-known/jwks"
)

// GitHubOIDC fakes the Actions OIDC token endpoint
// (ACTIONS_ID_TOKEN_REQUEST_URL) and the issuer that signs its tokens.
// Tokens are RS256 JWTs with GitHub's claim set; the issuer serves an
// OpenID discovery document and a JWKS, so any relying party can verify them.
// Methods are safe for concurrent use.
type GitHubOIDC struct {
	// RequestURL is the value for ACTIONS_ID_TOKEN_REQUEST_URL; like the
	// runner's it already carries ?api-version=2.0.
	RequestURL string
	// RequestToken is the value for ACTIONS_ID_TOKEN_REQUEST_TOKEN.
	RequestToken string
	// Issuer is the iss of every token and serves discovery and JWKS.
	Issuer string
	// Log records every request, secrets redacted.
	Log *Log

	signer *signer
	faults faultQueue

	mu        sync.Mutex
	lifetime  time.Duration
	issued    []string
	overrides map[string]any
	retired   *signer // still published after RotateKey(true)
}

// NewGitHubOIDC starts the fake; it is closed when the test ends. Tokens
// live 5 minutes, as GitHub's do, and carry
// sub "repo:octo-org/octo-repo:environment:production".
func NewGitHubOIDC(t testing.TB) *GitHubOIDC {
	t.Helper()
	s, err := newSigner()
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	g := &GitHubOIDC{
		RequestToken: "ghreq_" + randomHex(16),
		Log:          &Log{},
		signer:       s,
		lifetime:     5 * time.Minute,
	}
	mux := http.NewServeMux()
	mux.HandleFunc(GitHubTokenPath, logged(g.Log, &g.faults, g.serveToken))
	mux.HandleFunc(DiscoveryPath, logged(g.Log, nil, g.serveDiscovery))
	mux.HandleFunc(JWKSPath, logged(g.Log, nil, func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		set := g.signer.jwks()
		if g.retired != nil {
			set["keys"] = append(set["keys"].([]any), g.retired.jwks()["keys"].([]any)...)
		}
		g.mu.Unlock()
		writeJSON(w, http.StatusOK, set)
	}))
	serve(t, mux, func(url string) {
		g.Issuer = url
		g.RequestURL = url + GitHubTokenPath + "?api-version=2.0"
	})
	return g
}

// Env returns the two variables the runner sets for a job with
// permissions: id-token: write.
func (g *GitHubOIDC) Env() map[string]string {
	return map[string]string{
		"ACTIONS_ID_TOKEN_REQUEST_URL":   g.RequestURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": g.RequestToken,
	}
}

// SetLifetime sets exp - iat of the tokens issued from now on; a negative
// lifetime issues tokens that are already expired.
func (g *GitHubOIDC) SetLifetime(d time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.lifetime = d
}

// Fail makes the next n token requests answer with f.
func (g *GitHubOIDC) Fail(n int, f Fault) { g.faults.push(n, f) }

// Issued returns every JWT handed out, for secret-canary assertions.
func (g *GitHubOIDC) Issued() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.issued...)
}

// Sign signs arbitrary claims with the issuer's key, for tests that need a
// token the endpoint would not issue.
func (g *GitHubOIDC) Sign(claims map[string]any) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.signer.sign(claims)
}

// SignHeader signs claims with the issuer's RS256 key under an arbitrary
// protected header (a missing kid, an alg that lies), for verifier tests.
func (g *GitHubOIDC) SignHeader(header, claims map[string]any) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.signer.signHeader(header, claims)
}

// KeyID returns the kid of the current signing key.
func (g *GitHubOIDC) KeyID() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.signer.kid
}

// RotateKey replaces the signing key with a new one (a new kid), as
// GitHub does from time to time. With keepOld the JWKS still publishes
// the previous key, as during a real rotation; without it, tokens signed
// before no longer verify.
func (g *GitHubOIDC) RotateKey(keepOld bool) error {
	s, err := newSigner()
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.retired = nil
	if keepOld {
		g.retired = g.signer
	}
	g.signer = s
	return nil
}

// SetClaim makes the token endpoint issue tokens whose claim k is v (nil
// removes the claim), e.g. event_name pull_request_target for a run a fork
// triggered.
func (g *GitHubOIDC) SetClaim(k string, v any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.overrides == nil {
		g.overrides = map[string]any{}
	}
	g.overrides[k] = v
}

// Claims returns the claims a token for audience would carry now.
func (g *GitHubOIDC) Claims(audience string) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.claimsLocked(audience)
}

func (g *GitHubOIDC) claimsLocked(audience string) map[string]any {
	now := time.Now()
	iat := now.Unix()
	c := map[string]any{
		"jti":                   randomHex(16),
		"sub":                   "repo:octo-org/octo-repo:environment:production",
		"aud":                   audience,
		"ref":                   "refs/heads/main",
		"sha":                   "d6a4c6e5f0b1c3a2e4d5f6a7b8c9d0e1f2a3b4c5",
		"repository":            "octo-org/octo-repo",
		"repository_owner":      "octo-org",
		"repository_owner_id":   "65432",
		"repository_id":         "123456789",
		"repository_visibility": "private",
		"run_id":                "9876543210",
		"run_number":            "42",
		"run_attempt":           "1",
		"runner_environment":    "github-hosted",
		"actor":                 "octocat",
		"actor_id":              "583231",
		"workflow":              "deploy",
		"workflow_ref":          "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
		"workflow_sha":          "d6a4c6e5f0b1c3a2e4d5f6a7b8c9d0e1f2a3b4c5",
		"job_workflow_ref":      "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
		"job_workflow_sha":      "d6a4c6e5f0b1c3a2e4d5f6a7b8c9d0e1f2a3b4c5",
		"head_ref":              "",
		"base_ref":              "",
		"event_name":            "push",
		"ref_type":              "branch",
		"ref_protected":         "true",
		"environment":           "production",
		"iss":                   g.Issuer,
		// GitHub backdates nbf by ten minutes and lets tokens live five.
		"nbf": iat - 600,
		"iat": iat,
		"exp": now.Add(g.lifetime).Unix(),
	}
	for k, v := range g.overrides {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func (g *GitHubOIDC) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+g.RequestToken {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "invalid or missing request token"})
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2.0" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "api-version 2.0 required"})
		return
	}
	aud := q.Get("audience")
	g.mu.Lock()
	if aud == "" {
		// GitHub's default audience is the repository owner's URL.
		aud = "https://github.com/" + strings.Split(stringClaim(g.claimsLocked(""), "repository"), "/")[0]
	}
	claims := g.claimsLocked(aud)
	tok, err := g.signer.sign(claims)
	if err == nil {
		g.issued = append(g.issued, tok)
	}
	n := len(g.issued)
	g.mu.Unlock()
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": n, "value": tok})
}

func (g *GitHubOIDC) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                g.Issuer,
		"jwks_uri":                              g.Issuer + JWKSPath,
		"subject_types_supported":               []string{"public", "pairwise"},
		"response_types_supported":              []string{"id_token"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid"},
		"claims_supported": []string{"sub", "aud", "exp", "iat", "iss", "jti", "nbf", "ref",
			"repository", "repository_id", "repository_owner", "repository_owner_id", "run_id",
			"run_number", "run_attempt", "actor", "actor_id", "workflow", "workflow_ref", "head_ref",
			"base_ref", "event_name", "ref_type", "environment", "job_workflow_ref", "runner_environment"},
	})
}

func stringClaim(c map[string]any, k string) string {
	s, _ := c[k].(string)
	return s
}
