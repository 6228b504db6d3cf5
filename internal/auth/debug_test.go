package auth

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

func TestDebug(t *testing.T) {
	s := newOIDCSetup(t, authtest.STSOptions{Scope: "apps:write oauth-clients:write"})
	rep, err := Debug(context.Background(), s.cfg)
	if err != nil {
		t.Fatalf("Debug() error = %v", err)
	}
	if rep.Mode != ModeGitHubOIDC || !strings.Contains(rep.Reason, "ACTIONS_ID_TOKEN_REQUEST_URL is set") {
		t.Errorf("Debug() mode, reason = %q, %q; want github-oidc because of ACTIONS_ID_TOKEN_REQUEST_URL", rep.Mode, rep.Reason)
	}
	if rep.TokenType != "Bearer" || rep.IssuedTokenType != oauthwire.TokenTypeAccessToken {
		t.Errorf("Debug() token type, issued = %q, %q; want Bearer, %s", rep.TokenType, rep.IssuedTokenType, oauthwire.TokenTypeAccessToken)
	}
	if strings.Join(rep.Scopes, " ") != "apps:write oauth-clients:write" {
		t.Errorf("Debug().Scopes = %q, want the issued scopes", rep.Scopes)
	}
	if d := time.Until(rep.Expiry); d < 59*time.Minute {
		t.Errorf("Debug().Expiry in %v, want about 1h", d)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	mustContain(t, "WriteText", out,
		"mode:", "github-oidc\n",
		"claim sub:", "repo:octo-org/octo-repo:environment:production\n",
		"claim repository_id:", "123456789\n",
		"claim job_workflow_ref:", "token type:", "Bearer\n",
		"issued token type:", oauthwire.TokenTypeAccessToken, "scopes:", "apps:write oauth-clients:write\n",
		"expires:", rep.Expiry.UTC().Format(time.RFC3339))
	for _, secret := range append(s.gh.Issued(), s.sts.Issued()...) {
		if strings.Contains(out, secret) {
			t.Errorf("WriteText output contains a token")
		}
	}
}

func TestDebugFailure(t *testing.T) {
	s := newOIDCSetup(t, authtest.STSOptions{Subject: "repo:someone/else:ref:refs/heads/main"})
	rep, err := Debug(context.Background(), s.cfg)
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("Debug() error = %v, want *Error", err)
	}
	if rep.Mode != ModeGitHubOIDC || rep.Claims["sub"] != "repo:octo-org/octo-repo:environment:production" {
		t.Errorf("Debug() report = %+v, want mode and claims despite the failure", rep)
	}
	if rep.TokenType != "" || !rep.Expiry.IsZero() {
		t.Errorf("Debug() report claims a token was issued: %+v", rep)
	}
	// Resolution fails without the OIDC variables; the report names the
	// mode Resolve used, trimmed as Resolve trims it.
	for _, v := range []string{"github-oidc", " github-oidc\n"} {
		rep, err = Debug(context.Background(), Config{Mode: Mode(v)})
		if err == nil || rep.Mode != ModeGitHubOIDC {
			t.Errorf("Debug(Mode %q) without OIDC env = (%q, %v), want mode github-oidc and an error", v, rep.Mode, err)
		}
	}
}

func TestDebugTokenMode(t *testing.T) {
	rep, err := Debug(context.Background(), Config{Getenv: env{envToken: "tak_pat_secretvalue0123456789"}.get})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf); err != nil {
		t.Fatal(err)
	}
	mustContain(t, "WriteText", buf.String(), "mode:", "token\n", "reason:", "auto: TAKOS_TOKEN is set", "expires:", "unknown")
	if strings.Contains(buf.String(), "secretvalue") || strings.Contains(buf.String(), "claim") {
		t.Errorf("WriteText = %q, want no token and no claims", buf.String())
	}
}
