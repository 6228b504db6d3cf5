package broker

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// auditClaims are the claims recorded per decision: who ran what, where.
// None is a credential (jti is an identifier, useful to trace a replay).
var auditClaims = []string{
	"iss", "aud", "sub", "jti", "repository", "repository_id", "repository_owner", "repository_owner_id",
	"ref", "ref_type", "sha", "environment", "event_name", "workflow_ref", "job_workflow_ref",
	"run_id", "run_attempt", "actor", "actor_id", "runner_environment",
}

// auditLog writes one JSON object per line and decision (log/slog's JSON
// handler). Every string it records is redacted first and then capped, so
// that a line stays a few KiB whatever a request carried (a refused token
// can carry 64 KiB of claims of its own making): a claim at
// maxAuditClaim bytes, any other value at maxAuditValue, and a cut value
// ends with what was cut ("…[cut 53012 of 53212 bytes]"). Redaction comes
// before the cut: a cut credential would no longer be recognised.
type auditLog struct {
	log *slog.Logger
}

// Caps of one recorded value, in bytes.
const (
	maxAuditClaim = 256
	maxAuditValue = 2048
)

func newAuditLog(w io.Writer, now func() time.Time, r *redactor) *auditLog {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		switch {
		case len(groups) == 0 && a.Key == slog.TimeKey:
			return slog.Time(slog.TimeKey, now().UTC())
		case a.Value.Kind() == slog.KindString:
			limit := maxAuditValue
			if len(groups) > 0 && groups[0] == "claims" {
				limit = maxAuditClaim
			}
			return slog.String(a.Key, capText(r.redact(a.Value.String()), limit))
		}
		return a
	}})
	return &auditLog{log: slog.New(requestIDHandler{h})}
}

// capText cuts s to at most max bytes (at a rune boundary) and says how
// much it cut.
func capText(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…[cut %d of %d bytes]", s[:cut], len(s)-cut, len(s))
}

// redactor removes credentials from text: by value every secret of the
// registry (the broker's own credential, whatever its format, and the
// process's other secrets) and, by shape, any Takos PAT, broker access token or
// JWS (safetext.Secrets), so a server message that echoes one is never
// recorded or answered. It runs before text is cut: a cut credential is no
// longer recognised.
type redactor struct {
	known *safetext.Secrets
}

func (r *redactor) redact(s string) string { return r.known.Redact(s, "[REDACTED]") }

func claimAttrs(c Claims) slog.Attr {
	var attrs []any
	for _, k := range auditClaims {
		if v, ok := c[k]; ok {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	return slog.Group("claims", attrs...)
}

// exchange records one token-exchange decision: a grant with its rule,
// the access token's id (never the token) and expiry, a refusal with its
// code and reason. Claims of a token that failed verification are
// recorded as sent, with claims_verified false: they say what the token
// claimed, not who sent it.
func (a *auditLog) exchange(ctx context.Context, remote string, sub subject, code, reason, rule string, g *Grant) {
	attrs := []any{slog.String("remote", remote)}
	if g != nil {
		attrs = append(attrs, slog.String("decision", "granted"), slog.String("rule", rule),
			slog.String("token_id", g.ID), slog.Time("expires_at", g.Expires().UTC()))
	} else {
		attrs = append(attrs, slog.String("decision", "denied"), slog.String("error", code), slog.String("reason", reason))
		if rule != "" {
			attrs = append(attrs, slog.String("rule", rule))
		}
	}
	if sub.Claims != nil {
		attrs = append(attrs, slog.Bool("claims_verified", sub.Verified), claimAttrs(sub.Claims))
	}
	a.log.InfoContext(ctx, "token exchange", attrs...)
}

// request records one gateway request: who (the grant: rule, repository,
// run, token id), what (method and route, the path with its ids) and the
// outcome (forwarded with the control plane's status, or refused with the
// broker's status and reason). Never a token or a body.
func (a *auditLog) request(ctx context.Context, remote string, g *Grant, method, route, path string, status int, reason string, took time.Duration) {
	attrs := []any{slog.String("remote", remote), slog.String("method", method), slog.String("route", route), slog.String("path", path),
		slog.Int("status", status)}
	if reason == "" {
		attrs = append(attrs, slog.String("decision", "forwarded"), slog.Int64("upstream_ms", took.Milliseconds()))
	} else {
		attrs = append(attrs, slog.String("decision", "refused"), slog.String("reason", reason))
	}
	if g != nil {
		attrs = append(attrs, slog.String("rule", g.Rule), slog.String("token_id", g.ID), slog.String("repository", g.Repository),
			slog.String("repository_id", g.RepositoryID), slog.String("run_id", g.RunID), slog.String("run_attempt", g.RunAttempt))
	}
	a.log.InfoContext(ctx, "gateway request", attrs...)
}

func (a *auditLog) event(msg string, attrs ...any) { a.log.Info(msg, attrs...) }

func (a *auditLog) failure(ctx context.Context, msg string, err error) {
	a.log.ErrorContext(ctx, msg, slog.String("error", err.Error()))
}

// describeClaims renders the non-secret claims a policy matches on, for an
// error_description: each value quoted and cut at 100 characters, so the
// answer stays short whatever a token carried.
func describeClaims(c Claims) string {
	var parts []string
	for _, k := range slices.Concat([]string{"iss", "aud"}, MatchClaims[:]) {
		if v, ok := c[k]; ok && v != "" {
			parts = append(parts, k+"="+safetext.Quote(v, 100))
		}
	}
	return strings.Join(parts, " ")
}
