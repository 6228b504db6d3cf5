package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthmeta"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// maxTokenResponse caps token-endpoint and discovery responses.
const maxTokenResponse = 1 << 20

// exchangeSource is a small standard RFC 8693 client: each Token call
// fetches a fresh GitHub JWT and exchanges it. It is used only wrapped in
// oauth2.ReuseTokenSourceWithExpiry, which caches and serialises Token calls
// under its own mutex; that is why tokenURL, written once by discovery,
// needs no lock here.
type exchangeSource struct {
	rt          *state
	gh          *githubSource
	ghAudience  string // aud requested on the GitHub token
	origin      string // control plane origin: the RFC 8693 audience
	subjectType string
	tokenURL    string // configured or discovered
	// meta is the control plane's RFC 8414 document, read for
	// token_endpoint when tokenURL is empty (shared with the control-plane
	// client: one fetch per run).
	meta *oauthmeta.Cache
}

// Token implements oauth2.TokenSource.
func (s *exchangeSource) Token() (*oauth2.Token, error) {
	ctx := s.rt.ctx
	tokenURL, err := s.endpoint(ctx)
	if err != nil {
		return nil, err
	}
	jwt, err := s.gh.fetch(ctx, s.ghAudience)
	if err != nil {
		return nil, err
	}
	return s.exchange(ctx, tokenURL, jwt)
}

// endpoint returns the token endpoint: the configured one, else
// token_endpoint from the control plane's RFC 8414 metadata.
func (s *exchangeSource) endpoint(ctx context.Context) (string, error) {
	if s.tokenURL != "" {
		return s.tokenURL, nil
	}
	u, err := discoverTokenEndpoint(ctx, s.meta)
	if err != nil {
		return "", err
	}
	s.tokenURL = u
	return u, nil
}

// discoverTokenEndpoint reads token_endpoint from the control plane's
// RFC 8414 document.
func discoverTokenEndpoint(ctx context.Context, meta *oauthmeta.Cache) (string, error) {
	const op = "github-oidc: discovering the token endpoint"
	const fixURL = "pass the RFC 8693 token endpoint with --token-url (or TAKOS_TOKEN_URL)"
	m, err := meta.Get(ctx)
	switch {
	case oauthmeta.IsNotFound(err):
		return "", &Error{Op: op, Err: err,
			Fix: "the server publishes no OAuth authorization server metadata; " + fixURL}
	case err != nil:
		var me *oauthmeta.Error
		if errors.As(err, &me) && me.Transport {
			return "", &Error{Op: op, Err: err, Fix: "check the control plane URL and the network; or " + fixURL}
		}
		return "", &Error{Op: op, Err: err, Fix: fixURL}
	}
	if err := m.CheckIssuer(meta.Base()); err != nil {
		// The real Takos reports https://$ADMIN_DOMAIN whatever name it is
		// reached by, and it has no RFC 8693 endpoint either.
		fix := "RFC 8414 requires the issuer to be the URL the metadata was read from, and a token endpoint read " +
			"from a document that names another issuer could divert the GitHub token. Takos reports its admin " +
			"domain (https://$ADMIN_DOMAIN) as issuer whatever URL it is reached on: if " + safetext.Compact(m.Issuer, 200) +
			" is this control plane, pass it as --control-plane; Takos itself has no token exchange, so for " +
			"keyless deploys run `takos-apply broker` and pass the broker's URL as --control-plane (see README " +
			"\"Keyless deploys to Takos\"), or use a personal access token in TAKOS_TOKEN"
		return "", &Error{Op: op, Err: err, Fix: fix}
	}
	if m.TokenEndpoint == "" {
		return "", &Error{Op: op, Err: fmt.Errorf("%s has no token_endpoint", httpx.Redact(m.URL)), Fix: fixURL}
	}
	if _, err := httpx.CheckURL(m.TokenEndpoint); err != nil {
		return "", &Error{Op: op, Err: fmt.Errorf("token_endpoint: %w", err), Fix: fixURL}
	}
	if m.GrantTypesSupported != nil && !slices.Contains(m.GrantTypesSupported, oauthwire.GrantTypeTokenExchange) {
		return "", &Error{Op: op, Err: errors.New("the control plane does not advertise RFC 8693 token exchange (grant_types_supported)"),
			Fix: "this control plane cannot trade a GitHub OIDC token for a credential; use a personal access token " +
				"in TAKOS_TOKEN, run `takos-apply broker` and pass its URL as --control-plane (README \"Keyless deploys to Takos\"), or " + fixURL +
				" if the exchange lives elsewhere"}
	}
	return m.TokenEndpoint, nil
}

