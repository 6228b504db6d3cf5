// Package hostiletest is a loopback fake of every server takos-apply
// reads text from — the Takos control plane (discovery and the owner OAuth
// client API), an RFC 8693 token endpoint and GitHub's Actions OIDC token
// endpoint — that puts workflow-command sequences into every field it
// returns: the client list, the create and PATCH replies, the token
// response, the JWT's claims, every error body and the headers that
// takos-apply echoes in errors (Location, Retry-After, Content-Type,
// WWW-Authenticate).
//
// It is a test double for proving that no such text reaches a runner
// stream as a command; it is imported only from _test files.
package hostiletest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Text is the default hostile text: each line break, CR, NEL, line
// separator, ANSI sequence and leading white space is followed by a
// command the runner would execute, plus a legacy "##[" command and a
// "::stop-commands::" that would switch off takos-apply's own masks.
const Text = "x\n::error title=pwned::injected\r::add-mask::Heldout\u0085::warning::nel\u2028::notice::ls" +
	"\u2029::set-output name=a::b\x1b[2J\n  ::stop-commands::tok\n##[set-env name=A;]b ::debug::z"

// Endpoint names one route of the fake, for Override.
type Endpoint string

// The routes.
const (
	Discovery Endpoint = "discovery" // GET /.well-known/oauth-authorization-server
	List      Endpoint = "list"      // GET /api/me/oauth/clients
	Create    Endpoint = "create"    // POST /api/me/oauth/clients
	Update    Endpoint = "update"    // PATCH /api/me/oauth/clients/{id}
	Revoke    Endpoint = "revoke"    // DELETE /api/me/oauth/clients/{id}
	Token     Endpoint = "token"     // POST /token (RFC 8693)
	IDToken   Endpoint = "idtoken"   // GET /idtoken (ACTIONS_ID_TOKEN_REQUEST_URL)
)

// Endpoints lists every route, in a fixed order.
var Endpoints = []Endpoint{Discovery, List, Create, Update, Revoke, Token, IDToken}

// Reply is what an endpoint answers instead of its default.
type Reply struct {
	Status int
	Header http.Header
	Body   []byte
}

// Options shape the fake's default replies.
type Options struct {
	// Text is the hostile text in every free-text field; default Text.
	Text string
	// Name is the client name of the listed client: set it to the
	// manifest's clientName to make the client "ours" (an update plan),
	// leave it empty for a create.
	Name string
	// RawURIs puts Text unchanged into the URI and scope fields of the list
	// and PATCH replies; by default those carry Text without its control
	// characters (still full of "::" sequences), which the decoder
	// accepts, so the values reach the plan.
	RawURIs bool
}

// Server is the running fake. Its methods are safe for concurrent use.
type Server struct {
	// URL is the origin of every route: the control plane URL, the token
	// endpoint's origin and the OIDC issuer.
	URL string
	// TokenURL is the RFC 8693 token endpoint.
	TokenURL string
	// RequestURL and RequestToken are the ACTIONS_ID_TOKEN_REQUEST_*
	// values.
	RequestURL, RequestToken string

	opt Options

	mu        sync.Mutex
	overrides map[Endpoint]Reply
	failAll   *Reply
	issued    []string
	created   []string // names of the clients created, in order
}

// New starts the fake on loopback; it is closed when the test ends.
func New(t testing.TB, opt Options) *Server {
	t.Helper()
	if opt.Text == "" {
		opt.Text = Text
	}
	s := &Server{opt: opt, overrides: map[Endpoint]Reply{}, RequestToken: "ghreq_" + random(12)}
	s.issued = append(s.issued, s.RequestToken)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", s.route(Discovery, s.discovery))
	mux.HandleFunc("GET /api/me/oauth/clients", s.route(List, s.list))
	mux.HandleFunc("POST /api/me/oauth/clients", s.route(Create, s.create))
	mux.HandleFunc("PATCH /api/me/oauth/clients/{id}", s.route(Update, s.update))
	mux.HandleFunc("DELETE /api/me/oauth/clients/{id}", s.route(Revoke, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true})
	}))
	mux.HandleFunc("POST /token", s.route(Token, s.token))
	mux.HandleFunc("GET /idtoken", s.route(IDToken, s.idToken))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.hostileError(w, http.StatusNotFound)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.TokenURL = srv.URL + "/token"
	s.RequestURL = srv.URL + "/idtoken?api-version=2.0"
	return s
}

// Override makes endpoint answer r from now on.
func (s *Server) Override(e Endpoint, r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overrides[e] = r
}

// FailAll makes every endpoint answer status with the hostile error body
// and headers (see ErrorReply).
func (s *Server) FailAll(status int) {
	r := s.ErrorReply(status)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAll = &r
}

