package auth

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// DebugReport is what takos-apply auth debug prints: how the credential
// was obtained, never the credential.
type DebugReport struct {
	// Mode is the mode used (or requested, when resolution failed).
	Mode Mode
	// Reason says why the mode was chosen.
	Reason string
	// Claims are the GitHub token's non-secret claims, when one was fetched.
	Claims Claims
	// TokenType is the HTTP authentication scheme ("Bearer").
	TokenType string
	// IssuedTokenType is the RFC 8693 issued_token_type, when known.
	IssuedTokenType string
	// Scopes are the issued token's scopes, when the issuer said.
	Scopes []string
	// Expiry is when the token expires; zero means unknown or never.
	Expiry time.Time
	// Check is what the control plane said of the token, set by the
	// caller after it tried the token ("" = not checked).
	Check string
}

// Debug resolves cfg and obtains one token, reporting everything but the
// token. The error, when not nil, is an *Error and the report holds what
// was learned before the failure. The CLI exits 0 when err is nil and 3
// otherwise.
func Debug(ctx context.Context, cfg Config) (DebugReport, error) {
	rep, _, err := DebugResolve(ctx, cfg)
	return rep, err
}

// DebugResolve is Debug that also returns the resolution (nil when it
// failed), so that the caller can try the token it obtained against the
// control plane without obtaining another: Source caches it.
func DebugResolve(ctx context.Context, cfg Config) (DebugReport, *Resolved, error) {
	res, err := Resolve(ctx, cfg)
	if err != nil {
		// Resolve's errors never carry claims (it fetches no token), so
		// only the mode is known: the one Resolve read, trimmed.
		return DebugReport{Mode: newResolver(ctx, cfg).requested()}, nil, err
	}
	rep := DebugReport{Mode: res.Mode, Reason: res.Reason}
	tok, err := res.Source.Token()
	rep.Claims = res.Claims()
	if err != nil {
		return rep, nil, err
	}
	rep.TokenType = tok.Type()
	if v, ok := tok.Extra("issued_token_type").(string); ok {
		rep.IssuedTokenType = v
	}
	if v, ok := tok.Extra("scope").(string); ok && v != "" {
		rep.Scopes = strings.Fields(v)
	}
	rep.Expiry = tok.Expiry
	return rep, res, nil
}

// WriteText writes the report as aligned "key: value" lines.
func (r DebugReport) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', 0)
	line := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	line("mode", safetext.Compact(string(r.Mode), 40))
	if r.Reason != "" {
		line("reason", safetext.Compact(r.Reason, 300))
	}
	for _, k := range claimNames {
		if v, ok := r.Claims[k]; ok {
			line("claim "+k, claimValue(v))
		}
	}
	if r.TokenType != "" {
		line("token type", r.TokenType)
	}
	if r.IssuedTokenType != "" {
		line("issued token type", safetext.Compact(r.IssuedTokenType, 100))
	}
	if len(r.Scopes) > 0 {
		line("scopes", safetext.Compact(strings.Join(r.Scopes, " "), 300))
	}
	switch {
	case !r.Expiry.IsZero():
		line("expires", r.Expiry.UTC().Format(time.RFC3339))
	case r.TokenType != "":
		line("expires", "unknown (static or no expires_in)")
	}
	if r.Check != "" {
		line("control plane", safetext.Compact(r.Check, 500))
	}
	return tw.Flush()
}
