// Package oauthwire is the OAuth vocabulary takos-apply speaks on the
// wire, written once: the grant and token-type URNs of RFC 8693, the error
// codes of RFC 6749 §5.2, RFC 6750 §3.1 and RFC 8693 §2.2.2, and the one
// error-body type that the client (internal/auth) reads and the broker and
// the fakes write.
package oauthwire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// Grant types.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange" // RFC 8693 §2.1
	GrantTypeDeviceCode    = "urn:ietf:params:oauth:grant-type:device_code"    // RFC 8628 §3.4
)

// Token-type identifiers of RFC 8693 §3.
const (
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
)

// Error codes.
const (
	InvalidRequest         = "invalid_request"         // RFC 6749 §5.2
	InvalidClient          = "invalid_client"          // RFC 6749 §5.2
	InvalidGrant           = "invalid_grant"           // RFC 6749 §5.2
	UnauthorizedClient     = "unauthorized_client"     // RFC 6749 §5.2
	UnsupportedGrantType   = "unsupported_grant_type"  // RFC 6749 §5.2
	InvalidScope           = "invalid_scope"           // RFC 6749 §5.2
	AccessDenied           = "access_denied"           // RFC 6749 §4.1.2.1
	ServerError            = "server_error"            // RFC 6749 §4.1.2.1
	TemporarilyUnavailable = "temporarily_unavailable" // RFC 6749 §4.1.2.1
	InvalidTarget          = "invalid_target"          // RFC 8693 §2.2.2
	InvalidToken           = "invalid_token"           // RFC 6750 §3.1
	InsufficientScope      = "insufficient_scope"      // RFC 6750 §3.1
)

// Error is an OAuth error response (RFC 6749 §5.2): the HTTP status and
// the JSON body's error code and error_description. The client fills it
// from what a server sent; servers write it with Write.
type Error struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// Error renders "HTTP 400 invalid_grant: description".
func (e *Error) Error() string {
	s := fmt.Sprintf("HTTP %d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Body returns the JSON body: {"error": …, "error_description": …} with
// a trailing newline, HTML characters unescaped (a description quoting
// "<" stays readable).
func (e *Error) Body() []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		return []byte(`{"error":"server_error"}` + "\n")
	}
	return b.Bytes()
}

// Write sends e with Content-Type application/json and Cache-Control
// no-store (RFC 6749 §5.1: nothing about a credential is cached). A zero
// Status is sent as 400, the status RFC 6749 §5.2 gives most errors.
func (e *Error) Write(w http.ResponseWriter) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(e.Body())
}
