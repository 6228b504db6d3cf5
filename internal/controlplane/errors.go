package controlplane

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// ErrNoDiscovery is matched (errors.Is) by the error Discover returns when
// the control plane has no discovery document (404).
var ErrNoDiscovery = errors.New("the control plane publishes no OAuth discovery document")

// maxMessage caps how much of a server message reaches an error string.
const maxMessage = 300

// APIError is a non-2xx reply. Code and Message come from the server's
// {"error":{"code","message"}} envelope or its flat
// {"error","error_description"} form; they are untrusted, so control
// characters are escaped visibly and the length is capped. Fix says what the user
// should do. The reply body itself is never kept.
type APIError struct {
	Op      string
	Method  string
	Status  int
	Code    string
	Message string
	Fix     string
	// ClientID is the id the request was about (PATCH, DELETE).
	ClientID string
	// RetryAfter is the server's Retry-After on a 429, 408 or 5xx reply,
	// zero if none or already past.
	RetryAfter time.Duration
	// Location is the redacted redirect target of a 3xx.
	Location string
	// Uncertain is true when a create may have been committed anyway
	// (5xx, 408).
	Uncertain bool
	notFound  bool
	// noDiscovery marks the discovery 404 (notFound is then true too).
	noDiscovery bool
	// roleRefused marks a write refused for the caller's role in the
	// space (IsRoleRefusal).
	roleRefused bool
	summary     string
}

