// Package controlplane is the HTTP client for the Takos control plane's
// owner-side OAuth client API, the space routes autoEnv writes to
// (spaces.go) and its RFC 8414 discovery document (read through package
// oauthmeta).
//
// The routes takos-apply sends, and nothing else (the broker's gateway,
// internal/broker/routes.go, forwards exactly these):
//
//	GET    /.well-known/oauth-authorization-server
//	GET    /api/me/oauth/clients
//	POST   /api/me/oauth/clients
//	PATCH  /api/me/oauth/clients/{clientId}
//	DELETE /api/me/oauth/clients/{clientId}
//	GET    /api/spaces/me                                   autoEnv: the personal space (creates it)
//	GET    /api/spaces/{spaceId}                            autoEnv: --space, and the caller's role
//	GET    /api/spaces/{spaceId}/common-env
//	PUT    /api/spaces/{spaceId}/common-env                 autoEnv: store OAUTH_CLIENT_ID / _SECRET
//	DELETE /api/spaces/{spaceId}/common-env/{name}          autoEnv: withdraw a dead secret
//	GET    /api/spaces/{spaceId}/groups
//	POST   /api/spaces/{spaceId}/groups                     autoEnv, first deploy: the app's group
//	GET    /api/spaces/{spaceId}/groups/{groupId}/services
//	POST   /api/services                                    autoEnv, first deploy: a worker's service
//	GET    /api/services/{serviceId}/common-env-links
//	PATCH  /api/services/{serviceId}/common-env-links       autoEnv: {"add": [names]} only
//	GET    /api/services/{serviceId}/deployments/{deploymentId}   autoEnv: rollout state
//
// Every id in a path is ^[A-Za-z0-9_-]{1,128}$ ("me" for the personal
// space) and every env name ^[A-Z_][A-Z0-9_]*$, checked before sending.
//
// The client never adds credentials or retries by itself: it is given an
// *http.Client built by httpx.NewClient (per-attempt timeout, retries of
// GET/PUT/PATCH/DELETE, never POST, no redirects) and wrapped with the bearer
// transport and httpx.SameOrigin. What this package adds is the wire format
// of the owner-side client API (/api/me/oauth/clients in
// github.com/tako0614/takos/packages/control/src/server/routes/me.ts, see
// README "plan and apply") and of the space routes, typed errors whose
// messages say what to do, and the classification a caller needs after a
// failed create (IsUncertain) or write (IsRoleRefusal).
package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthmeta"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Paths of the control-plane API: RFC 8414 discovery and the owner-side
// client routes of github.com/tako0614/takos/packages/control/src/server/routes/me.ts.
const (
	DiscoveryPath = "/.well-known/oauth-authorization-server"
	ClientsPath   = "/api/me/oauth/clients"
)

// maxBody caps every response body; the list of a user's clients is far
// below it.
const maxBody = 1 << 20

// Client talks to one control plane. It is safe for concurrent use.
type Client struct {
	base *url.URL
	hc   *http.Client
	meta *oauthmeta.Cache // nil: Discover fetches through hc
}

// New returns a client for the control plane at baseURL. baseURL must pass
// httpx.CheckURL (https unless loopback, no userinfo) and carry no query or
// fragment; a path prefix is kept. hc must not be nil: it is the caller's
// job to give it timeouts, retries and credentials.
func New(baseURL string, hc *http.Client) (*Client, error) {
	u, err := httpx.CheckURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("control-plane URL: %w", err)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("control-plane URL %s must not have a query or fragment", httpx.Redact(baseURL))
	}
	if hc == nil {
		return nil, errors.New("control-plane client: nil *http.Client")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return &Client{base: u, hc: hc}, nil
}

// Discovery is the part of the RFC 8414 authorization-server metadata
// takos-apply reads from the control plane.
type Discovery struct {
	// ScopesSupported is scopes_supported: the scopes lint accepts when the
	// control plane publishes them. Nil when the document has none.
	ScopesSupported []string
}

