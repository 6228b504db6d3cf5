package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// Bounds of a forwarded request: a registration or an env write is a
// few hundred bytes, a client list or a deployment a few KiB.
const (
	maxForwardBody  = 256 << 10
	maxForwardReply = 4 << 20
)

// gateway serves /api/ to jobs: it authenticates the broker's access
// token, matches the request against the route table and the rule's
// permissions, and forwards it to the one Takos origin with the broker's
// own credential. Nothing of the job's request but its method, its
// canonical path and its checked JSON body reaches Takos (no header, no
// cookie, no query); nothing of Takos's reply but its status, its
// Content-Type and Retry-After and its body (redacted, and filtered for
// a rule limited to some spaces or clients) reaches the job.
type gateway struct {
	s    *Server
	base *url.URL // Takos, path prefix kept
	hc   *http.Client

	mu       sync.Mutex
	mySpace  string            // the deploy account's personal space id, once known
	services map[string]string // service id → space id (immutable in Takos)
}

func newGateway(s *Server, cp *url.URL, credential, ua string) *gateway {
	// One attempt, no retries: the job's client retries what is safe to
	// retry (and lists before re-creating), so retrying here too would
	// multiply its attempts and could repeat a create.
	api := httpx.NewClient(httpx.Options{Timeout: s.cfg.Timeout, UserAgent: ua, MaxAttempts: 1})
	base := *cp
	base.Path = strings.TrimRight(base.Path, "/")
	base.RawPath = ""
	return &gateway{
		s:    s,
		base: &base,
		hc: &http.Client{
			Transport:     httpx.SameOrigin(bearer{base: api.Transport, token: credential}, httpx.Origin(cp)),
			CheckRedirect: api.CheckRedirect,
		},
		services: map[string]string{},
	}
}

// bearer adds the broker's credential; httpx.SameOrigin around it refuses
// every other origin before the header is set.
type bearer struct {
	base  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

// denial is a refused gateway request: its status, Takos-style error code
// and a message for the job (and the audit log).
type denial struct {
	status int
	code   string
	msg    string
}

func (d *denial) Error() string { return d.msg }

func deny(status int, code, format string, a ...any) *denial {
	return &denial{status: status, code: code, msg: fmt.Sprintf(format, a...)}
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rawPath := r.RequestURI
	if rawPath == "" {
		rawPath = r.URL.RequestURI()
	}
	rawPath, query, _ := strings.Cut(rawPath, "?")
	grant, rule, d := g.authenticate(r)
	// Redacted before it is cut: a cut credential is no longer recognised.
	route, path := "", safetext.Compact(g.s.redactor.redact(rawPath), 200)
	if d == nil {
		var m *match
		m, d = g.authorize(r, rule, rawPath, query)
		if m != nil {
			route = m.route.pattern
		}
		if d == nil {
			var status int
			status, d = g.forward(w, r, grant, rule, m)
			if d == nil {
				g.s.audit.request(r.Context(), r.RemoteAddr, grant, r.Method, route, path, status, "", time.Since(start))
				g.s.metrics.requests.Inc(methodLabel(r.Method), routeLabel(route), "forwarded", statusClass(status))
				g.s.metrics.requestTime.Observe(time.Since(start).Seconds(), "forwarded")
				return
			}
		}
	}
	if d.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	msg := g.s.redactor.redact(d.msg)
	g.s.audit.request(r.Context(), r.RemoteAddr, grant, r.Method, route, path, d.status, msg, time.Since(start))
	g.s.metrics.requests.Inc(methodLabel(r.Method), routeLabel(route), "refused", statusClass(d.status))
	g.s.metrics.requestTime.Observe(time.Since(start).Seconds(), "refused")
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, d.status, map[string]any{"error": map[string]string{"code": d.code, "message": "takos-apply broker: " + msg}})
}

