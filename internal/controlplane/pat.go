package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// PATsPath is the personal access token API of the signed-in user. Every
// PAT acts as that user on all of /api/me (Takos ignores PAT scopes).
const PATsPath = "/api/me/personal-access-tokens"

// PAT is a personal access token as the list shows it: never its value.
// Zero ExpiresAt means the PAT never expires; zero LastUsedAt, never used.
type PAT struct {
	ID          string
	Name        string
	TokenPrefix string
	ExpiresAt   time.Time
	LastUsedAt  time.Time
	CreatedAt   time.Time
}

// NewPAT is a PAT just created: the only time its value is known. Every
// fmt verb and slog print the PAT without Token.
type NewPAT struct {
	PAT
	Token string
}

// String implements fmt.Stringer without the token.
func (p NewPAT) String() string {
	return fmt.Sprintf("PAT %s %q (expires %s)", p.ID, p.Name, p.ExpiresAt.UTC().Format(time.RFC3339))
}

// Format implements fmt.Formatter so that no verb prints the token.
func (p NewPAT) Format(f fmt.State, verb rune) {
	fmt.Fprintf(f, fmt.FormatString(f, verb), p.PAT)
}

// LogValue implements slog.LogValuer without the token.
func (p NewPAT) LogValue() slog.Value {
	return slog.GroupValue(slog.String("id", p.ID), slog.String("name", p.Name), slog.Time("expires_at", p.ExpiresAt))
}

type wirePAT struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Token       string          `json:"token"`
	TokenPrefix string          `json:"token_prefix"`
	ExpiresAt   json.RawMessage `json:"expires_at"`
	LastUsedAt  json.RawMessage `json:"last_used_at"`
	CreatedAt   json.RawMessage `json:"created_at"`
}

func (w wirePAT) toPAT() (PAT, error) {
	if w.ID == "" || !validClientID(w.ID) {
		return PAT{}, fmt.Errorf("PAT id %s is missing or not URL-safe", safetext.Quote(w.ID, 64))
	}
	p := PAT{ID: w.ID, Name: w.Name, TokenPrefix: w.TokenPrefix}
	var err error
	if p.ExpiresAt, err = parseTime(w.ExpiresAt); err != nil {
		return PAT{}, fmt.Errorf("PAT %s: expires_at: %w", w.ID, err)
	}
	if p.LastUsedAt, err = parseTime(w.LastUsedAt); err != nil {
		return PAT{}, fmt.Errorf("PAT %s: last_used_at: %w", w.ID, err)
	}
	if p.CreatedAt, err = parseTime(w.CreatedAt); err != nil {
		return PAT{}, fmt.Errorf("PAT %s: created_at: %w", w.ID, err)
	}
	return p, nil
}

// CreatePAT creates a PAT named name that expires at expiresAt with POST
// /api/me/personal-access-tokens. The request field is the camelCase
// "expiresAt": Takos ignores expires_at and would issue a PAT that never
// expires, so the reply's expires_at is checked and a PAT without it (or
// with another expiry) is reported as uncertain for the caller to revoke.
//
// POST is never retried; IsUncertain(err) is true when the PAT may exist
// (see CreateClient), and the caller must list before trying again. The
// token never appears in an error.
func (c *Client) CreatePAT(ctx context.Context, name string, expiresAt time.Time) (*NewPAT, error) {
	const op = "create personal access token"
	body := map[string]any{"name": name, "expiresAt": expiresAt.UTC().Format(time.RFC3339)}
	var w wirePAT
	status, err := c.do(ctx, request{op: op, method: http.MethodPost, path: PATsPath, body: body}, &w)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(w.Token, "tak_pat_") {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "the reply has no tak_pat_ token", Uncertain: true}
	}
	p, err := w.toPAT()
	if err != nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: err.Error(), Uncertain: true}
	}
	if p.ExpiresAt.IsZero() || p.ExpiresAt.Sub(expiresAt).Abs() > time.Second {
		return nil, &MalformedResponseError{Op: op, Status: status, Uncertain: true,
			Reason: fmt.Sprintf("PAT %s was created with expires_at %q, not %s", p.ID, safetext.Compact(string(w.ExpiresAt), 40), expiresAt.UTC().Format(time.RFC3339))}
	}
	return &NewPAT{PAT: p, Token: w.Token}, nil
}

// ListPATs returns the caller's PATs, without their values.
func (c *Client) ListPATs(ctx context.Context) ([]PAT, error) {
	const op = "list personal access tokens"
	var w struct {
		Tokens *[]wirePAT `json:"tokens"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: PATsPath}, &w)
	if err != nil {
		return nil, err
	}
	if w.Tokens == nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: `the "tokens" array is missing`}
	}
	out := make([]PAT, 0, len(*w.Tokens))
	for _, wp := range *w.Tokens {
		p, err := wp.toPAT()
		if err != nil {
			return nil, &MalformedResponseError{Op: op, Status: status, Reason: err.Error()}
		}
		out = append(out, p)
	}
	return out, nil
}

// RevokePAT deletes the PAT with DELETE
// /api/me/personal-access-tokens/{id}. A PAT that is already gone (404) is
// not an error: revoking is idempotent.
func (c *Client) RevokePAT(ctx context.Context, id string) error {
	const op = "revoke personal access token"
	if !validClientID(id) {
		return fmt.Errorf("%s: id %s is not URL-safe", op, safetext.Quote(id, 64))
	}
	var w json.RawMessage
	_, err := c.do(ctx, request{op: op, method: http.MethodDelete, path: PATsPath + "/" + url.PathEscape(id)}, &w)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil
	}
	return err
}