// WithMetadata returns a copy of c whose Discover reads m, the run's one
// RFC 8414 document shared with token exchange (see package oauthmeta).
// m fetches without the bearer: the document is public.
func (c *Client) WithMetadata(m *oauthmeta.Cache) *Client {
	cc := *c
	cc.meta = m
	return &cc
}

// Discover reads the control plane's RFC 8414 document
// (/.well-known/oauth-authorization-server) and returns its
// scopes_supported. A 404 is returned as an *APIError that matches
// ErrNoDiscovery and IsNotFound, so the caller can fall back to the
// built-in scope list. Neither the issuer nor any endpoint of the document
// is read or checked: the real Takos reports https://$ADMIN_DOMAIN as
// issuer whatever URL it is reached on, and its scopes are valid anyway;
// token exchange makes its own checks.
func (c *Client) Discover(ctx context.Context) (*Discovery, error) {
	const op = "fetch OAuth discovery"
	meta := c.meta
	if meta == nil {
		meta = oauthmeta.NewCache(c.hc, c.base.String())
	}
	m, err := meta.Get(ctx)
	if err != nil {
		var me *oauthmeta.Error
		if errors.As(err, &me) && me.Status == http.StatusNotFound {
			code, msg := apiErrorFields(me.Body)
			return nil, &APIError{Op: op, Method: http.MethodGet, Status: me.Status, Code: code, Message: msg,
				notFound: true, noDiscovery: true,
				summary: ErrNoDiscovery.Error() + " (" + statusDetail(me.Status, code, msg) + ")"}
		}
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return &Discovery{ScopesSupported: m.ScopesSupported}, nil
}

// OAuthClient is an OAuth client as the control plane lists or returns it
// after an update. It never holds a secret: the control plane keeps only a
// hash.
//
// The list view (GET) has no policy_uri and tos_uri, and the update reply
// (PATCH) has neither them nor client_type, created_at and updated_at. An
// absent field is unknown, not empty: HasPolicyURI and HasTOSURI say
// whether PolicyURI and TOSURI were present in the reply, and a zero
// CreatedAt/UpdatedAt means "not reported". A JSON null is present and
// empty.
type OAuthClient struct {
	// ID is the internal row id; only the PATCH reply carries it.
	ID            string
	ClientID      string
	Name          string
	Description   string
	LogoURI       string
	ClientURI     string
	PolicyURI     string
	TOSURI        string
	HasPolicyURI  bool
	HasTOSURI     bool
	RedirectURIs  []string
	AllowedScopes []string
	// ClientType is "confidential" or "public".
	ClientType string
	// Status is "active", "suspended" or "revoked".
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Active reports whether the client can be used and updated.
func (o OAuthClient) Active() bool { return o.Status == "active" }

// wireClient is the union of the list and PATCH reply shapes.
type wireClient struct {
	ID            *string         `json:"id"`
	ClientID      string          `json:"client_id"`
	Name          *string         `json:"name"`
	Description   *string         `json:"description"`
	LogoURI       *string         `json:"logo_uri"`
	ClientURI     *string         `json:"client_uri"`
	PolicyURI     json.RawMessage `json:"policy_uri"`
	TOSURI        json.RawMessage `json:"tos_uri"`
	RedirectURIs  []string        `json:"redirect_uris"`
	AllowedScopes []string        `json:"allowed_scopes"`
	ClientType    *string         `json:"client_type"`
	Status        string          `json:"status"`
	CreatedAt     json.RawMessage `json:"created_at"`
	UpdatedAt     json.RawMessage `json:"updated_at"`
}

// validClientID accepts the client ids the Takos API accepts in a path
// (^[A-Za-z0-9_-]{1,128}$; it issues 22 base64url ones). Ids go into URL
// paths, file-command records and log lines, so anything else in a reply
// is refused where it is decoded, once, instead of being escaped at every
// later use.
func validClientID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// clientIDRule is how an error names the rule validClientID enforces.
const clientIDRule = "is not a Takos client id (^[A-Za-z0-9_-]{1,128}$)"

// checkValues refuses a client whose URIs or scopes hold a control
// character, a line break or an invisible format character: the API
// accepts none (registration parses each URI and checks each scope against
// its registry), so such a value means the reply is not what the server
// stored, and it is reported rather than used or printed. Names and
// descriptions are free text; they are escaped where they are shown.
func (w wireClient) checkValues() error {
	lists := []struct {
		field string
		vals  []string
	}{{"redirect_uris", w.RedirectURIs}, {"allowed_scopes", w.AllowedScopes}}
	for _, l := range lists {
		for i, v := range l.vals {
			if safetext.HasControl(v) {
				return fmt.Errorf("client %s: %s[%d] holds a control character, which the API never accepts", w.ClientID, l.field, i)
			}
		}
	}
	for field, v := range map[string]*string{"logo_uri": w.LogoURI, "client_uri": w.ClientURI} {
		if v != nil && safetext.HasControl(*v) {
			return fmt.Errorf("client %s: %s holds a control character, which the API never accepts", w.ClientID, field)
		}
	}
	return nil
}

func (w wireClient) toClient() (OAuthClient, error) {
	if w.ClientID == "" {
		return OAuthClient{}, errors.New("a client has no client_id")
	}
	if !validClientID(w.ClientID) {
		return OAuthClient{}, fmt.Errorf("client_id %s %s", safetext.Quote(w.ClientID, 64), clientIDRule)
	}
	if err := w.checkValues(); err != nil {
		return OAuthClient{}, err
	}
	o := OAuthClient{
		ID:            deref(w.ID),
		ClientID:      w.ClientID,
		Name:          deref(w.Name),
		Description:   deref(w.Description),
		LogoURI:       deref(w.LogoURI),
		ClientURI:     deref(w.ClientURI),
		RedirectURIs:  w.RedirectURIs,
		AllowedScopes: w.AllowedScopes,
		ClientType:    deref(w.ClientType),
		Status:        w.Status,
	}
	var err error
	if o.PolicyURI, o.HasPolicyURI, err = optionalString(w.PolicyURI); err != nil {
		return OAuthClient{}, fmt.Errorf("client %s: policy_uri: %w", w.ClientID, err)
	}
	if o.TOSURI, o.HasTOSURI, err = optionalString(w.TOSURI); err != nil {
		return OAuthClient{}, fmt.Errorf("client %s: tos_uri: %w", w.ClientID, err)
	}
	if safetext.HasControl(o.PolicyURI) || safetext.HasControl(o.TOSURI) {
		return OAuthClient{}, fmt.Errorf("client %s: policy_uri or tos_uri holds a control character, which the API never accepts", w.ClientID)
	}
	if o.CreatedAt, err = parseTime(w.CreatedAt); err != nil {
		return OAuthClient{}, fmt.Errorf("client %s: created_at: %w", w.ClientID, err)
	}
	if o.UpdatedAt, err = parseTime(w.UpdatedAt); err != nil {
		return OAuthClient{}, fmt.Errorf("client %s: updated_at: %w", w.ClientID, err)
	}
	return o, nil
}

// ListClients returns every OAuth client owned by the caller, revoked ones
// included (Status "revoked"), in the server's order (newest first).
func (c *Client) ListClients(ctx context.Context) ([]OAuthClient, error) {
	const op = "list OAuth clients"
	var w struct {
		Clients *[]wireClient `json:"clients"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: ClientsPath}, &w)
	if err != nil {
		return nil, err
	}
	if w.Clients == nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: `the "clients" array is missing`}
	}
	out := make([]OAuthClient, 0, len(*w.Clients))
	for _, wc := range *w.Clients {
		oc, err := wc.toClient()
		if err != nil {
			return nil, &MalformedResponseError{Op: op, Status: status, Reason: err.Error()}
		}
		out = append(out, oc)
	}
	return out, nil
}

// CreateRequest is the registration the caller wants. ClientName and at
// least one redirect URI are required by the server. Scopes travel as one
// space-separated "scope" string; an empty list registers a client with no
// allowed scope. Empty URI fields are not sent.
type CreateRequest struct {
	ClientName   string
	RedirectURIs []string
	Scopes       []string
	LogoURI      string
	TOSURI       string
	PolicyURI    string
}

// CreateClient registers a new confidential client with POST
// /api/me/oauth/clients. The reply is the only time the control plane
// reveals the client secret and the registration access token; the
// returned Registration redacts both when formatted.
//
// POST is never retried. When it fails after the request may have reached
// the server (network error after the request was written, timeout, 5xx,
// 408, or a 2xx reply that cannot be used) IsUncertain(err) is true: the
// client may exist, and the caller must list before trying again. A
// successful reply's body never appears in an error.
func (c *Client) CreateClient(ctx context.Context, r CreateRequest) (*Registration, error) {
	const op = "create OAuth client"
	body := map[string]any{
		"client_name":   r.ClientName,
		"redirect_uris": nonNil(r.RedirectURIs),
		"scope":         strings.Join(r.Scopes, " "),
	}
	for k, v := range map[string]string{"logo_uri": r.LogoURI, "tos_uri": r.TOSURI, "policy_uri": r.PolicyURI} {
		if v != "" {
			body[k] = v
		}
	}
	var w wireRegistration
	status, err := c.do(ctx, request{op: op, method: http.MethodPost, path: ClientsPath, body: body}, &w)
	if err != nil {
		return nil, err
	}
	// A reply without an id or secret cannot be used, yet the server did
	// create something: report it as uncertain so the caller cleans up.
	switch {
	case w.ClientID == "":
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "client_id is missing", Uncertain: true}
	case !validClientID(w.ClientID):
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "client_id " + clientIDRule, Uncertain: true}
	case w.ClientSecret == "":
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "client_secret is missing (client " + w.ClientID + " was created)", Uncertain: true}
	case strings.ContainsFunc(w.ClientSecret, unicode.IsSpace) || safetext.HasControl(w.ClientSecret):
		// A secret with a line break cannot be masked line by line, nor
		// written safely to a dotenv or file-command record; the reason
		// never quotes it.
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "client_secret holds white space or a control character (client " + w.ClientID + " was created)", Uncertain: true}
	}
	return w.toRegistration(), nil
}

// UpdateRequest is a partial update: a nil field is not sent and keeps its
// stored value. The server ignores an empty client name, so a pointer to ""
// for ClientName is refused here. A pointer to "" for a URI field clears it
// (sent as JSON null). RedirectURIs must stay non-empty; Scopes may become
// empty.
type UpdateRequest struct {
	ClientName   *string
	RedirectURIs *[]string
	Scopes       *[]string
	LogoURI      *string
	TOSURI       *string
	PolicyURI    *string
	// ClientURI is not a manifest field; takos-apply sets it only to mark
	// a client that a rotation retires (see package reconcile).
	ClientURI *string
}

// UpdateClient applies r to the client with PATCH
// /api/me/oauth/clients/{id} and returns the client as the server reports
// it (without policy/tos URIs, type or timestamps: see OAuthClient). An
// unknown, foreign or revoked id gives an error for which IsNotFound is
// true.
func (c *Client) UpdateClient(ctx context.Context, id string, r UpdateRequest) (*OAuthClient, error) {
	const op = "update OAuth client"
	if id == "" {
		return nil, errors.New("update OAuth client: empty client id")
	}
	if r.ClientName != nil && *r.ClientName == "" {
		return nil, fmt.Errorf("update OAuth client %s: the client name cannot be cleared", safetext.Compact(id, 64))
	}
	body := map[string]any{}
	if r.ClientName != nil {
		body["client_name"] = *r.ClientName
	}
	if r.RedirectURIs != nil {
		body["redirect_uris"] = nonNil(*r.RedirectURIs)
	}
	if r.Scopes != nil {
		body["scope"] = strings.Join(*r.Scopes, " ")
	}
	for k, v := range map[string]*string{"logo_uri": r.LogoURI, "tos_uri": r.TOSURI, "policy_uri": r.PolicyURI, "client_uri": r.ClientURI} {
		switch {
		case v == nil:
		case *v == "":
			body[k] = nil
		default:
			body[k] = *v
		}
	}
	var w wireClient
	status, err := c.do(ctx, request{op: op, method: http.MethodPatch, path: ClientsPath + "/" + url.PathEscape(id), body: body, id: id}, &w)
	if err != nil {
		return nil, err
	}
	oc, err := w.toClient()
	if err != nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: err.Error()}
	}
	return &oc, nil
}

// RevokeClient soft-revokes the client with DELETE
// /api/me/oauth/clients/{id}: it stays in the list with Status "revoked"
// and its id stays reserved. An unknown or foreign id gives an error for
// which IsNotFound is true.
func (c *Client) RevokeClient(ctx context.Context, id string) error {
	const op = "revoke OAuth client"
	if id == "" {
		return errors.New("revoke OAuth client: empty client id")
	}
	var w struct {
		Success *bool `json:"success"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodDelete, path: ClientsPath + "/" + url.PathEscape(id), id: id}, &w)
	if err != nil {
		return err
	}
	if w.Success != nil && !*w.Success {
		return &MalformedResponseError{Op: op, Status: status, Reason: `the server answered "success": false`}
	}
	return nil
}

type request struct {
	op, method, path string
	body             any
	// id is the client a PATCH or DELETE addresses; a 404 then means that
	// client is gone.
	id string
	// what names the thing a 404 says is missing ("service X"), for the
	// routes outside /api/me.
	what string
}

// do sends one logical request and decodes a 2xx JSON reply into out.
func (c *Client) do(ctx context.Context, r request, out any) (int, error) {
	u := *c.base
	u.Path = c.base.Path + r.path
	target := u.String()
	// body stays a nil interface without a payload: NewRequest would call
	// Len on a typed nil *bytes.Reader and panic.
	var body io.Reader
	if r.body != nil {
		b, err := json.Marshal(r.body)
		if err != nil {
			return 0, fmt.Errorf("%s: encoding request: %w", r.op, err)
		}
		body = bytes.NewReader(b)
	}
	// wrote records whether the request left this process in full; after
	// that, a failed POST may have been acted on.
	var wrote atomic.Bool
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest: func(httptrace.WroteRequestInfo) { wrote.Store(true) },
	})
	req, err := http.NewRequestWithContext(ctx, r.method, target, body)
	if err != nil {
		return 0, fmt.Errorf("%s: building request: %w", r.op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Only a POST (a create) can leave the caller unsure whether it took
	// effect: the other methods are idempotent and retried.
	post := r.method == http.MethodPost
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, &TransportError{Op: r.op, Method: r.method, Err: err, Uncertain: post && wrote.Load()}
	}
	data, rerr := httpx.ReadBody(resp, maxBody)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// An unreadable error body still leaves a usable status.
		return resp.StatusCode, apiError(r, resp, data, post)
	}
	if rerr != nil {
		return resp.StatusCode, &MalformedResponseError{Op: r.op, Status: resp.StatusCode, Reason: "reading the body failed", Uncertain: post, err: rerr}
	}
	if !isJSON(resp.Header.Get("Content-Type")) {
		return resp.StatusCode, &MalformedResponseError{Op: r.op, Status: resp.StatusCode, Reason: "the reply is not JSON (Content-Type " + safetext.Compact(resp.Header.Get("Content-Type"), 64) + ")", Uncertain: post}
	}
	if err := decodeStrict(data, out); err != nil {
		return resp.StatusCode, &MalformedResponseError{Op: r.op, Status: resp.StatusCode, Reason: err.Error(), Uncertain: post}
	}
	return resp.StatusCode, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
