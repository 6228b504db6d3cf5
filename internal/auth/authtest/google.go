package authtest

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// Paths served by the Google fakes.
const (
	GoogleSTSPath     = "/v1/token"
	GoogleIAMPrefix   = "/v1/projects/-/serviceAccounts/"
	GoogleIDTokenIss  = "https://accounts.google.com"
	defaultWIProvider = "projects/123456789/locations/global/workloadIdentityPools/github/providers/github"
	defaultSA         = "takos-deployer@example-project.iam.gserviceaccount.com"
)

// GoogleOptions is the configuration of the Google fakes. The workload
// identity provider is always
// projects/123456789/locations/global/workloadIdentityPools/github/providers/github
// and the only service account that exists is
// takos-deployer@example-project.iam.gserviceaccount.com.
type GoogleOptions struct {
	// Subject, when set, plays the provider's attribute condition: the
	// GitHub token's sub must equal it.
	Subject string
	// DenyAccessToken and DenyIDToken make generateAccessToken or
	// generateIdToken answer 403 PERMISSION_DENIED, as IAM does when the
	// federated principal lacks the role on the service account.
	DenyAccessToken, DenyIDToken bool
}

// Google fakes Google's Security Token Service (sts.googleapis.com/v1/token)
// and IAM Credentials (generateAccessToken, generateIdToken) on two
// loopback origins, so that golang.org/x/oauth2/google runs unmodified
// against them: the credentials file simply names these URLs. Methods are
// safe for concurrent use.
type Google struct {
	// STSURL is the token_url of the credentials file.
	STSURL string
	// IAMURL is the IAM Credentials base URL (https://iamcredentials.googleapis.com).
	IAMURL string
	// Audience is the credentials file's audience: //iam.googleapis.com/PROVIDER.
	Audience string
	// SubjectAudience is the aud the GitHub token must carry:
	// "https://iam.googleapis.com/" + the provider, as
	// google-github-actions/auth requests by default.
	SubjectAudience string
	// ServiceAccount is the service account's e-mail.
	ServiceAccount string
	// Log records requests to both servers, secrets redacted.
	Log *Log

	opts     GoogleOptions
	verifier *jwksVerifier
	idSigner *signer
	faults   faultQueue

	mu        sync.Mutex
	federated map[string]bool
	issued    []string
}

// NewGoogle starts the fakes, trusting GitHub tokens from issuer; they are
// closed when the test ends.
func NewGoogle(t testing.TB, issuer string, opts GoogleOptions) *Google {
	t.Helper()
	s, err := newSigner()
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	g := &Google{
		Audience:        "//iam.googleapis.com/" + defaultWIProvider,
		SubjectAudience: "https://iam.googleapis.com/" + defaultWIProvider,
		ServiceAccount:  defaultSA,
		Log:             &Log{},
		opts:            opts,
		verifier:        newJWKSVerifier(issuer),
		idSigner:        s,
		federated:       map[string]bool{},
	}
	sts := http.NewServeMux()
	sts.HandleFunc(GoogleSTSPath, logged(g.Log, &g.faults, g.serveSTS))
	iam := http.NewServeMux()
	iam.HandleFunc(GoogleIAMPrefix, logged(g.Log, &g.faults, g.serveIAM))
	serve(t, sts, func(url string) { g.STSURL = url + GoogleSTSPath })
	serve(t, iam, func(url string) { g.IAMURL = url })
	return g
}

// Fail makes the next n requests to either server answer with f.
func (g *Google) Fail(n int, f Fault) { g.faults.push(n, f) }

// Issued returns every token issued (federated, impersonated, ID tokens),
// for secret-canary assertions.
func (g *Google) Issued() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.issued...)
}

// ImpersonationURL is the service_account_impersonation_url for the
// service account.
func (g *Google) ImpersonationURL() string {
	return g.IAMURL + GoogleIAMPrefix + g.ServiceAccount + ":generateAccessToken"
}

// CredentialsJSON returns an external_account credentials file of the shape
// google-github-actions/auth writes: the subject token comes from gh's
// token endpoint with the Google audience. With impersonate, the file names
// the service account.
func (g *Google) CredentialsJSON(gh *GitHubOIDC, impersonate bool) []byte {
	f := map[string]any{
		"type":               "external_account",
		"audience":           g.Audience,
		"subject_token_type": oauthwire.TokenTypeJWT,
		"token_url":          g.STSURL,
		"credential_source": map[string]any{
			"url":     gh.RequestURL + "&audience=" + url.QueryEscape(g.SubjectAudience),
			"headers": map[string]string{"Authorization": "Bearer " + gh.RequestToken},
			"format":  map[string]string{"type": "json", "subject_token_field_name": "value"},
		},
	}
	if impersonate {
		f["service_account_impersonation_url"] = g.ImpersonationURL()
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic(err) // a map of strings always marshals
	}
	return b
}