// Error implements error as "op: summary; fix".
func (e *APIError) Error() string {
	s := e.Op + ": " + e.summary
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

// Is makes a discovery 404 match ErrNoDiscovery.
func (e *APIError) Is(target error) bool {
	return target == ErrNoDiscovery && e.noDiscovery
}

// TransportError is a request that got no HTTP reply: dial failure,
// connection reset, timeout, or a refusal by the transport (plain http,
// cross-origin).
type TransportError struct {
	Op     string
	Method string
	Err    error
	// Uncertain is true for a POST whose request had been written in full
	// before the failure: the server may have acted on it.
	Uncertain bool
}

func (e *TransportError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	var ne net.Error
	if errors.Is(e.Err, context.DeadlineExceeded) || (errors.As(e.Err, &ne) && ne.Timeout()) {
		b.WriteString("; the control plane did not answer in time: retry, or raise --timeout")
	}
	if e.Uncertain {
		b.WriteString("; the client may have been created before the connection failed: list the clients before creating another")
	}
	return b.String()
}

func (e *TransportError) Unwrap() error { return e.Err }

// MalformedResponseError is a 2xx reply whose body cannot be used. Reason
// never quotes the body: a create reply holds the client secret.
type MalformedResponseError struct {
	Op        string
	Status    int
	Reason    string
	Uncertain bool
	err       error
}

func (e *MalformedResponseError) Error() string {
	s := fmt.Sprintf("%s: the control plane answered %d with an unusable body: %s", e.Op, e.Status, e.Reason)
	if e.Uncertain {
		s += "; the client was probably created: list the clients before creating another"
	}
	return s
}

func (e *MalformedResponseError) Unwrap() error { return e.err }

// IsUncertain reports whether err is a failed create after which the client
// may nevertheless exist on the server: the request was written and then
// the connection failed or timed out, the server answered 5xx or 408, or
// it answered 2xx with a body that cannot be used. The caller must not
// create again without listing first.
func IsUncertain(err error) bool {
	var a *APIError
	var t *TransportError
	var m *MalformedResponseError
	switch {
	case errors.As(err, &a):
		return a.Uncertain
	case errors.As(err, &t):
		return t.Uncertain
	case errors.As(err, &m):
		return m.Uncertain
	}
	return false
}

// IsNotFound reports whether err says the addressed thing does not exist:
// a client that is unknown, not the caller's, or revoked (PATCH/DELETE), or
// a missing discovery document.
func IsNotFound(err error) bool {
	var a *APIError
	return errors.As(err, &a) && a.notFound
}

// apiErrorFields picks the code and message from an error reply
// (httpx.ParseErrorBody): the /api envelope {"error": {"code", "message"}},
// or the flat {"error", "error_description"} that the auth middleware also
// uses, sometimes with only "error".
func apiErrorFields(data []byte) (code, msg string) {
	b, _ := httpx.ParseErrorBody(data)
	switch {
	case b.Code != "" || b.Message != "":
		return safetext.Compact(b.Code, 64), safetext.Compact(b.Message, maxMessage)
	case b.Error != "" && b.Description != "":
		return safetext.Compact(b.Error, 64), safetext.Compact(b.Description, maxMessage)
	case b.Error != "":
		// {"error": "OAuth bearer token is not supported ..."}: the
		// "code" is a sentence.
		return "", safetext.Compact(b.Error, maxMessage)
	}
	return "", safetext.Compact(b.TopMessage, maxMessage)
}

// apiError classifies a non-2xx reply; post says the request was a create.
func apiError(r request, resp *http.Response, data []byte, post bool) *APIError {
	e := &APIError{Op: r.op, Method: r.method, Status: resp.StatusCode, ClientID: r.id}
	e.Code, e.Message = apiErrorFields(data)
	detail := statusDetail(resp.StatusCode, e.Code, e.Message)
	id := safetext.Compact(r.id, 64)
	switch s := resp.StatusCode; {
	case s >= 300 && s < 400:
		loc := resp.Header.Get("Location")
		if u, err := resp.Request.URL.Parse(loc); err == nil && loc != "" {
			e.Location = httpx.Redact(u.String())
		} else {
			e.Location = "<no Location>"
		}
		e.summary = fmt.Sprintf("the control plane answered with a redirect (%d) to %s", s, safetext.Compact(e.Location, maxMessage))
		e.Fix = "set --control-plane to the final URL (redirects are never followed, so credentials cannot leak)"
	case s == http.StatusUnauthorized:
		e.summary = "the control plane rejected the credentials (" + detail + ")"
		e.Fix = "check TAKOS_TOKEN or the federation trust policy"
	case s == http.StatusForbidden && r.what != "":
		e.summary = "the control plane refused access to " + r.what + " (" + detail + ")"
		e.Fix = "the token may not use it: a broker rule that limits spaces or capabilities (see the message), or a role the space does not give you"
	case s == http.StatusForbidden:
		e.summary = "the control plane refused access (" + detail + ")"
		e.Fix = "/api/me accepts only a human user's credentials: use a token of the account that should own the client"
	case r.id != "" && (s == http.StatusNotFound || s == http.StatusBadRequest && e.Message == "Client not found"):
		// The server turns "revoked" into 400 inside its update handler.
		e.notFound = true
		e.summary = "client " + id + " not found or revoked (" + detail + ")"
		e.Fix = "remove the pinned client id or create a new client"
	case s == http.StatusNotFound && r.what != "":
		e.notFound = true
		e.summary = r.what + " was not found (" + detail + ")"
	case s == http.StatusNotFound:
		e.summary = "the control plane has no OAuth client API here (" + detail + ")"
		e.Fix = "check --control-plane (TAKOS_API_URL)"
	case s == http.StatusBadRequest && isManifestRejection(e.Message):
		e.summary = "the control plane refused the client: " + nonEmpty(e.Message, detail)
		e.Fix = "run `takos-apply lint` to see which scope or redirect URI is wrong"
	case s == http.StatusBadRequest || s == http.StatusUnprocessableEntity:
		e.summary = "the control plane refused the request (" + detail + ")"
	case s == http.StatusConflict:
		e.summary = "the control plane reported a conflict (" + detail + ")"
		e.Fix = "another apply may be running: wait for it, then re-run"
	case s == http.StatusTooManyRequests:
		e.RetryAfter, _ = httpx.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		if e.RetryAfter > 0 {
			e.summary = fmt.Sprintf("rate limited; retry after %d s", int((e.RetryAfter+time.Second-1)/time.Second))
		} else {
			e.summary = "rate limited; retry later"
		}
	case s == http.StatusRequestTimeout || s >= 500:
		e.RetryAfter, _ = httpx.RetryAfter(resp.Header.Get("Retry-After"), time.Now())
		e.summary = "the control plane failed (" + detail + ")"
		e.Fix = "retry later"
		if post {
			e.Uncertain = true
			e.Fix = "the client may have been created anyway: list the clients before creating another"
		}
	default:
		e.summary = "unexpected reply (" + detail + ")"
	}
	return e
}

func statusDetail(status int, code, msg string) string {
	s := strconv.Itoa(status)
	label := code
	if label == "" {
		label = http.StatusText(status)
	}
	if label != "" {
		s += " " + label
	}
	// Takos's unknown-route reply is {"error": "Not Found"}: a message
	// that only repeats the status text adds nothing.
	if msg != "" && msg != label {
		s += ": " + msg
	}
	return s
}

// isManifestRejection recognises the createClient/updateClient validation
// messages (validation in github.com/tako0614/takos/packages/control/src/application/services/oauth/client.ts), which lint
// reproduces.
func isManifestRejection(msg string) bool {
	for _, p := range []string{"Unknown scopes", "Invalid redirect_uri", "At least one redirect_uri", "client_name is required", "redirect_uris is required"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
