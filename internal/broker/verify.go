package broker

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// GitHubIssuer is the issuer of github.com's Actions OIDC tokens.
const GitHubIssuer = "https://token.actions.githubusercontent.com"

// Leeway is the clock skew allowed on exp, nbf and iat.
const Leeway = 60 * time.Second

// maxJWKSResponse caps discovery documents and key sets.
const maxJWKSResponse = 1 << 20

// verifier checks GitHub Actions OIDC tokens: RS256 only, with a kid, a
// signature by a key of the issuer's JWKS, iss one of the trusted issuers,
// aud the broker's audience, exp/nbf/iat within Leeway.
type verifier struct {
	audience string
	// cpOrigin is the Takos origin: a token requested for it (the
	// pre-gateway workflow) gets a refusal that says what to change.
	cpOrigin string
	issuers  map[string]*keySet
	now      func() time.Time
	redact   func(string) string
}

func newVerifier(issuers []string, audience, cpOrigin string, hc *http.Client, now func() time.Time, minRefresh, timeout time.Duration, redact func(string) string) (*verifier, error) {
	v := &verifier{audience: audience, cpOrigin: cpOrigin, issuers: map[string]*keySet{}, now: now, redact: redact}
	for _, iss := range issuers {
		if _, err := httpx.CheckURL(iss); err != nil {
			return nil, fmt.Errorf("issuer %s: %w", iss, err)
		}
		v.issuers[iss] = newKeySet(iss, hc, now, minRefresh, timeout)
	}
	if len(v.issuers) == 0 {
		return nil, errors.New("no trusted issuer")
	}
	return v, nil
}

// header is the protected header as sent, read before go-jose so that a
// refusal can say exactly what was wrong with it.
type header struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// subject is what verify learnt of a subject token. Claims (and Notes,
// see DecodeClaims) are set once the payload could be read, verified or
// not: a refusal shows them, they help whoever debugs a policy. Every
// claim has passed the redactor, before anything quotes or cuts it.
type subject struct {
	Payload []byte
	Claims  Claims
	Notes   []string
	// Verified is set when every check passed.
	Verified bool
	JTI      string
	Expiry   time.Time
}

func invalidGrant(reason string) *oauthwire.Error {
	return &oauthwire.Error{Status: http.StatusBadRequest, Code: oauthwire.InvalidGrant, Description: reason}
}