// authenticate checks the access token: the broker's signature, its
// expiry, and that the rule that granted it is still in the policy. The
// rule is read once, from the policy in force when the request came in,
// and the request is judged by it to the end (a reload does not change
// the rule under a request).
func (g *gateway) authenticate(r *http.Request) (*Grant, *Rule, *denial) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return nil, nil, deny(http.StatusUnauthorized, "UNAUTHORIZED",
			"no access token: exchange the job's GitHub OIDC token at %s%s and send it as Authorization: Bearer", g.s.url, TokenPath)
	}
	grant, err := g.s.tokens.verify(strings.TrimSpace(tok), g.s.url, g.s.now())
	switch {
	case errors.Is(err, errTokenExpired):
		return grant, nil, deny(http.StatusUnauthorized, "UNAUTHORIZED",
			"the access token expired at %s (rule %s); exchange a fresh GitHub OIDC token", grant.Expires().UTC().Format(time.RFC3339), grant.Rule)
	case err != nil:
		return nil, nil, deny(http.StatusUnauthorized, "UNAUTHORIZED", "the bearer is not a valid access token of this broker: %v", err)
	}
	rule := g.s.Policy().Rule(grant.Rule)
	if rule == nil {
		return grant, nil, deny(http.StatusUnauthorized, "UNAUTHORIZED",
			"rule %s, which granted this access token, is no longer in the trust policy", safetext.Quote(grant.Rule, 100))
	}
	// A ttl shortened since (a reload) applies to the tokens the rule
	// granted, counted from their issue.
	if end := time.Unix(grant.IssuedAt, 0).Add(rule.TTL); !g.s.now().Before(end) {
		return grant, nil, deny(http.StatusUnauthorized, "UNAUTHORIZED",
			"the access token is older than the ttl rule %s has now (%s, since a policy reload); exchange a fresh GitHub OIDC token", rule.Name, rule.TTL)
	}
	return grant, rule, nil
}

// authorize matches the request against the route table and the rule's
// capabilities. The scope checks that need Takos's answers come later.
func (g *gateway) authorize(r *http.Request, rule *Rule, rawPath, query string) (*match, *denial) {
	if query != "" || strings.HasSuffix(r.RequestURI, "?") {
		return nil, deny(http.StatusBadRequest, "BAD_REQUEST", "the gateway forwards no query string, and no route takes one")
	}
	segs, err := splitPath(rawPath)
	if err != nil {
		return nil, deny(http.StatusBadRequest, "BAD_REQUEST", "%v", err)
	}
	m, known, ambiguous := lookup(r.Method, segs)
	switch {
	case ambiguous:
		return nil, deny(http.StatusBadRequest, "BAD_REQUEST", "%s %s fits two routes; the ids Takos issues never do", r.Method, rawPath)
	case len(segs) >= 3 && segs[0] == "api" && segs[1] == "me" && segs[2] == "personal-access-tokens":
		return nil, deny(http.StatusForbidden, "FORBIDDEN",
			"rule %s does not permit %s %s: personal access tokens are never reachable through the broker, whatever the rule", rule.Name, r.Method, rawPath)
	case m == nil && known:
		return nil, deny(http.StatusForbidden, "FORBIDDEN", "rule %s does not permit %s %s: the gateway serves this path, but not with %s", rule.Name, r.Method, rawPath, r.Method)
	case m == nil:
		return nil, deny(http.StatusForbidden, "FORBIDDEN",
			"rule %s does not permit %s %s: the gateway forwards only the OAuth client, space env, group and service routes takos-apply uses", rule.Name, r.Method, rawPath)
	case !rule.Permissions.Has(m.route.cap):
		return m, deny(http.StatusForbidden, "FORBIDDEN", "rule %s does not permit %s %s: it needs %s, and the rule allows %s",
			rule.Name, r.Method, rawPath, m.route.cap, orNothing(rule.Permissions.String()))
	}
	return m, nil
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// readBody reads and checks a request body: JSON object, UTF-8, bounded;
// a route without a body gets none.
func readBody(r *http.Request, wantBody bool) ([]byte, map[string]json.RawMessage, *denial) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxForwardBody+1))
	if err != nil {
		return nil, nil, deny(http.StatusBadRequest, "BAD_REQUEST", "the request body could not be read")
	}
	if !wantBody {
		if len(body) > 0 {
			return nil, nil, deny(http.StatusBadRequest, "BAD_REQUEST", "%s takes no body", r.Method)
		}
		return nil, nil, nil
	}
	if len(body) > maxForwardBody {
		return nil, nil, deny(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "the request body is larger than %d KiB", maxForwardBody>>10)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, nil, deny(http.StatusUnsupportedMediaType, "UNSUPPORTED_CONTENT_TYPE", "the body must be application/json")
	}
	var obj map[string]json.RawMessage
	// Decoded into a map, never a struct: keys match exactly and the last
	// of duplicated keys wins, as in Takos's JSON.parse (encoding/json
	// matches struct fields case-insensitively, which would let
	// {"Client_Name": …, "client_name": …} show the check another name).
	if !utf8.Valid(body) || json.Unmarshal(body, &obj) != nil || obj == nil {
		return nil, nil, deny(http.StatusBadRequest, "BAD_REQUEST", "the body must be one JSON object in UTF-8")
	}
	return body, obj, nil
}

