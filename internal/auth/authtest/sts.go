package authtest

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// RFC 8414 and RFC 8693 paths served by the STS fake.
const (
	ASMetadataPath = "/.well-known/oauth-authorization-server"
	STSTokenPath   = "/oauth/token"
)

// STSOptions is the trust policy and response shape of an STS fake.
type STSOptions struct {
	// SubjectAudience, when set, must be in the subject token's aud.
	SubjectAudience string
	// Subject, when set, must equal the subject token's sub exactly.
	Subject string
	// Audience, when set, must be one of the request's audience
	// parameters; otherwise the answer is invalid_target.
	Audience string
	// TokenLifetime is expires_in of issued tokens (default 1 h).
	TokenLifetime time.Duration
	// ExpiresInString sends expires_in as a JSON string, which RFC 8693
	// clients meet in the wild and must accept.
	ExpiresInString bool
	// Scope, when set, is returned as the issued token's scope.
	Scope string
	// GrantTypes, when set, replaces grant_types_supported in the
	// discovery document.
	GrantTypes []string
}

// STS fakes an RFC 8693 token-exchange endpoint and its RFC 8414 metadata
// at /.well-known/oauth-authorization-server. It verifies the subject
// token's RS256 signature through the issuer's discovery document and JWKS,
// then iss, exp, aud and sub against STSOptions, and issues opaque access
// tokens. Methods are safe for concurrent use.
type STS struct {
	// URL is the server's origin: the issuer of its metadata, usable as a
	// control plane URL.
	URL string
	// TokenURL is the token endpoint.
	TokenURL string
	// Log records every request, secrets redacted.
	Log *Log

	opts     STSOptions
	verifier *jwksVerifier
	faults   faultQueue

	mu     sync.Mutex
	issued map[string]string // access token → subject
	order  []string
}

// NewSTS starts an STS trusting tokens from issuer; it is closed when the
// test ends.
func NewSTS(t testing.TB, issuer string, opts STSOptions) *STS {
	t.Helper()
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = time.Hour
	}
	s := &STS{Log: &Log{}, opts: opts, verifier: newJWKSVerifier(issuer), issued: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc(ASMetadataPath, logged(s.Log, nil, s.serveMetadata))
	mux.HandleFunc(STSTokenPath, logged(s.Log, &s.faults, s.serveToken))
	serve(t, mux, func(url string) {
		s.URL = url
		s.TokenURL = url + STSTokenPath
	})
	return s
}

// Fail makes the next n token-endpoint requests answer with f.
func (s *STS) Fail(n int, f Fault) { s.faults.push(n, f) }

// Issued returns every access token issued, for secret-canary assertions.
func (s *STS) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// Lookup returns the subject an access token was issued to, so a fake
// control plane can authenticate requests.
func (s *STS) Lookup(accessToken string) (subject string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	subject, ok = s.issued[accessToken]
	return subject, ok
}

// Exchanges returns the number of requests to the token endpoint.
func (s *STS) Exchanges() int { return s.Log.Count(STSTokenPath) }

func (s *STS) serveMetadata(w http.ResponseWriter, r *http.Request) {
	grants := s.opts.GrantTypes
	if grants == nil {
		grants = []string{"authorization_code", "refresh_token", oauthwire.GrantTypeTokenExchange}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.URL,
		"token_endpoint":                        s.TokenURL,
		"grant_types_supported":                 grants,
		"token_endpoint_auth_methods_supported": []string{"none"},
	})
}

func (s *STS) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		oauthError(w, http.StatusMethodNotAllowed, oauthwire.InvalidRequest, "POST required")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "body is not a form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != oauthwire.GrantTypeTokenExchange {
		oauthError(w, http.StatusBadRequest, oauthwire.UnsupportedGrantType, "only token exchange is supported")
		return
	}
	switch f.Get("subject_token_type") {
	case oauthwire.TokenTypeJWT, oauthwire.TokenTypeIDToken:
	default:
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "subject_token_type must be jwt or id_token")
		return
	}
	if rt := f.Get("requested_token_type"); rt != "" && rt != oauthwire.TokenTypeAccessToken {
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "only access tokens can be issued")
		return
	}
	if f.Get("subject_token") == "" {
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "subject_token missing")
		return
	}
	claims, err := verifySubject(s.verifier, f.Get("subject_token"), s.opts.SubjectAudience, s.opts.Subject)
	sub := stringClaim(claims, "sub")
	switch {
	case errors.Is(err, errTokenExpired):
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "subject_token has expired")
		return
	case errors.Is(err, errWrongAudience):
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "subject_token audience is not accepted by the trust policy")
		return
	case errors.Is(err, errWrongSubject):
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidGrant, "no trust policy matches subject "+strconv.Quote(sub))
		return
	case err != nil:
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidRequest, "subject_token is invalid: "+err.Error())
		return
	}
	if s.opts.Audience != "" && !slices.Contains(f["audience"], s.opts.Audience) {
		oauthError(w, http.StatusBadRequest, oauthwire.InvalidTarget, "audience is not served by this authorization server")
		return
	}
	tok := "sts_at_" + randomHex(24)
	s.mu.Lock()
	s.issued[tok] = sub
	s.order = append(s.order, tok)
	s.mu.Unlock()
	resp := map[string]any{
		"access_token":      tok,
		"issued_token_type": oauthwire.TokenTypeAccessToken,
		"token_type":        "Bearer",
	}
	secs := int64(s.opts.TokenLifetime / time.Second)
	if s.opts.ExpiresInString {
		resp["expires_in"] = strconv.FormatInt(secs, 10)
	} else {
		resp["expires_in"] = secs
	}
	if s.opts.Scope != "" {
		resp["scope"] = s.opts.Scope
	}
	writeJSON(w, http.StatusOK, resp)
}
