package cli

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth"
	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/httpx"
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

// check reports an unknown --auth (or TAKOS_AUTH) as a usage error on
// stderr: a bad value is a bad argument, not an authentication failure.
func (a *authFlags) check(e *env, cmd string) bool {
	switch auth.Mode(strings.TrimSpace(a.mode)) {
	case auth.ModeAuto, auth.ModeToken, auth.ModeGitHubOIDC, auth.ModeGoogle:
		return true
	}
	e.errorf(cmd, "unknown --auth (or TAKOS_AUTH) %q; use auto, token, github-oidc or google", a.mode)
	return false
}

func (a *authFlags) config(e *env, controlPlane string, hc *http.Client) auth.Config {
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
		Secrets:               e.secrets,
	}
}

var authCommand = &command{name: "auth", usage: "auth debug [flags]"} // a group: its one subcommand

var authDebugCommand = &command{
	name:    "auth debug",
	usage:   "auth debug [flags]",
	summary: "show how takos-apply authenticates, without printing tokens",
	help:    authDebugHelp,
	signals: signalAbandon,
	setup: func(e *env, fs *flag.FlagSet) action {
		var c cpFlags
		c.register(fs, e, false)
		return action{run: func(ctx context.Context, _ []string) int { return runAuthDebug(ctx, e, c) }}
	},
}

// runAuthDebug implements "auth debug": which mode was chosen and why, the
// GitHub token's non-secret claims and the issued token's type, scopes and
// expiry, then whether the control plane accepts the token (one GET of the
// OAuth client list, the request plan and apply start with). It never
// prints a token.
func runAuthDebug(ctx context.Context, e *env, c cpFlags) int {
	if !c.auth.check(e, "auth debug") {
		return ExitUsage
	}
	if msg := missingControlPlane(e, c.controlPlane, c.auth.mode); msg != "" {
		e.errorf("auth debug", "%s", msg)
		return ExitUsage
	}
	ctx, cancel, expired := c.withRunTimeout(ctx)
	defer cancel()
	fail := func(code int, err error) int {
		msg := err.Error()
		if expired() {
			msg += c.timeoutNote()
		}
		e.errorf("auth debug", "%s", msg)
		return code
	}
	hc := httpx.NewClient(httpx.Options{Timeout: c.attemptTimeout(), UserAgent: "takos-apply/" + Version(), RetryPOST: true})
	rep, res, err := auth.DebugResolve(ctx, c.auth.config(e, c.controlPlane, hc))
	code := ExitOK
	if err == nil {
		code, err = checkToken(ctx, &rep, res, c)
	} else {
		code = ExitFailure
	}
	if werr := rep.WriteText(e.stdout); werr != nil {
		return fail(ExitFailure, werr)
	}
	if err != nil {
		return fail(code, err)
	}
	return ExitOK
}

// checkToken tries res's token on the control plane with one GET of the
// OAuth client list and records the answer in rep. A token that was
// obtained but is refused is not a working credential: exit 3.
func checkToken(ctx context.Context, rep *auth.DebugReport, res *auth.Resolved, c cpFlags) (int, error) {
	base := cmp.Or(c.controlPlane, res.APIURL)
	if base == "" {
		rep.Check = "not checked: no control plane URL"
		return ExitUsage, errors.New("no control plane URL: pass --control-plane URL or set TAKOS_API_URL")
	}
	cp, err := newControlPlane(base, res, c.attemptTimeout())
	if err != nil {
		rep.Check = "not checked: " + err.Error()
		return ExitUsage, err
	}
	where := "GET " + httpx.Redact(strings.TrimRight(base, "/")+controlplane.ClientsPath)
	clients, err := cp.ListClients(ctx)
	var apiErr *controlplane.APIError
	var bad *controlplane.MalformedResponseError
	switch {
	case errors.As(err, &bad) && bad.Status >= 200 && bad.Status < 300:
		// The token was accepted; what the list holds is plan's concern
		// (which refuses it), not the credential's.
		rep.Check = fmt.Sprintf("the token works: %s answered %d (its client list is unusable: plan and apply will refuse it)", where, bad.Status)
		return ExitOK, nil
	case errors.As(err, &apiErr) && (apiErr.Status == http.StatusUnauthorized || apiErr.Status == http.StatusForbidden):
		rep.Check = fmt.Sprintf("the token does not work: %s answered HTTP %d", where, apiErr.Status)
		return ExitFailure, err
	case err != nil:
		rep.Check = "the token could not be checked: " + where + " failed"
		return ExitFailure, err
	}
	rep.Check = fmt.Sprintf("the token works: %s answered with %d OAuth client(s)", where, len(clients))
	return ExitOK, nil
}

// newControlPlane returns a control-plane client for base whose transport
// adds res's bearer only to requests for base's origin (redirects are never
// followed).
func newControlPlane(base string, res *auth.Resolved, timeout time.Duration) (*controlplane.Client, error) {
	u, err := httpx.CheckURL(base)
	if err != nil {
		return nil, fmt.Errorf("--control-plane: %w", err)
	}
	api := httpx.NewClient(httpx.Options{Timeout: timeout, UserAgent: "takos-apply/" + Version()})
	hc := &http.Client{
		Transport:     auth.Transport(res.Source, api.Transport, httpx.Origin(u)),
		CheckRedirect: api.CheckRedirect,
	}
	return controlplane.New(base, hc)
}