// forward runs the scope checks, sends the request to Takos and relays
// the reply.
func (g *gateway) forward(w http.ResponseWriter, r *http.Request, grant *Grant, rule *Rule, m *match) (int, *denial) {
	ctx := r.Context()
	perm := rule.Permissions
	body, obj, d := readBody(r, m.route.body)
	if d != nil {
		return 0, d
	}
	if d := g.checkScope(ctx, perm, grant.Rule, r.Method, m, obj); d != nil {
		return 0, d
	}
	segs := strings.Split(m.route.pattern[1:], "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = m.vars[s[1:len(s)-1]]
		}
	}
	target := *g.base
	target.Path += "/" + strings.Join(segs, "/")
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	out, err := http.NewRequestWithContext(ctx, r.Method, target.String(), rd)
	if err != nil {
		return 0, deny(http.StatusInternalServerError, "INTERNAL_ERROR", "building the request failed")
	}
	out.Header.Set("Accept", "application/json")
	if body != nil {
		out.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.hc.Do(out)
	if err != nil {
		return 0, deny(http.StatusBadGateway, "BAD_GATEWAY", "the control plane could not be reached: %s", transportReason(err))
	}
	reply, err := httpx.ReadBody(resp, maxForwardReply)
	switch {
	case err != nil:
		return 0, deny(http.StatusBadGateway, "BAD_GATEWAY", "the control plane's reply could not be read (or is larger than %d MiB)", maxForwardReply>>20)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return 0, deny(http.StatusBadGateway, "BAD_GATEWAY", "the control plane answered a redirect (HTTP %d), which the gateway neither follows nor passes on", resp.StatusCode)
	}
	if resp.StatusCode == http.StatusOK {
		if reply, d = g.filter(ctx, perm, m, reply); d != nil {
			return 0, d
		}
	}
	// Nothing that would let the job act as the account leaves: the
	// broker's credential by value, and PATs by shape (a PAT stored in a
	// service's env shows in its deployment's bindings).
	reply = []byte(g.s.redactor.redact(string(reply)))
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		w.Header().Set("Retry-After", ra)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(resp.StatusCode)
	w.Write(reply)
	return resp.StatusCode, nil
}

func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return safetext.Compact(err.Error(), 200)
}

// checkScope applies the rule's spaces and clients to the request.
func (g *gateway) checkScope(ctx context.Context, perm Permissions, rule, method string, m *match, body map[string]json.RawMessage) *denial {
	what := method + " " + m.route.pattern
	switch m.route.scope {
	case scopeSpacePath:
		return g.requireSpace(ctx, perm, rule, what, m.vars["space"])
	case scopeServicePath:
		if perm.Spaces == nil {
			return nil
		}
		space, d := g.serviceSpace(ctx, m.vars["service"])
		if d != nil {
			return d
		}
		return g.requireSpace(ctx, perm, rule, what, space)
	case scopeServiceCreate:
		if perm.Spaces == nil {
			return nil
		}
		space := "me" // Takos puts a service without space_id in the personal space
		if raw, ok := body["space_id"]; ok && string(raw) != "null" {
			var s string
			if json.Unmarshal(raw, &s) != nil {
				return deny(http.StatusForbidden, "FORBIDDEN", "rule %s limits spaces, so space_id must be a string", rule)
			}
			if s = manifest.TrimJS(s); s != "" { // Takos trims it
				space = s
			}
		}
		return g.requireSpace(ctx, perm, rule, what, space)
	case scopeClientCreate:
		return requireClientName(perm, rule, body, true)
	case scopeClientPath:
		if perm.Clients == nil {
			return nil
		}
		if d := requireClientName(perm, rule, body, false); d != nil {
			return d
		}
		name, found, d := g.clientName(ctx, m.vars["client"])
		if d != nil {
			return d
		}
		// An unknown id is forwarded: Takos answers 404 for it as it would
		// to the job's own credential.
		if found && !clientPermitted(perm, name) {
			return deny(http.StatusForbidden, "FORBIDDEN", "rule %s does not permit client %s (%s): it manages only clients named %s",
				rule, m.vars["client"], safetext.Quote(name, 100), patterns(perm.Clients))
		}
	}
	return nil
}

