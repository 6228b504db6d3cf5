package devserver

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// FaultKind says how an injected fault changes a reply.
type FaultKind int

const (
	// None is no fault (used in RequestRecord).
	None FaultKind = iota
	// StatusBeforeAct answers Status without acting.
	StatusBeforeAct
	// StatusAfterAct acts, then answers Status instead of the real reply.
	StatusAfterAct
	// ResetBeforeAct reads the request and drops the connection without
	// acting.
	ResetBeforeAct
	// ResetAfterAct acts, then drops the connection: a create is
	// committed but its reply (and secret) is lost.
	ResetAfterAct
	// Delay sleeps for Fault.Delay (or until the client goes away), then
	// handles the request normally.
	Delay
	// MalformedJSON acts, then sends the real 2xx status with a truncated
	// JSON body.
	MalformedJSON
	// Redirect answers 302 to another origin without acting.
	Redirect
)

var faultNames = [...]string{"None", "StatusBeforeAct", "StatusAfterAct", "ResetBeforeAct", "ResetAfterAct", "Delay", "MalformedJSON", "Redirect"}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is a queued misbehaviour. It matches a request whose method equals
// Method (empty: any) and whose path starts with Path (empty: any). Faults
// are consumed in the order injected; each applies Times times (0 means
// once). Delay, when set, is slept before any kind.
type Fault struct {
	Method     string
	Path       string
	Kind       FaultKind
	Status     int    // StatusBeforeAct, StatusAfterAct; default 500
	RetryAfter string // Retry-After header for status faults
	Location   string // Redirect target; default https://elsewhere.example + path
	Delay      time.Duration
	Times      int
	// AfterAct, when set, runs after the server acted on the request and
	// before it replies: the moment a concurrent writer can slip in.
	AfterAct func()
	// BeforeAct, when set, runs before the server acts on the request (after
	// Delay): a test holds the request there until another one has run.
	BeforeAct func()
}

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
}

func (s *Server) takeFault(method, path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && strings.HasPrefix(path, f.Path) {
			s.faults[i].Times--
			if s.faults[i].Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f, true
		}
	}
	return Fault{}, false
}

func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("devserver: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func faultReply(f Fault) reply {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	code := map[int]string{
		400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
		429: "RATE_LIMITED", 500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT",
	}[status]
	if code == "" {
		code = "INTERNAL_ERROR"
	}
	msg := http.StatusText(status)
	if status == http.StatusTooManyRequests {
		msg = "Rate limit exceeded"
	}
	rep := envelopeReply(status, code, msg)
	if f.RetryAfter != "" {
		rep.header = http.Header{"Retry-After": {f.RetryAfter}}
	}
	return rep
}
