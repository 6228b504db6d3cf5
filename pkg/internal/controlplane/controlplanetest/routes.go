package controlplanetest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"
)

// reply is a response computed by act.
type reply struct {
	status int
	header http.Header
	body   []byte
}

const maxRequestBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	idx := s.logStart(r)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return
	}
	f, faulted := s.takeFault(r.Method, r.URL.Path)
	kind := None
	if faulted {
		kind = f.Kind
		// Recorded now, so a request that ends without a reply (a Reset,
		// or a Delay the client gave up on) still shows its fault.
		s.logEnd(idx, 0, kind)
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
	}
	var rep reply
	switch kind {
	case StatusBeforeAct:
		rep = faultReply(f)
	case Redirect:
		loc := f.Location
		if loc == "" {
			loc = "https://elsewhere.example" + r.URL.RequestURI()
		}
		rep = reply{status: http.StatusFound, header: http.Header{"Location": {loc}}}
	case ResetBeforeAct:
		hangUp(w)
		return
	default:
		if faulted && f.BeforeAct != nil {
			f.BeforeAct()
		}
		rep = s.act(r, body)
		if faulted && f.AfterAct != nil {
			f.AfterAct()
		}
	}
	switch kind {
	case StatusAfterAct:
		rep = faultReply(f)
	case ResetAfterAct:
		hangUp(w)
		return
	case MalformedJSON:
		if rep.status >= 200 && rep.status < 300 && len(rep.body) > 1 {
			rep.body = rep.body[:len(rep.body)/2]
		}
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
	s.logEnd(idx, rep.status, kind)
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return reply{status: status, body: b}
}

// envelopeReply is the /api error shape (takos-common AppError.toResponse).
func envelopeReply(status int, code, msg string) reply {
	return jsonReply(status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func badRequest(msg string) reply { return envelopeReply(http.StatusBadRequest, "BAD_REQUEST", msg) }

func notFound(resource string) reply {
	return envelopeReply(http.StatusNotFound, "NOT_FOUND", resource+" not found")
}

// act performs the request against the store and returns the real reply.
func (s *Server) act(r *http.Request, body []byte) reply {
	p := r.URL.Path
	switch {
	case p == "/.well-known/oauth-authorization-server" || p == "/.well-known/openid-configuration":
		if r.Method != http.MethodGet || s.noDiscovery {
			return notFound("Route")
		}
		return s.discovery(p)
	case p == "/api" || strings.HasPrefix(p, "/api/"):
	default:
		return notFound("Route")
	}
	owner, rep, ok := s.authenticate(r)
	if !ok {
		return rep
	}
	if len(body) > maxRequestBody {
		return envelopeReply(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Payload too large")
	}
	const clients = "/api/me/oauth/clients"
	switch {
	case p == clients && r.Method == http.MethodGet:
		return s.list(owner)
	case p == clients && r.Method == http.MethodPost:
		return s.create(owner, body)
	case strings.HasPrefix(p, clients+"/") && !strings.Contains(p[len(clients)+1:], "/") && p != clients+"/":
		id := p[len(clients)+1:]
		switch r.Method {
		case http.MethodPatch:
			return s.update(owner, id, body)
		case http.MethodDelete:
			return s.revoke(owner, id)
		}
	}
	return notFound("Route")
}