func clientPermitted(perm Permissions, name string) bool {
	return perm.Clients == nil || slices.ContainsFunc(perm.Clients, func(p string) bool { return globMatch(p, name) })
}

// requireClientName checks the body's client_name; required says the
// request must carry one (a create).
func requireClientName(perm Permissions, rule string, body map[string]json.RawMessage, required bool) *denial {
	if perm.Clients == nil {
		return nil
	}
	raw, ok := body["client_name"]
	if !ok && !required {
		return nil
	}
	var name string
	if !ok || json.Unmarshal(raw, &name) != nil {
		return deny(http.StatusForbidden, "FORBIDDEN", "rule %s limits clients by name, so client_name must be a string", rule)
	}
	if !clientPermitted(perm, name) {
		return deny(http.StatusForbidden, "FORBIDDEN", "rule %s does not permit a client named %s: it manages only clients named %s",
			rule, safetext.Quote(name, 100), patterns(perm.Clients))
	}
	return nil
}

// requireSpace refuses a space the rule does not list.
func (g *gateway) requireSpace(ctx context.Context, perm Permissions, rule, what, space string) *denial {
	ok, d := g.spacePermitted(ctx, perm, space)
	if d != nil {
		return d
	}
	if !ok {
		return deny(http.StatusForbidden, "FORBIDDEN", "rule %s does not permit space %s for %s: it reaches only %s",
			rule, safetext.Quote(space, 130), what, patterns(perm.Spaces))
	}
	return nil
}

// spacePermitted reports whether space (an id, or "me") is one of the
// rule's spaces; "me" on either side is the personal space's id.
func (g *gateway) spacePermitted(ctx context.Context, perm Permissions, space string) (bool, *denial) {
	if perm.Spaces == nil || slices.Contains(perm.Spaces, space) {
		return true, nil
	}
	if space != "me" && !slices.Contains(perm.Spaces, "me") {
		return false, nil
	}
	mine, d := g.personalSpace(ctx)
	if d != nil {
		return false, d
	}
	if space == "me" {
		return slices.Contains(perm.Spaces, mine), nil
	}
	return space == mine, nil
}

// filter narrows a list reply to what the rule may see.
func (g *gateway) filter(ctx context.Context, perm Permissions, m *match, reply []byte) ([]byte, *denial) {
	switch {
	case m.route.scope == scopeClientList && perm.Clients != nil:
		return filterList(reply, "clients", func(item json.RawMessage) (bool, *denial) {
			var c struct {
				Name *string `json:"name"`
			}
			return json.Unmarshal(item, &c) == nil && c.Name != nil && clientPermitted(perm, *c.Name), nil
		})
	case m.route.scope == scopeSpaceList && perm.Spaces != nil:
		return filterList(reply, "spaces", func(item json.RawMessage) (bool, *denial) {
			var sp struct {
				ID *string `json:"id"`
			}
			if json.Unmarshal(item, &sp) != nil || sp.ID == nil {
				return false, nil
			}
			return g.spacePermitted(ctx, perm, *sp.ID)
		})
	}
	return reply, nil
}

// filterList keeps the items of the array at key that keep accepts. The
// object is decoded into raw members and re-encoded, so the kept items
// and the other members are passed on byte for byte.
func filterList(reply []byte, key string, keep func(json.RawMessage) (bool, *denial)) ([]byte, *denial) {
	var top map[string]json.RawMessage
	var items []json.RawMessage
	if json.Unmarshal(reply, &top) != nil || json.Unmarshal(top[key], &items) != nil {
		return nil, deny(http.StatusBadGateway, "BAD_GATEWAY", "the control plane's list has no %q array, so it cannot be narrowed to the rule's permissions", key)
	}
	kept := make([]json.RawMessage, 0, len(items))
	for _, it := range items {
		ok, d := keep(it)
		if d != nil {
			return nil, d
		}
		if ok {
			kept = append(kept, it)
		}
	}
	b, _ := json.Marshal(kept)
	top[key] = b
	out, err := json.Marshal(top)
	if err != nil {
		return nil, deny(http.StatusBadGateway, "BAD_GATEWAY", "the control plane's list could not be re-encoded")
	}
	return out, nil
}