// verify checks a subject token.
func (v *verifier) verify(ctx context.Context, raw string) (subject, *oauthwire.Error) {
	var sub subject
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return sub, invalidGrant("subject_token is not a JWS compact serialization (three dot-separated parts)")
	}
	hb, err := base64.RawURLEncoding.DecodeString(parts[0])
	var h header
	if err != nil || json.Unmarshal(hb, &h) != nil {
		return sub, invalidGrant("subject_token header is not base64url JSON")
	}
	// Only RS256, GitHub's algorithm: never none, never HS* (whose "key"
	// would be the public key), never a header that picks its own key.
	if h.Alg != string(jose.RS256) {
		return sub, invalidGrant(fmt.Sprintf("subject_token alg %s is not accepted; only RS256 is", safetext.Quote(h.Alg, 20)))
	}
	if h.Kid == "" {
		return sub, invalidGrant("subject_token header has no kid; the signing key must be named")
	}
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return sub, invalidGrant("subject_token is not a valid JWT")
	}
	if sh := jws.Signatures[0].Protected; sh.JSONWebKey != nil || sh.ExtraHeaders["jku"] != nil || jws.Signatures[0].Header.JSONWebKey != nil {
		return sub, invalidGrant("subject_token header must not embed or point at keys")
	}
	payload := jws.UnsafePayloadWithoutVerification()
	c, notes, err := DecodeClaims(payload)
	if err != nil {
		return sub, invalidGrant("subject_token payload is not a JSON object")
	}
	sub.Claims, sub.Notes = v.redactClaims(c), notes
	iss := c["iss"]
	// The issuer is checked before any key is fetched: an untrusted iss
	// must not make the broker fetch anything.
	ks, ok := v.issuers[iss]
	if !ok {
		return sub, invalidGrant(fmt.Sprintf("iss %s is not a trusted issuer (%s)", safetext.Quote(sub.Claims["iss"], 200), strings.Join(v.issuerList(), ", ")))
	}
	key, err := ks.key(ctx, h.Kid)
	if err != nil {
		var oe *oauthwire.Error
		if errors.As(err, &oe) {
			return sub, oe
		}
		return sub, &oauthwire.Error{Status: http.StatusServiceUnavailable, Code: oauthwire.TemporarilyUnavailable,
			Description: fmt.Sprintf("the keys of issuer %s could not be fetched: %v", iss, err)}
	}
	verifiedPayload, err := jws.Verify(key)
	if err != nil || !bytes.Equal(verifiedPayload, payload) {
		return sub, invalidGrant("subject_token signature does not verify with key " + safetext.Quote(v.redact(h.Kid), 80) + " of " + iss)
	}
	var std jwt.Claims
	if err := json.Unmarshal(payload, &std); err != nil {
		return sub, invalidGrant("subject_token has malformed registered claims (exp, iat, nbf, aud, jti)")
	}
	switch {
	case std.Expiry == nil:
		return sub, invalidGrant("subject_token has no exp")
	case std.IssuedAt == nil:
		return sub, invalidGrant("subject_token has no iat")
	case std.ID == "":
		return sub, invalidGrant("subject_token has no jti, so a replay could not be detected")
	}
	err = std.ValidateWithLeeway(jwt.Expected{Issuer: iss, AnyAudience: jwt.Audience{v.audience}, Time: v.now()}, Leeway)
	now := v.now().UTC().Format(time.RFC3339)
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return sub, invalidGrant(fmt.Sprintf("subject_token expired at %s (now %s, leeway 60s)", std.Expiry.Time().UTC().Format(time.RFC3339), now))
	case errors.Is(err, jwt.ErrNotValidYet):
		return sub, invalidGrant(fmt.Sprintf("subject_token is not valid before %s (now %s, leeway 60s); check the clocks", std.NotBefore.Time().UTC().Format(time.RFC3339), now))
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return sub, invalidGrant(fmt.Sprintf("subject_token was issued in the future (iat %s, now %s); check the clocks", std.IssuedAt.Time().UTC().Format(time.RFC3339), now))
	case errors.Is(err, jwt.ErrInvalidAudience):
		aud := safetext.Quote(v.redact(strings.Join(std.Audience, " ")), 200)
		if slices.Contains(std.Audience, v.cpOrigin) && v.cpOrigin != v.audience {
			return sub, invalidGrant(fmt.Sprintf("subject_token aud %s is the Takos control plane, not this broker (%q): the broker is now the job's control plane, so point control-plane-url (--control-plane, TAKOS_API_URL) at the broker and drop token-url (README \"Keyless deploys to Takos\")", aud, v.audience))
		}
		return sub, invalidGrant(fmt.Sprintf("subject_token aud %s is not this broker's audience %q; request the GitHub token with that audience (--audience / TAKOS_AUDIENCE)", aud, v.audience))
	case err != nil:
		return sub, invalidGrant("subject_token claims are invalid: " + err.Error())
	}
	sub.Payload, sub.Verified, sub.JTI, sub.Expiry = payload, true, std.ID, std.Expiry.Time()
	return sub, nil
}

// redactClaims removes credentials from every claim value before it can
// be quoted, cut or recorded: a cut made first would leave the start of a
// credential that the redactor no longer recognises.
func (v *verifier) redactClaims(c Claims) Claims {
	if v.redact == nil {
		return c
	}
	out := make(Claims, len(c))
	for k, val := range c {
		out[k] = v.redact(val)
	}
	return out
}

func (v *verifier) issuerList() []string {
	var out []string
	for iss := range v.issuers {
		out = append(out, iss)
	}
	slices.Sort(out)
	return out
}

// keySet is one issuer's JWKS, found through its OpenID configuration and
// cached. Fetches are bounded from the very first attempt, so a stream of
// tokens (with made-up kids, or before the keys ever loaded) costs the
// issuer at most one fetch per interval:
//
//   - an unknown kid triggers a refresh (key rotation) at most once per
//     minRefresh after a fetch that succeeded;
//   - after a failed fetch the next one waits retryAfter (tokens are
//     refused meanwhile: 503 while no key was ever loaded);
//   - one fetch at a time: requests that need it wait for it (each within
//     its own context), the others never do. The fetch runs outside the
//     lock, so a slow issuer never holds up a token whose key is cached.
type keySet struct {
	issuer     string
	hc         *http.Client
	now        func() time.Time
	minRefresh time.Duration
	retryAfter time.Duration
	timeout    time.Duration
	// fetched, when set, is told the outcome of each fetch (metrics).
	fetched func(issuer string, err error)

	mu       sync.Mutex
	keys     map[string]*rsa.PublicKey // nil until a fetch succeeds
	last     time.Time                 // start of the last fetch
	lastErr  error                     // its error, if it failed
	inflight *keyFetch
}

// keyFetch is a fetch in progress; done is closed when keys/err are set.
type keyFetch struct {
	done chan struct{}
	keys map[string]*rsa.PublicKey
	err  error
}

func newKeySet(issuer string, hc *http.Client, now func() time.Time, minRefresh, timeout time.Duration) *keySet {
	return &keySet{issuer: issuer, hc: hc, now: now, minRefresh: minRefresh, retryAfter: min(10*time.Second, minRefresh), timeout: timeout}
}

