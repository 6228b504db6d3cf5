package broker

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// maxRequestBody caps a token request: a GitHub JWT is about 1.5 KiB.
const maxRequestBody = 64 << 10

// refused is an exchange's RFC 6749 §5.2 answer with its extra headers
// (Allow, Retry-After).
type refused struct {
	*oauthwire.Error
	header http.Header
	// answerOnly is added to the answer's description but not to the
	// audit reason, which records the same claims once, in its claims.
	answerOnly string
}

func badRequest(code, desc string) *refused {
	return &refused{Error: &oauthwire.Error{Status: http.StatusBadRequest, Code: code, Description: desc}}
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sub, res, e := s.exchange(r)
	outcome := exchangeOutcome(e)
	s.metrics.exchanges.Inc(outcome)
	decision := "granted"
	if e != nil {
		decision = "refused"
	}
	defer func() { s.metrics.exchangeTime.Observe(time.Since(start).Seconds(), decision) }()
	if e != nil {
		// The audit log redacts every string itself; the answer is redacted here.
		s.audit.exchange(r.Context(), r.RemoteAddr, sub, e.Code, e.Description, res.rule, nil)
		for k, v := range e.header {
			w.Header()[k] = v
		}
		e.Description = s.redactor.redact(e.Description + e.answerOnly)
		e.Write(w)
		return
	}
	s.audit.exchange(r.Context(), r.RemoteAddr, sub, "", "", res.rule, res.grant)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      res.token,
		"issued_token_type": oauthwire.TokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        max(0, int64((res.grant.Expires().Sub(s.now())+time.Second-1)/time.Second)),
		"scope":             res.scope,
	})
}

type exchangeResult struct {
	rule  string
	grant *Grant
	token string
	scope string
}

// readRequest checks an RFC 8693 request and returns its subject token.
func (s *Server) readRequest(r *http.Request) (string, *refused) {
	if r.Method != http.MethodPost {
		return "", &refused{Error: &oauthwire.Error{Status: http.StatusMethodNotAllowed, Code: oauthwire.InvalidRequest, Description: "the token endpoint takes POST"},
			header: http.Header{"Allow": {"POST"}}}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return "", badRequest(oauthwire.InvalidRequest, "the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)")
	}
	if r.URL.RawQuery != "" {
		// Tokens in a URL end up in access logs.
		return "", badRequest(oauthwire.InvalidRequest, "parameters must be sent in the body, not the query string")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", &refused{Error: &oauthwire.Error{Status: http.StatusRequestEntityTooLarge, Code: oauthwire.InvalidRequest, Description: "the request body is larger than 64 KiB"}}
		}
		return "", badRequest(oauthwire.InvalidRequest, "the body is not a valid form")
	}
	f := r.PostForm
	for _, k := range []string{"grant_type", "subject_token", "subject_token_type", "requested_token_type"} {
		if len(f[k]) > 1 {
			return "", badRequest(oauthwire.InvalidRequest, k+" is repeated")
		}
	}
	switch {
	case f.Get("grant_type") != oauthwire.GrantTypeTokenExchange:
		return "", badRequest(oauthwire.UnsupportedGrantType, "grant_type must be "+oauthwire.GrantTypeTokenExchange+" (RFC 8693)")
	case f.Get("subject_token") == "":
		return "", badRequest(oauthwire.InvalidRequest, "subject_token is missing")
	case f.Get("subject_token_type") != oauthwire.TokenTypeJWT && f.Get("subject_token_type") != oauthwire.TokenTypeIDToken:
		return "", badRequest(oauthwire.InvalidRequest, "subject_token_type must be "+oauthwire.TokenTypeJWT+" or "+oauthwire.TokenTypeIDToken)
	case f.Get("requested_token_type") != "" && f.Get("requested_token_type") != oauthwire.TokenTypeAccessToken:
		return "", badRequest(oauthwire.InvalidRequest, "requested_token_type must be "+oauthwire.TokenTypeAccessToken)
	case f.Has("actor_token"):
		return "", badRequest(oauthwire.InvalidRequest, "actor_token (delegation) is not supported")
	}
	// The RFC 8693 audience names the control plane the token is for: the
	// broker itself (its origin or URL), or the audience GitHub tokens
	// are issued for.
	for _, a := range append(f["audience"], f["resource"]...) {
		if a = strings.TrimSuffix(a, "/"); a != s.origin && a != s.url && a != s.cfg.Audience {
			return "", badRequest(oauthwire.InvalidTarget, fmt.Sprintf("this broker issues tokens for itself (%s) only, not %s; point control-plane-url at the broker", s.url, safetext.Quote(s.redactor.redact(a), 200)))
		}
	}
	return f.Get("subject_token"), nil
}