// lookupJSON GETs path on Takos with the broker's credential (an internal
// lookup, never answered to the job as such) and decodes the reply.
func (g *gateway) lookupJSON(ctx context.Context, path string, out any) (int, *denial) {
	target := *g.base
	target.Path += path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return 0, deny(http.StatusInternalServerError, "INTERNAL_ERROR", "building a lookup failed")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := g.hc.Do(req)
	if err != nil {
		return 0, deny(http.StatusBadGateway, "BAD_GATEWAY", "the control plane could not be reached to check the rule's permissions: %s", transportReason(err))
	}
	body, err := httpx.ReadBody(resp, maxForwardReply)
	if err != nil || resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusNotFound {
			return resp.StatusCode, nil
		}
		return resp.StatusCode, deny(http.StatusBadGateway, "BAD_GATEWAY", "checking the rule's permissions, GET %s answered HTTP %d", path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return resp.StatusCode, deny(http.StatusBadGateway, "BAD_GATEWAY", "checking the rule's permissions, GET %s answered unexpected JSON", path)
	}
	return resp.StatusCode, nil
}

// personalSpace returns the deploy account's personal space id (GET
// /api/spaces/me, which also creates it on a fresh account), once.
func (g *gateway) personalSpace(ctx context.Context) (string, *denial) {
	g.mu.Lock()
	id := g.mySpace
	g.mu.Unlock()
	if id != "" {
		return id, nil
	}
	var w struct {
		Space struct {
			ID string `json:"id"`
		} `json:"space"`
	}
	status, d := g.lookupJSON(ctx, "/api/spaces/me", &w)
	if d != nil {
		return "", d
	}
	if status != http.StatusOK || w.Space.ID == "" {
		return "", deny(http.StatusBadGateway, "BAD_GATEWAY", "the deploy account's personal space could not be found (GET /api/spaces/me answered HTTP %d)", status)
	}
	g.mu.Lock()
	g.mySpace = w.Space.ID
	g.mu.Unlock()
	return w.Space.ID, nil
}

// serviceSpace returns the space of a service (GET /api/services/:id).
// A service never changes space, so the answer is cached; a service Takos
// does not know is refused here, as Takos would.
func (g *gateway) serviceSpace(ctx context.Context, id string) (string, *denial) {
	g.mu.Lock()
	space, ok := g.services[id]
	g.mu.Unlock()
	if ok {
		return space, nil
	}
	var w struct {
		Service struct {
			SpaceID string `json:"space_id"`
		} `json:"service"`
	}
	status, d := g.lookupJSON(ctx, "/api/services/"+id, &w)
	if d != nil {
		return "", d
	}
	if status == http.StatusNotFound || w.Service.SpaceID == "" {
		return "", deny(http.StatusNotFound, "NOT_FOUND", "Service not found")
	}
	g.mu.Lock()
	if len(g.services) > 10_000 {
		clear(g.services)
	}
	g.services[id] = w.Service.SpaceID
	g.mu.Unlock()
	return w.Service.SpaceID, nil
}

// clientName returns the name of the deploy account's client with id.
func (g *gateway) clientName(ctx context.Context, id string) (string, bool, *denial) {
	var w struct {
		Clients []struct {
			ClientID string `json:"client_id"`
			Name     string `json:"name"`
		} `json:"clients"`
	}
	status, d := g.lookupJSON(ctx, "/api/me/oauth/clients", &w)
	if d != nil {
		return "", false, d
	}
	if status != http.StatusOK {
		return "", false, deny(http.StatusBadGateway, "BAD_GATEWAY", "checking the client's name, the client list answered HTTP %d", status)
	}
	for _, c := range w.Clients {
		if c.ClientID == id {
			return c.Name, true, nil
		}
	}
	return "", false, nil
}