func (k *keySet) notInJWKS(kid string) error {
	return invalidGrant(fmt.Sprintf("kid %s is not in the JWKS of %s", safetext.Quote(kid, 80), k.issuer))
}

// key returns the key kid, fetching the JWKS when the kid is not cached
// and a fetch is due.
func (k *keySet) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	k.mu.Lock()
	if key, ok := k.keys[kid]; ok {
		k.mu.Unlock()
		return key, nil
	}
	f, err := k.startLocked()
	k.mu.Unlock()
	if f == nil {
		if err != nil {
			return nil, err
		}
		return nil, k.notInJWKS(kid)
	}
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the keys of %s: %w", k.issuer, ctx.Err())
	}
	if key, ok := f.keys[kid]; ok {
		return key, nil
	}
	if f.err != nil {
		k.mu.Lock()
		key, ok := k.keys[kid] // a failed refresh keeps the keys it had
		k.mu.Unlock()
		if ok {
			return key, nil
		}
		return nil, f.err
	}
	return nil, k.notInJWKS(kid)
}

// startLocked returns the fetch in progress, or starts one if it is due.
// With no fetch to wait for, it returns why the keys are missing when no
// key was ever loaded. k.mu is held.
func (k *keySet) startLocked() (*keyFetch, error) {
	if k.inflight != nil {
		return k.inflight, nil
	}
	wait := k.minRefresh
	if k.lastErr != nil || k.keys == nil {
		wait = k.retryAfter
	}
	if since := k.now().Sub(k.last); !k.last.IsZero() && since < wait {
		if k.keys == nil {
			return nil, fmt.Errorf("%w; the next attempt is in %s", k.lastErr, (wait - since).Round(time.Second))
		}
		return nil, nil
	}
	f := &keyFetch{done: make(chan struct{})}
	k.inflight, k.last = f, k.now()
	go k.fetch(f)
	return f, nil
}

// fetch runs one JWKS fetch, detached from the request that started it:
// whoever waits for it may give up, the fetch still completes for the
// others.
func (k *keySet) fetch(f *keyFetch) {
	ctx, cancel := context.WithTimeout(context.Background(), k.timeout)
	defer cancel()
	f.keys, f.err = fetchJWKS(ctx, k.hc, k.issuer)
	if k.fetched != nil {
		k.fetched(k.issuer, f.err)
	}
	k.mu.Lock()
	if f.err == nil {
		k.keys, k.lastErr = f.keys, nil
	} else {
		k.lastErr = f.err
	}
	k.inflight = nil
	k.mu.Unlock()
	close(f.done)
}

// ensure fetches the keys if none is loaded and a fetch is due, waits
// for a fetch in progress (within ctx), and reports whether keys are
// loaded, or why not (readiness).
func (k *keySet) ensure(ctx context.Context) error {
	k.mu.Lock()
	if k.keys != nil {
		k.mu.Unlock()
		return nil
	}
	f, err := k.startLocked()
	k.mu.Unlock()
	if f == nil {
		return err
	}
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return fmt.Errorf("the keys of %s are still being fetched", k.issuer)
	}
}

// fetchJWKS reads ISSUER/.well-known/openid-configuration, checks its
// issuer, then reads jwks_uri (https unless loopback) and keeps the RSA
// signing keys by kid.
func fetchJWKS(ctx context.Context, hc *http.Client, issuer string) (map[string]*rsa.PublicKey, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := getJSON(ctx, hc, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, err
	}
	if disc.Issuer != issuer {
		return nil, fmt.Errorf("the OpenID configuration of %s names issuer %s", issuer, safetext.Quote(disc.Issuer, 200))
	}
	if _, err := httpx.CheckURL(disc.JWKSURI); err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := getJSON(ctx, hc, disc.JWKSURI, &set); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, raw := range set.Keys {
		// One key at a time: a key of a type go-jose does not know must
		// not make the whole set unusable.
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil {
			continue
		}
		pub, ok := k.Key.(*rsa.PublicKey)
		if !ok || k.KeyID == "" || (k.Use != "" && k.Use != "sig") || (k.Algorithm != "" && k.Algorithm != string(jose.RS256)) {
			continue
		}
		keys[k.KeyID] = pub
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s has no RS256 signing key", httpx.Redact(disc.JWKSURI))
	}
	return keys, nil
}

func getJSON(ctx context.Context, hc *http.Client, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	body, err := httpx.ReadBody(resp, maxJWKSResponse)
	if err != nil {
		return fmt.Errorf("GET %s: %w", httpx.Redact(u), err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s answered HTTP %d", httpx.Redact(u), resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("GET %s: the reply is not the expected JSON", httpx.Redact(u))
	}
	return nil
}
