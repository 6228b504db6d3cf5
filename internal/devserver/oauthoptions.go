package devserver

import (
	"fmt"
	"io"
	"time"
)

// Options of the OAuth authorization server (the others are in options.go).

// WithLoginUser sets the account the browser is signed in as at
// /oauth/authorize (default DefaultUser). Its ID is the sub of the tokens
// it approves.
func WithLoginUser(u User) Option {
	return func(s *Server) {
		s.oa.login = &u
		s.oa.users[u.ID] = u
	}
}

// WithoutLoginSession makes /oauth/authorize treat the browser as signed
// out, as the real server does without a session cookie: a valid request
// is redirected to /auth/login?return_to=…, and the consent form's POST is
// 401 "Not authenticated".
func WithoutLoginSession() Option { return func(s *Server) { s.oa.login = nil } }

// WithAutoApprove makes /oauth/authorize approve at once, as if the user
// had pressed Allow on the consent page (takos-apply dev --auto-approve).
func WithAutoApprove() Option { return func(s *Server) { s.oa.autoApprove = true } }

// WithAccessTokenTTL sets the access tokens' lifetime (Takos: one hour),
// so that an app meets expiry and refresh in seconds.
func WithAccessTokenTTL(d time.Duration) Option {
	return func(s *Server) {
		if d > 0 {
			s.oa.accessTTL = d
		}
	}
}

// WithoutDevHints makes every error description the real server's text,
// byte for byte: without it, a token request with a JSON body gets
// DocsJSONHint appended.
func WithoutDevHints() Option { return func(s *Server) { s.oa.docsHint = false } }

// WithAdminToken sets the bearer the /_dev/ admin endpoints accept
// (default: the server's own token, Token).
func WithAdminToken(tok string) Option { return func(s *Server) { s.adminToken = tok } }

// WithLog makes the server write one line per request to w ("METHOD PATH
// STATUS", never a query, header or body) and the failures it cannot
// answer with, such as a state file it could not write.
func WithLog(w io.Writer) Option { return func(s *Server) { s.log = w } }

func (s *Server) logf(format string, args ...any) {
	if s.log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	fmt.Fprintf(s.log, "takos-apply dev: "+format+"\n", args...)
}
