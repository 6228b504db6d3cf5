// Package oauthmeta fetches and parses OAuth 2.0 authorization server
// metadata (RFC 8414) once per run. Token exchange (auth) reads its
// token_endpoint and grant_types_supported; the control-plane client reads
// scopes_supported. Both share one Cache, so a run fetches the document at
// most once, whichever of them asks first.
//
// The package only fetches and decodes. What a field must look like is the
// reader's policy: auth checks the issuer (Metadata.CheckIssuer) and the
// token endpoint's URL, the control plane's scope lint reads only
// scopes_supported and must not be blocked by an issuer it does not use.
package oauthmeta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Path is the well-known path of RFC 8414 §3.
const Path = "/.well-known/oauth-authorization-server"

// maxDocument caps the document; real ones are a few KiB.
const maxDocument = 1 << 20

// maxErrorBody is how much of an error reply Error.Body keeps.
const maxErrorBody = 4 << 10

// Metadata is the part of an RFC 8414 document takos-apply reads.
type Metadata struct {
	// URL is where the document was fetched.
	URL string
	// Issuer is "issuer" as published ("" when absent).
	Issuer string
	// TokenEndpoint is "token_endpoint" as published, unchecked.
	TokenEndpoint string
	// GrantTypesSupported is "grant_types_supported"; nil when absent
	// (RFC 8414 §2: the default is authorization_code and implicit).
	GrantTypesSupported []string
	// ScopesSupported is "scopes_supported"; nil when absent.
	ScopesSupported []string
}

// Error is a failed fetch. Status is the HTTP status of a non-200 reply
// (0 otherwise), Body the first KiB of that reply (error bodies of a
// discovery endpoint carry no credential), Transport whether the server
// could not be reached at all.
type Error struct {
	URL       string
	Status    int
	Body      []byte
	Transport bool
	Err       error
}

func (e *Error) Error() string {
	return fmt.Sprintf("GET %s: %v", httpx.Redact(e.URL), e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is a 404 from the metadata URL: the server
// publishes no RFC 8414 document.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// MetadataURL returns the RFC 8414 URL of base: Path appended to base's
// path (an issuer without a path, the common case, gives
// https://host/.well-known/oauth-authorization-server).
func MetadataURL(base string) string {
	return strings.TrimRight(base, "/") + Path
}

// Fetch GETs the metadata of base (see MetadataURL) with hc, which must
// bound the request (httpx.NewClient). No credential is sent: the document
// is public.
func Fetch(ctx context.Context, hc *http.Client, base string) (*Metadata, error) {
	u := MetadataURL(base)
	if _, err := httpx.CheckURL(u); err != nil {
		return nil, &Error{URL: u, Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, &Error{URL: u, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in Error
		}
		return nil, &Error{URL: u, Transport: true, Err: err}
	}
	body, err := httpx.ReadBody(resp, maxDocument)
	if resp.StatusCode != http.StatusOK {
		if len(body) > maxErrorBody {
			body = body[:maxErrorBody]
		}
		return nil, &Error{URL: u, Status: resp.StatusCode, Body: body, Err: fmt.Errorf("answered HTTP %d", resp.StatusCode)}
	}
	if err != nil {
		return nil, &Error{URL: u, Err: err}
	}
	return parse(u, body)
}

func parse(u string, body []byte) (*Metadata, error) {
	var w struct {
		Issuer        json.RawMessage `json:"issuer"`
		TokenEndpoint json.RawMessage `json:"token_endpoint"`
		GrantTypes    json.RawMessage `json:"grant_types_supported"`
		Scopes        json.RawMessage `json:"scopes_supported"`
	}
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, &Error{URL: u, Err: errors.New("the reply is not a JSON metadata document")}
	}
	m := &Metadata{URL: u}
	var err error
	if m.Issuer, err = optString(w.Issuer, "issuer"); err != nil {
		return nil, &Error{URL: u, Err: err}
	}
	if m.TokenEndpoint, err = optString(w.TokenEndpoint, "token_endpoint"); err != nil {
		return nil, &Error{URL: u, Err: err}
	}
	if m.GrantTypesSupported, err = optStrings(w.GrantTypes, "grant_types_supported"); err != nil {
		return nil, &Error{URL: u, Err: err}
	}
	if m.ScopesSupported, err = optStrings(w.Scopes, "scopes_supported"); err != nil {
		return nil, &Error{URL: u, Err: err}
	}
	return m, nil
}

func optString(raw json.RawMessage, name string) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%q is not a string", name)
	}
	return s, nil
}