// VerifyIDToken checks an ID token minted by generateIdToken and returns
// its claims.
func (g *Google) VerifyIDToken(tok string) (map[string]any, error) {
	v := &jwksVerifier{issuer: GoogleIDTokenIss, keys: map[string]*rsa.PublicKey{g.idSigner.kid: &g.idSigner.key.PublicKey}}
	return v.verify(tok, time.Now())
}

func (g *Google) serveSTS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		oauthError(w, http.StatusMethodNotAllowed, oauthwire.InvalidRequest, "POST required")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "malformed form")
		return
	}
	f := r.PostForm
	switch {
	case f.Get("grant_type") != oauthwire.GrantTypeTokenExchange:
		oauthError(w, http.StatusBadRequest, oauthwire.UnsupportedGrantType, "Invalid value for \"grant_type\".")
		return
	case f.Get("audience") != g.Audience:
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "Invalid value for \"audience\". This value should be the full resource name of the Identity Provider.")
		return
	case f.Get("subject_token_type") != oauthwire.TokenTypeJWT && f.Get("subject_token_type") != oauthwire.TokenTypeIDToken:
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "Invalid value for \"subject_token_type\".")
		return
	}
	switch _, err := verifySubject(g.verifier, f.Get("subject_token"), g.SubjectAudience, g.opts.Subject); {
	case errors.Is(err, errTokenExpired):
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidGrant, "ID Token issued at an earlier time has expired.")
		return
	case errors.Is(err, errWrongAudience):
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidGrant, "The audience in ID Token does not match the expected audience.")
		return
	case errors.Is(err, errWrongSubject):
		oauthError(w, http.StatusBadRequest, oauthwire.UnauthorizedClient, "The given credential is rejected by the attribute condition.")
		return
	case err != nil:
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidGrant, "Invalid ID Token: "+err.Error())
		return
	}
	tok := "ya29.fed_" + randomHex(24)
	g.mu.Lock()
	g.federated[tok] = true
	g.issued = append(g.issued, tok)
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"issued_token_type": oauthwire.TokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        3599,
	})
}

func googleError(w http.ResponseWriter, code int, status, msg string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{"code": code, "message": msg, "status": status}})
}

func (g *Google) serveIAM(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		googleError(w, http.StatusMethodNotAllowed, "INVALID_ARGUMENT", "POST required")
		return
	}
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g.mu.Lock()
	known := ok && g.federated[bearer]
	g.mu.Unlock()
	if !known {
		googleError(w, http.StatusUnauthorized, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return
	}
	name, method, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, GoogleIAMPrefix), ":")
	if name != g.ServiceAccount {
		googleError(w, http.StatusNotFound, "NOT_FOUND", "Not found; Gaia id not found for email "+name)
		return
	}
	var body struct {
		Audience     string   `json:"audience"`
		IncludeEmail bool     `json:"includeEmail"`
		Scope        []string `json:"scope"`
		Lifetime     string   `json:"lifetime"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	now := time.Now()
	switch method {
	case "generateAccessToken":
		if g.opts.DenyAccessToken {
			googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).")
			return
		}
		tok := "ya29.imp_" + randomHex(24)
		g.record(tok)
		writeJSON(w, http.StatusOK, map[string]string{
			"accessToken": tok,
			"expireTime":  now.Add(time.Hour).UTC().Format(time.RFC3339),
		})
	case "generateIdToken":
		if g.opts.DenyIDToken {
			googleError(w, http.StatusForbidden, "PERMISSION_DENIED", "Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource (or it may not exist).")
			return
		}
		if body.Audience == "" {
			googleError(w, http.StatusBadRequest, "INVALID_ARGUMENT", "Invalid value for audience.")
			return
		}
		claims := map[string]any{
			"iss": GoogleIDTokenIss, "aud": body.Audience, "azp": "104567890123456789012",
			"sub": "104567890123456789012", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		}
		if body.IncludeEmail {
			claims["email"] = g.ServiceAccount
			claims["email_verified"] = true
		}
		tok, err := g.idSigner.sign(claims)
		if err != nil {
			googleError(w, http.StatusInternalServerError, "INTERNAL", err.Error())
			return
		}
		g.record(tok)
		writeJSON(w, http.StatusOK, map[string]string{"token": tok})
	default:
		googleError(w, http.StatusNotFound, "NOT_FOUND", "unknown method "+method)
	}
}

func (g *Google) record(tok string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.issued = append(g.issued, tok)
}