// exchange verifies the request's subject token, applies the rate limit,
// the policy and the replay cache, and issues an access token.
func (s *Server) exchange(r *http.Request) (subject, exchangeResult, *refused) {
	var res exchangeResult
	raw, e := s.readRequest(r)
	if e != nil {
		return subject{}, res, e
	}
	ctx := r.Context()
	sub, oe := s.verifier.verify(ctx, raw)
	if oe != nil {
		e := &refused{Error: oe}
		if len(sub.Claims) > 0 {
			e.answerOnly = " (unverified claims: " + describeClaims(sub.Claims) + ")"
		}
		return sub, res, e
	}
	key := sub.Claims["repository_id"]
	if key == "" {
		key = sub.Claims["repository"]
	}
	ok, wait, err := s.state.Allow(ctx, key, s.now())
	if err != nil {
		s.metrics.storeErrors.Inc("allow")
		s.audit.failure(ctx, "shared state: the rate limit could not be checked; refused", err)
		return sub, res, unavailable("the rate limiter's store is unavailable")
	}
	if !ok {
		secs := int(wait/time.Second) + 1
		return sub, res, &refused{Error: &oauthwire.Error{Status: http.StatusTooManyRequests, Code: oauthwire.InvalidRequest,
			Description: fmt.Sprintf("too many exchanges for repository %s; retry in %d s", safetext.Quote(sub.Claims["repository"], 100), secs)},
			header: http.Header{"Retry-After": {strconv.Itoa(secs)}}}
	}
	d := s.Policy().Evaluate(sub.Claims)
	d.Notes = append(sub.Notes, d.Notes...)
	if d.Rule == nil {
		return sub, res, policyRefusal(d, sub.Claims)
	}
	res.rule = d.Rule.Name
	// Only a grant is recorded: a denied token stays denied, and a
	// failure past this point leaves nothing half-done.
	fresh, err := s.state.Reserve(ctx, sub.Issuer()+" "+sub.JTI, sub.Expiry.Add(Leeway))
	if err != nil {
		s.metrics.storeErrors.Inc("reserve")
		s.audit.failure(ctx, "shared state: the replay cache could not be checked; refused", err)
		return sub, res, unavailable("the replay cache's store is unavailable")
	}
	if !fresh {
		return sub, res, badRequest(oauthwire.InvalidGrant, fmt.Sprintf("subject_token jti %s was already exchanged; request a fresh GitHub token for each exchange", safetext.Quote(sub.JTI, 80)))
	}
	now := s.now()
	// The claims it carries are for the audit log: cut, so that a token
	// always stays within what the gateway reads (maxAccessToken).
	g := &Grant{
		Audience: s.url, Rule: d.Rule.Name,
		Repository: safetext.Truncate(sub.Claims["repository"], 200), RepositoryID: safetext.Truncate(sub.Claims["repository_id"], 40),
		RunID: safetext.Truncate(sub.Claims["run_id"], 40), RunAttempt: safetext.Truncate(sub.Claims["run_attempt"], 20),
		IssuedAt: now.Unix(), Expiry: now.Add(d.Rule.TTL).Unix(),
	}
	tok, err := s.tokens.issue(g)
	if err != nil {
		return sub, res, unavailable("no access token could be issued")
	}
	// Not registered by value: the redactor removes every takb_ token by
	// its shape (safetext), and a registry of every live token would make
	// each redaction — every audit line, every relayed reply, under the
	// registry's lock — cost one scan per token (hundreds of tokens, a
	// second per MiB of reply).
	res.grant, res.token, res.scope = g, tok, d.Rule.Permissions.String()
	return sub, res, nil
}

// Issuer returns the token's iss.
func (s subject) Issuer() string { return s.Claims["iss"] }

func unavailable(why string) *refused {
	return &refused{Error: &oauthwire.Error{Status: http.StatusServiceUnavailable, Code: oauthwire.TemporarilyUnavailable,
		Description: why + "; nothing was granted, retry shortly"}}
}

// PolicyRefusal explains a denial, the same for the server and for broker
// check: events of forks and outsiders get unauthorized_client, a plain
// miss invalid_grant, both with each rule's reason, the notes on the
// claims and the token's claims.
func PolicyRefusal(d Decision, c Claims) *oauthwire.Error {
	e := policyRefusal(d, c)
	e.Description += e.answerOnly
	return e.Error
}

// policyRefusal is PolicyRefusal with the token's claims apart, for the
// answer only: the audit line records them once, as its claims.
func policyRefusal(d Decision, c Claims) *refused {
	var why []string
	for _, m := range d.Misses {
		why = append(why, m.Rule+": "+m.Reason)
	}
	code, head := oauthwire.InvalidGrant, "no trust policy rule matches"
	if d.Untrusted {
		code, head = oauthwire.UnauthorizedClient, "event "+safetext.Quote(c["event_name"], 60)+" can run code or inputs of a fork or an outsider and no rule names it in event_name"
	}
	if len(why) > 5 {
		why = append(why[:5], fmt.Sprintf("%d more", len(why)-5))
	}
	desc := head + " (" + strings.Join(why, "; ") + ")"
	if len(d.Notes) > 0 {
		desc += "; " + strings.Join(d.Notes, "; ")
	}
	return &refused{Error: &oauthwire.Error{Status: http.StatusBadRequest, Code: code, Description: desc},
		answerOnly: "; token claims: " + describeClaims(c)}
}