func optStrings(raw json.RawMessage, name string) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v []string
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%q is not an array of strings", name)
	}
	return v, nil
}

// IssuerMismatchError says that a document's issuer is not the URL it was
// fetched for.
type IssuerMismatchError struct {
	// Issuer is the published issuer, Want the URL it was fetched for.
	Issuer, Want string
}

func (e *IssuerMismatchError) Error() string {
	return fmt.Sprintf("the metadata of %s reports issuer %s", e.Want, safetext.Quote(e.Issuer, 200))
}

// CheckIssuer enforces RFC 8414 §3.3: the issuer must be identical to the
// URL the metadata was fetched for (trailing slash aside), or a document
// served elsewhere could point a client at another token endpoint. An
// absent issuer is accepted (older servers omit it). Takos publishes
// https://$ADMIN_DOMAIN as its issuer whatever URL it is reached on, so a
// deployment reached by another name fails here by design: the caller
// explains that case (IssuerMismatchError carries both URLs).
func (m *Metadata) CheckIssuer(want string) error {
	if m.Issuer == "" {
		return nil
	}
	if strings.TrimSuffix(m.Issuer, "/") != strings.TrimSuffix(want, "/") {
		return &IssuerMismatchError{Issuer: m.Issuer, Want: strings.TrimSuffix(want, "/")}
	}
	return nil
}

// Cache fetches the metadata of one base URL at most once: the first Get
// performs the request and every later Get, from any goroutine, returns the
// same result, error included (a run that could not read the document
// once does not hammer the server for it).
type Cache struct {
	hc   *http.Client
	base string

	once sync.Once
	meta *Metadata
	err  error
}

// NewCache returns a Cache for base using hc (see Fetch).
func NewCache(hc *http.Client, base string) *Cache {
	return &Cache{hc: hc, base: strings.TrimRight(base, "/")}
}

// Base returns the base URL the cache fetches for.
func (c *Cache) Base() string { return c.base }

// Budget bounds the one fetch of a Cache, retries included. The document is
// small and static, so a server that has not sent it in this time is not
// going to: without the bound, a control plane that accepts connections and
// never answers held a plan for the client's full retry budget before the
// real work even started (issue 18). A reader that needs the document
// (token exchange without --token-url) fails with the time in the message.
const Budget = 5 * time.Second

// budget is Budget; tests shorten it.
var budget = Budget

// Get returns the metadata, fetching it on the first call with ctx, for at
// most Budget and at most a quarter of the time ctx has left: the run has
// more important requests to make.
func (c *Cache) Get(ctx context.Context) (*Metadata, error) {
	c.once.Do(func() {
		b := budget
		if dl, ok := ctx.Deadline(); ok {
			b = min(b, time.Until(dl)/4)
		}
		fctx, cancel := context.WithTimeoutCause(ctx, b, errBudget)
		defer cancel()
		c.meta, c.err = Fetch(fctx, c.hc, c.base)
		var e *Error
		if c.err != nil && ctx.Err() == nil && context.Cause(fctx) == errBudget && errors.As(c.err, &e) {
			e.Err = fmt.Errorf("no answer within %s: %w", b.Round(100*time.Millisecond), e.Err)
		}
	})
	return c.meta, c.err
}

// errBudget is the cause of a fetch cut by Budget.
var errBudget = errors.New("the metadata fetch budget is spent")
