package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Claims holds the non-secret claims of a GitHub OIDC token, the ones a
// trust policy matches on: iss, sub, aud, repository, repository_id, ref,
// environment, job_workflow_ref, runner_environment. Values are strings,
// except aud, which may be a list.
type Claims map[string]any

// claimNames lists the claims kept in Claims, in display order. An array,
// so no caller can change it.
var claimNames = [...]string{"iss", "sub", "aud", "repository", "repository_id", "ref",
	"environment", "job_workflow_ref", "runner_environment"}

// String formats the claims as "k=v" pairs in claimNames order.
func (c Claims) String() string {
	var parts []string
	for _, k := range claimNames {
		if v, ok := c[k]; ok {
			parts = append(parts, k+"="+claimValue(v))
		}
	}
	return strings.Join(parts, " ")
}

func claimValue(v any) string {
	switch t := v.(type) {
	case string:
		return safetext.Compact(t, 200)
	case []any:
		var s []string
		for _, e := range t {
			s = append(s, claimValue(e))
		}
		return strings.Join(s, ",")
	default:
		return safetext.Compact(fmt.Sprint(t), 200)
	}
}

// Error is what every auth failure returns: what failed, a message that
// says what to do, and the GitHub token's claims when known. Neither the
// message nor the wrapped error ever contains a token.
type Error struct {
	// Op is the step that failed, e.g. "github-oidc: token exchange".
	Op string
	// Fix says what the user should change.
	Fix string
	// Claims are the non-secret GitHub token claims, when one was fetched.
	Claims Claims
	// Err is the cause; it never contains a token.
	Err error
}

// Error renders Op and the cause on the first line, then the fix and the
// claims on their own lines.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Fix != "" {
		b.WriteString("\nfix: ")
		b.WriteString(e.Fix)
	}
	if len(e.Claims) > 0 {
		b.WriteString("\nGitHub token claims (non-secret): ")
		b.WriteString(e.Claims.String())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// OAuthError is an RFC 6749 §5.2 error response from a token endpoint (or
// Google's {"error":{code,message,status}} shape). Its Description is
// server-supplied text, with control characters escaped, shortened, and
// scrubbed of known secrets (newOAuthError).
type OAuthError = oauthwire.Error

// errorFields picks the code and description from an OAuth or Google API
// error body (httpx.ParseErrorBody); ok is false when body is neither.
func errorFields(body []byte) (code, desc string, ok bool) {
	b, _ := httpx.ParseErrorBody(body)
	switch {
	case b.Error != "":
		return b.Error, b.Description, true
	case b.Status != "" || b.Message != "":
		return b.Status, b.Message, true
	}
	return "", "", false
}

// newOAuthError builds an OAuthError from a non-2xx body, sanitized.
func (rt *state) newOAuthError(status int, body []byte) *OAuthError {
	e := &OAuthError{Status: status}
	if code, desc, ok := errorFields(body); ok {
		e.Code = safetext.Compact(rt.scrub(code), 64)
		e.Description = safetext.Compact(rt.scrub(desc), 300)
	}
	return e
}

// netError describes a transport failure without the request URL's query
// (which may carry an audience, never a secret, but is noise) and marks
// timeouts.
func netError(rawURL string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()):
		return fmt.Errorf("timed out waiting for %s: %w", httpx.Redact(rawURL), context.DeadlineExceeded)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("request to %s canceled: %w", httpx.Redact(rawURL), context.Canceled)
	}
	return fmt.Errorf("request to %s failed: %w", httpx.Redact(rawURL), err)
}

// scrubbed is an error whose text has been cleaned of secrets. It unwraps
// only to context errors, never to the original (which might hold a token).
type scrubbed struct {
	msg   string
	cause error
}

func (s *scrubbed) Error() string { return s.msg }
func (s *scrubbed) Unwrap() error { return s.cause }

func (rt *state) scrubErr(err error) error {
	if err == nil {
		return nil
	}
	var cause error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		cause = context.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		cause = context.Canceled
	}
	return &scrubbed{msg: safetext.Compact(rt.scrub(err.Error()), 500), cause: cause}
}

// fail builds the *Error for a failure after a GitHub token may have been
// fetched, attaching the claims and scrubbing the cause.
func (rt *state) fail(op, fix string, err error) *Error {
	return &Error{Op: op, Fix: fix, Claims: rt.lastClaims(), Err: rt.scrubErr(err)}
}

// exchangeFix maps an RFC 6749/8693 error code to what the user should do.
func exchangeFix(code, audience, ghAudience, tokenURL string) string {
	switch code {
	case oauthwire.InvalidTarget:
		if ghAudience != audience {
			// The user chose the GitHub token's aud: that, not the
			// origin takos-apply derived, is what to check first.
			return fmt.Sprintf("the control plane refused the audience: the GitHub token was requested with aud %q "+
				"(--audience / TAKOS_AUDIENCE) and the exchange asked for %q (the control plane's origin); pass the "+
				"audience its trust policy expects, or drop --audience to use the origin", ghAudience, audience)
		}
		return fmt.Sprintf("the control plane does not accept the audience %q; pass the control plane URL it "+
			"expects (the RFC 8693 audience is the control plane's origin)", audience)
	case oauthwire.InvalidRequest, oauthwire.InvalidGrant, oauthwire.AccessDenied:
		return fmt.Sprintf("the control plane rejected the GitHub token: its trust policy does not match the "+
			"token's claims (below). Compare iss, sub and aud with the policy; the token was requested with "+
			"aud %q (--audience / TAKOS_AUDIENCE)", ghAudience)
	case oauthwire.InvalidClient, oauthwire.UnauthorizedClient:
		return "the token endpoint does not authorize this client or workflow run for token exchange; check that " +
			"GitHub OIDC federation is enabled for this repository (a takos-apply broker refuses runs of events that " +
			"carry code or inputs of a fork or an outsider — pull_request, pull_request_target, issue_comment, " +
			"workflow_run and others — unless a policy rule names the event)"
	case oauthwire.UnsupportedGrantType:
		return fmt.Sprintf("%s does not support RFC 8693 token exchange; check --token-url / TAKOS_TOKEN_URL, "+
			"or use TAKOS_TOKEN", httpx.Redact(tokenURL))
	case oauthwire.InvalidScope:
		return "the control plane refused the requested scope"
	case oauthwire.ServerError, oauthwire.TemporarilyUnavailable:
		return "the control plane failed; re-run the job later"
	}
	return "the control plane refused the token exchange; see the error above"
}