// Issued returns every credential the fake handed out: the OIDC request
// token, JWTs, access tokens, client secrets and registration tokens.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// ErrorReply is a status with the hostile text in every error field the
// control plane, an OAuth server or a proxy uses (nested
// {"error":{"code","message"}} for even statuses, flat
// {"error","error_description"} for odd ones, "message" in both) and in
// the headers takos-apply may echo. A 5xx or 429 carries "Retry-After: 0"
// so that the client's retries do not sleep.
func (s *Server) ErrorReply(status int) Reply {
	t := s.opt.Text
	body := map[string]any{"message": t}
	if status%2 == 0 {
		body["error"] = map[string]any{"code": t, "message": t}
	} else {
		body["error"] = t
		body["error_description"] = t
	}
	b, _ := json.Marshal(body)
	// Header values carry the text without its controls: an HTTP client
	// refuses a header line with them, so only visible text can arrive.
	ht := s.uriText()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("WWW-Authenticate", `Bearer error="`+ht+`"`)
	h.Set("Location", "/redirected?"+ht)
	if status == http.StatusTooManyRequests || status >= 500 || status == http.StatusRequestTimeout {
		h.Set("Retry-After", "0")
	} else {
		h.Set("Retry-After", ht)
	}
	return Reply{Status: status, Header: h, Body: b}
}

func (s *Server) route(e Endpoint, def http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		rep, ok := s.overrides[e]
		if s.failAll != nil {
			rep, ok = *s.failAll, true
		}
		s.mu.Unlock()
		if !ok {
			def(w, r)
			return
		}
		for k, vs := range rep.Header {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(rep.Status)
		w.Write(rep.Body)
	}
}

func (s *Server) hostileError(w http.ResponseWriter, status int) {
	rep := s.ErrorReply(status)
	for k, vs := range rep.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(status)
	w.Write(rep.Body)
}

// uriText is the text of URI and scope fields and headers: Text without
// the control characters the decoder refuses, unless RawURIs.
func (s *Server) uriText() string {
	if s.opt.RawURIs {
		return s.opt.Text
	}
	return strings.Map(func(r rune) rune {
		if safetext.HasControl(string(r)) {
			return ' '
		}
		return r
	}, s.opt.Text)
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                s.URL,
		"token_endpoint":        s.TokenURL,
		"grant_types_supported": []string{"urn:ietf:params:oauth:grant-type:token-exchange", s.opt.Text},
		"scopes_supported":      []string{"openid", "profile", "threads:read", s.uriText()},
		"service_documentation": s.opt.Text,
	})
}

func (s *Server) clientJSON(id, name string) map[string]any {
	t, u := s.opt.Text, s.uriText()
	return map[string]any{
		"id":             t,
		"client_id":      id,
		"name":           name,
		"description":    t,
		"logo_uri":       "https://old.example.com/logo.png" + u,
		"client_uri":     u,
		"policy_uri":     u,
		"tos_uri":        u,
		"redirect_uris":  []string{"https://old.example.com/cb" + u, u},
		"allowed_scopes": []string{"openid", u},
		"client_type":    t,
		"status":         "active",
		"created_at":     "2026-04-03T10:00:00.000Z",
		"updated_at":     "2026-04-03T10:00:00.000Z",
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	clients := []any{
		// Someone else's client: its name is the hostile text.
		s.clientJSON("c_other", s.opt.Text),
	}
	if s.opt.Name != "" {
		clients = append(clients, s.clientJSON("c_ours", s.opt.Name))
	}
	s.mu.Lock()
	for i, name := range s.created {
		// Created clients are listed with the name they were created
		// with, so a re-list after a create finds the client just made.
		clients = append(clients, s.clientJSON(createdID(i), name))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"clients": clients})
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	t := s.opt.Text
	var req struct {
		ClientName string `json:"client_name"`
	}
	json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req)
	s.mu.Lock()
	id := createdID(len(s.created))
	s.created = append(s.created, req.ClientName)
	secret, rat := "sec_"+random(16), "rat_"+random(16)
	s.issued = append(s.issued, secret, rat)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{
		"client_id":                 id,
		"client_secret":             secret,
		"registration_access_token": rat,
		"registration_client_uri":   t,
		"client_id_issued_at":       time.Now().Unix(),
		"client_secret_expires_at":  0,
		"client_name":               t,
		"redirect_uris":             []string{t},
		"grant_types":               []string{t},
		"response_types":            []string{t},
		"scope":                     t,
		"client_uri":                t,
		"logo_uri":                  t,
		"policy_uri":                t,
		"tos_uri":                   t,
	})
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	c := s.clientJSON(r.PathValue("id"), s.opt.Text)
	delete(c, "policy_uri")
	delete(c, "tos_uri")
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	tok := "sts_" + random(16)
	s.mu.Lock()
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      tok,
		"token_type":        "Bearer",
		"issued_token_type": s.opt.Text,
		"scope":             s.opt.Text,
		"expires_in":        300,
	})
}

// idToken answers with an unsigned JWT whose every claim is the hostile
// text: takos-apply reads the claims without verifying them (the STS
// does), and prints them in auth debug and in errors.
func (s *Server) idToken(w http.ResponseWriter, r *http.Request) {
	t := s.opt.Text
	claims := map[string]any{"exp": time.Now().Add(5 * time.Minute).Unix()}
	for _, k := range []string{"iss", "sub", "repository", "repository_id", "ref", "environment", "job_workflow_ref", "runner_environment", "actor", "workflow"} {
		claims[k] = t
	}
	claims["aud"] = []string{t, r.URL.Query().Get("audience")}
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": t})
	payload, _ := json.Marshal(claims)
	jwt := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + random(32)
	s.mu.Lock()
	s.issued = append(s.issued, jwt)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"value": jwt, "count": t})
}

func createdID(i int) string { return "c_new" + strconv.Itoa(i+1) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func random(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