// exchange performs one RFC 8693 request.
func (s *exchangeSource) exchange(ctx context.Context, tokenURL, jwt string) (*oauth2.Token, error) {
	const op = "github-oidc: token exchange"
	form := url.Values{
		"grant_type":           {oauthwire.GrantTypeTokenExchange},
		"subject_token":        {jwt},
		"subject_token_type":   {s.subjectType},
		"requested_token_type": {oauthwire.TokenTypeAccessToken},
		"audience":             {s.origin},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, s.rt.fail(op, "", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := s.rt.http.Do(req)
	if err != nil {
		return nil, s.rt.fail(op, "the token endpoint could not be reached after retries; check --token-url and re-run", netError(tokenURL, err))
	}
	body, err := httpx.ReadBody(resp, maxTokenResponse)
	if err != nil {
		return nil, s.rt.fail(op, "the token endpoint sent an unusable response; re-run the job", err)
	}
	status := resp.StatusCode
	switch {
	case status >= 300 && status < 400:
		return nil, s.rt.fail(op, "credentials are never sent on redirects: pass the final token endpoint with --token-url",
			fmt.Errorf("%s answered HTTP %d redirecting to %s", httpx.Redact(tokenURL), status, httpx.Redact(resp.Header.Get("Location"))))
	case status == http.StatusTooManyRequests:
		return nil, s.rt.fail(op, "the token endpoint is rate limiting; re-run the job later",
			fmt.Errorf("rate limited by %s (HTTP 429, Retry-After: %q)", httpx.Redact(tokenURL), safetext.Compact(resp.Header.Get("Retry-After"), 40)))
	case status >= 500:
		oe := s.rt.newOAuthError(status, body)
		cause := fmt.Errorf("%s: %w", httpx.Redact(tokenURL), oe)
		if ra := resp.Header.Get("Retry-After"); ra != "" {
			cause = fmt.Errorf("%w (Retry-After: %q)", cause, safetext.Compact(ra, 40))
		}
		return nil, s.rt.fail(op, "the control plane's token endpoint failed after retries; re-run the job later", cause)
	case status != http.StatusOK:
		oe := s.rt.newOAuthError(status, body)
		fix := exchangeFix(oe.Code, s.origin, s.ghAudience, tokenURL) + s.rt.expiredHint()
		return nil, s.rt.fail(op, fix, fmt.Errorf("%s: %w", httpx.Redact(tokenURL), oe))
	}
	return s.parse(tokenURL, body)
}

// parse reads an RFC 8693 §2.2.1 response, masking the token first.
func (s *exchangeSource) parse(tokenURL string, body []byte) (*oauth2.Token, error) {
	const op = "github-oidc: token exchange"
	var r struct {
		AccessToken     string          `json:"access_token"`
		IssuedTokenType string          `json:"issued_token_type"`
		TokenType       string          `json:"token_type"`
		ExpiresIn       json.RawMessage `json:"expires_in"`
		Scope           string          `json:"scope"`
	}
	malformed := "the token endpoint did not answer with an RFC 8693 token response; check --token-url"
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, s.rt.fail(op, malformed, fmt.Errorf("%s returned malformed JSON", httpx.Redact(tokenURL)))
	}
	s.rt.secret(r.AccessToken)
	if r.AccessToken == "" {
		return nil, s.rt.fail(op, malformed, fmt.Errorf("%s returned no access_token", httpx.Redact(tokenURL)))
	}
	switch {
	case strings.EqualFold(r.TokenType, "bearer"):
	case strings.EqualFold(r.TokenType, "N_A") && r.IssuedTokenType != "":
		// RFC 8693 §2.2.1: N_A for tokens that are not OAuth access tokens
		// (e.g. a JWT); the control plane still takes it as a bearer.
	default:
		return nil, s.rt.fail(op, "takos-apply sends the control-plane credential as a Bearer token; ask the control plane for token_type Bearer",
			fmt.Errorf("unsupported token_type %q", safetext.Compact(r.TokenType, 40)))
	}
	secs, err := parseExpiresIn(r.ExpiresIn)
	if err != nil {
		return nil, s.rt.fail(op, malformed, err)
	}
	tok := &oauth2.Token{AccessToken: r.AccessToken, TokenType: "Bearer", ExpiresIn: secs}
	if secs > 0 {
		tok.Expiry = s.rt.now().Add(time.Duration(secs) * time.Second)
	}
	return tok.WithExtra(map[string]any{"issued_token_type": r.IssuedTokenType, "scope": r.Scope}), nil
}

// parseExpiresIn accepts expires_in as a number, a numeric string (seen in
// the wild), or absent (0: no known expiry).
func parseExpiresIn(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, errors.New("expires_in is neither a number nor a string")
		}
		n = json.Number(s)
	}
	secs, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(string(n), 64)
		if ferr != nil {
			return 0, fmt.Errorf("expires_in %q is not a number", safetext.Compact(string(n), 20))
		}
		secs = int64(f)
	}
	if secs < 0 {
		return 0, fmt.Errorf("expires_in %d is negative", secs)
	}
	return secs, nil
}
