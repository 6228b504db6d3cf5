package cli

import (
	"context"
	"flag"
	"fmt"
	"net/http"

	"github.com/takos-dev/takos-apply/pkg/internal/auth"
	"github.com/takos-dev/takos-apply/pkg/internal/export"
	"github.com/takos-dev/takos-apply/pkg/internal/httpx"
)

// authFlags choose how takos-apply authenticates to the control plane.
type authFlags struct {
	mode              string
	audience          string
	tokenURL          string
	subjectTokenType  string
	googleCredentials string
	googleIDAudience  string
}

func (a *authFlags) register(fs *flag.FlagSet, e *env) {
	fs.StringVar(&a.mode, "auth", envDefault(e.getenv, "TAKOS_AUTH", "auto"),
		"auth mode: auto, token, github-oidc or google (env TAKOS_AUTH)")
	fs.StringVar(&a.audience, "audience", e.getenv("TAKOS_AUDIENCE"),
		"audience of the GitHub OIDC token; default the control plane's origin (env TAKOS_AUDIENCE)")
	fs.StringVar(&a.tokenURL, "token-url", e.getenv("TAKOS_TOKEN_URL"),
		"RFC 8693 token endpoint; default the control plane's discovered token_endpoint (env TAKOS_TOKEN_URL)")
	fs.StringVar(&a.subjectTokenType, "subject-token-type", "jwt", "subject token type of the exchange: jwt or id_token")
	fs.StringVar(&a.googleCredentials, "google-credentials", e.getenv("GOOGLE_APPLICATION_CREDENTIALS"),
		"Google external_account credentials file (env GOOGLE_APPLICATION_CREDENTIALS)")
	fs.StringVar(&a.googleIDAudience, "google-id-token-audience", "",
		"mint a Google-signed ID token for this audience (Cloud Run/IAP) and use it as the bearer")
}

func (a *authFlags) config(e *env, controlPlane string, hc *http.Client, mask func(string)) auth.Config {
	return auth.Config{
		Mode:                  auth.Mode(a.mode),
		ControlPlaneURL:       controlPlane,
		Audience:              a.audience,
		TokenURL:              a.tokenURL,
		SubjectTokenType:      a.subjectTokenType,
		GoogleCredentials:     a.googleCredentials,
		GoogleIDTokenAudience: a.googleIDAudience,
		GitHubActions:         e.actions,
		Getenv:                e.getenv,
		HomeDir:               homeDir(e),
		HTTP:                  hc,
		Mask:                  mask,
	}
}

// runAuth implements "auth debug": which mode was chosen and why, the
// GitHub token's non-secret claims and the issued token's type, scopes and
// expiry. It never prints a token.
func runAuth(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] != "debug" {
		fmt.Fprintln(e.stderr, "Usage: takos-apply auth debug [flags]")
		return ExitUsage
	}
	var c cpFlags
	fs := newFlagSet(e, "auth debug", "auth debug [flags]")
	c.register(fs, e)
	if err := fs.Parse(args[1:]); err != nil {
		return usageExit(err)
	}
	var masker *export.Masker
	if e.actions {
		masker = export.NewMasker(e.stdout)
	}
	mask := func(v string) {
		if masker != nil {
			_ = masker.Mask(v)
		}
	}
	hc := httpx.NewClient(httpx.Options{Timeout: c.timeout, UserAgent: "takos-apply/" + Version(), RetryPOST: true})
	rep, err := auth.Debug(ctx, c.auth.config(e, c.controlPlane, hc, mask))
	if werr := rep.WriteText(e.stdout); werr != nil {
		fmt.Fprintf(e.stderr, "takos-apply auth debug: %v\n", werr)
		return ExitFailure
	}
	if err != nil {
		msg := err.Error()
		if masker != nil {
			msg = masker.Redact(msg)
		}
		fmt.Fprintf(e.stderr, "takos-apply auth debug: %s\n", msg)
		return ExitFailure
	}
	return ExitOK
}
