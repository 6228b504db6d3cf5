package authtest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// Redacted replaces every secret value in a logged request.
const Redacted = "[REDACTED]"

// secretParams are form and query parameters whose values are credentials.
var secretParams = map[string]bool{
	"subject_token": true, "actor_token": true, "client_secret": true,
	"assertion": true, "refresh_token": true, "code": true, "password": true,
}

// Request is one request a fake received, with every credential replaced by
// Redacted, so tests can print logs and assert on them freely.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Form holds the parsed form of a form-encoded POST.
	Form url.Values
	// Authorization is the scheme of the Authorization header followed by
	// Redacted, or "" when the header was absent.
	Authorization string
	// Status is the HTTP status the fake answered with (0 if the client
	// gave up first).
	Status int
}

// Log records requests; it is safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	reqs []Request
}

// Requests returns a copy of the recorded requests in arrival order.
func (l *Log) Requests() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.reqs...)
}

// Count returns how many requests were made to path.
func (l *Log) Count(path string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.reqs {
		if r.Path == path {
			n++
		}
	}
	return n
}

func (l *Log) add(r Request) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
	return len(l.reqs) - 1
}

func (l *Log) setStatus(i, status int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs[i].Status = status
}

func redactValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		for _, s := range vs {
			if secretParams[k] {
				s = Redacted
			}
			out.Add(k, s)
		}
	}
	return out
}

func redactAuthorization(h string) string {
	if h == "" {
		return ""
	}
	scheme, _, _ := strings.Cut(h, " ")
	return scheme + " " + Redacted
}

// statusRecorder captures the status a handler wrote, for the log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Fault is a scripted misbehaviour a fake applies to its next responses.
type Fault struct {
	// Status, when non-zero, is answered instead of the real response.
	Status int
	// RetryAfter, when set, is sent as the Retry-After header.
	RetryAfter string
	// Body is the body sent with Status (default: an RFC 6749 server_error
	// JSON object for 5xx, invalid_request otherwise).
	Body string
	// Location, when set, is sent as the Location header (with a 3xx
	// Status, a redirect to it).
	Location string
	// Delay is waited before answering (or until the client gives up);
	// with no Status the normal response follows, late.
	Delay time.Duration
	// Malformed answers 200 with a body that is not JSON.
	Malformed bool
}

// Common faults.
var (
	Fault500       = Fault{Status: http.StatusInternalServerError}
	Fault429       = Fault{Status: http.StatusTooManyRequests, RetryAfter: "1"}
	FaultMalformed = Fault{Malformed: true}
)

// Fault503 answers 503 with the given Retry-After value.
func Fault503(retryAfter string) Fault {
	return Fault{Status: http.StatusServiceUnavailable, RetryAfter: retryAfter}
}

// FaultSlow delays the response by d.
func FaultSlow(d time.Duration) Fault { return Fault{Delay: d} }

type faultQueue struct {
	mu sync.Mutex
	q  []Fault
}

func (f *faultQueue) push(n int, fault Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.q = append(f.q, fault)
	}
}

func (f *faultQueue) next() (Fault, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.q) == 0 {
		return Fault{}, false
	}
	fault := f.q[0]
	f.q = f.q[1:]
	return fault, true
}

// apply serves the fault and reports whether the response is complete.
func (f Fault) apply(ctx context.Context, w http.ResponseWriter) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return true
		case <-t.C:
		}
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	if f.Location != "" {
		w.Header().Set("Location", f.Location)
	}
	switch {
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"access_token": "unterminated`))
		return true
	case f.Status != 0:
		body := f.Body
		if body == "" {
			code := oauthwire.InvalidRequest
			if f.Status >= 500 {
				code = oauthwire.ServerError
			} else if f.Status == http.StatusTooManyRequests {
				code = "slow_down" // RFC 8628 §3.5
			}
			body = string((&oauthwire.Error{Code: code, Description: "injected fault"}).Body())
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		_, _ = w.Write([]byte(body))
		return true
	}
	return false
}

// logged wraps a handler so every request is logged (redacted) with the
// status it got, and scripted faults are served first.
func logged(log *Log, faults *faultQueue, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		entry := Request{
			Method:        r.Method,
			Path:          r.URL.Path,
			Query:         redactValues(r.URL.Query()),
			Authorization: redactAuthorization(r.Header.Get("Authorization")),
		}
		ct := r.Header.Get("Content-Type")
		if r.Method == http.MethodPost && strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
			if err := r.ParseForm(); err == nil {
				entry.Form = redactValues(r.PostForm)
			}
		}
		i := log.add(entry)
		rec := &statusRecorder{ResponseWriter: w}
		if faults != nil {
			if f, ok := faults.next(); ok && f.apply(r.Context(), rec) {
				log.setStatus(i, rec.status)
				return
			}
		}
		h(rec, r)
		log.setStatus(i, rec.status)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	(&oauthwire.Error{Status: status, Code: code, Description: desc}).Write(w)
}
