// Package auth turns whatever credential the environment offers into one
// oauth2.TokenSource for the Takos control plane. Everything downstream
// receives that TokenSource and knows nothing about where tokens come from.
//
// Modes (Config.Mode, else TAKOS_AUTH, else auto):
//
//   - token: TAKOS_TOKEN (a Takos PAT tak_pat_… or any bearer), else
//     ~/.takos/config.json ({token, apiUrl}), refused when group- or
//     world-readable.
//   - github-oidc: a fresh GitHub Actions OIDC JWT for every exchange,
//     traded for a control-plane access token by RFC 8693 token exchange.
//   - google: Google workload identity federation from an external_account
//     credentials file, optionally minting a Google-signed ID token through
//     IAM Credentials generateIdToken for a control plane behind Cloud Run
//     or IAP.
//   - auto: TAKOS_TOKEN → github-oidc when ACTIONS_ID_TOKEN_REQUEST_URL is
//     set → google when GOOGLE_APPLICATION_CREDENTIALS is an
//     external_account file → ~/.takos/config.json → an error listing the
//     four ways.
//
// An explicit mode never falls through to another credential. Every token
// (the PAT, the GitHub JWT, access and ID tokens) is registered in
// Config.Secrets (and passed to Config.Mask) the moment it exists and never
// appears in errors or reports.
//
// The access token is a bearer for the control plane only: the CLI must
// wrap the control-plane client's transport with Transport (httpx.SameOrigin
// around oauth2.Transport), so a redirect or a URL built from server input
// can never carry it to another origin.
package auth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthmeta"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Mode selects where the control-plane credential comes from.
type Mode string

// The modes accepted by --auth and TAKOS_AUTH.
const (
	ModeAuto       Mode = "auto"
	ModeToken      Mode = "token"
	ModeGitHubOIDC Mode = "github-oidc"
	ModeGoogle     Mode = "google"
)

// Credentials the environment provides, read through Config.Getenv.
const (
	envToken            = "TAKOS_TOKEN"
	envOIDCRequestURL   = "ACTIONS_ID_TOKEN_REQUEST_URL"
	envOIDCRequestToken = "ACTIONS_ID_TOKEN_REQUEST_TOKEN"
)

// Config is everything Resolve needs. The caller (the CLI) fills the fields
// from its flags and their environment defaults (TAKOS_AUTH, TAKOS_AUDIENCE,
// TAKOS_TOKEN_URL, GOOGLE_APPLICATION_CREDENTIALS): auth reads no default
// from the environment itself, so a flag and its variable cannot disagree.
type Config struct {
	// Mode is the requested mode; "" means auto.
	Mode Mode
	// ControlPlaneURL is the control plane (e.g. https://takos.jp). Its
	// origin is the default GitHub token audience, the RFC 8693 audience and
	// the base of RFC 8414 discovery. Required for github-oidc.
	ControlPlaneURL string
	// Audience is the aud requested on the GitHub token ("" = the control
	// plane's origin).
	Audience string
	// TokenURL is the RFC 8693 token endpoint ("" = token_endpoint from the
	// control plane's /.well-known/oauth-authorization-server, fetched on
	// first use).
	TokenURL string
	// Metadata is the control plane's RFC 8414 document, shared with the
	// control-plane client so that a run fetches it once; nil (or a cache
	// for another origin) means github-oidc fetches its own. A TokenURL
	// with no path is an issuer (a takos-apply broker) whose own metadata
	// names the token endpoint.
	Metadata *oauthmeta.Cache
	// SubjectTokenType is "jwt" (default) or "id_token", or the full URN.
	SubjectTokenType string
	// GoogleCredentials is the external_account file ("" = none).
	GoogleCredentials string
	// GoogleIDTokenAudience, when set in google mode, makes the bearer a
	// Google-signed ID token with this audience (Cloud Run, IAP) minted by
	// IAM Credentials generateIdToken for the file's service account.
	GoogleIDTokenAudience string
	// GoogleIAMCredentialsURL overrides the IAM Credentials base URL
	// (default: the origin of the file's service_account_impersonation_url,
	// normally https://iamcredentials.googleapis.com).
	GoogleIAMCredentialsURL string

	// GitHubActions says the process runs in a GitHub Actions job, for the
	// fixes that errors suggest.
	GitHubActions bool
	// Getenv reads the credentials the environment provides: TAKOS_TOKEN
	// and the runner's ACTIONS_ID_TOKEN_REQUEST_URL/_TOKEN. nil means an
	// empty environment.
	Getenv func(string) string
	// HomeDir locates ~/.takos/config.json; "" disables that source.
	HomeDir string
	// ReadFile and Stat read local files; nil means the os functions.
	ReadFile func(string) ([]byte, error)
	Stat     func(string) (fs.FileInfo, error)
	// HTTP is the client for every auth request; nil means
	// httpx.NewClient(httpx.Options{RetryPOST: true}). Token endpoints are
	// safe to retry, so a caller-supplied client should set RetryPOST.
	HTTP *http.Client
	// Secrets is the run's secret registry: every secret (PAT, GitHub
	// request token and JWT, access and ID tokens) is registered there the
	// moment it exists, before it can reach any output (in Actions the
	// registry masks it), and errors are redacted with it. Nil: a registry
	// of auth's own.
	Secrets *safetext.Secrets
	// Mask, when not nil, is also called once with every new secret.
	Mask func(secret string)
	// Now is the clock for token expiry; nil means time.Now.
	Now func() time.Time
	// RefreshBefore is how long before expiry a cached token is replaced
	// (default 1 minute).
	RefreshBefore time.Duration
}

// Resolved is the outcome of Resolve.
type Resolved struct {
	// Mode is the mode in use (never auto).
	Mode Mode
	// Reason says why this mode was chosen, for auth debug and logs.
	Reason string
	// Source yields the control-plane bearer; it is safe for concurrent use
	// and caches tokens until shortly before they expire. It performs its
	// requests with the context given to Resolve.
	Source oauth2.TokenSource
	// APIURL is the apiUrl of ~/.takos/config.json when that file supplied
	// the token, else "".
	APIURL string

	rt *state
}

// Claims returns the non-secret claims of the most recent GitHub token, or
// nil when none was fetched.
func (r *Resolved) Claims() Claims {
	if r == nil || r.rt == nil {
		return nil
	}
	return r.rt.lastClaims()
}

// state is the state shared by one Resolved's sources.
type state struct {
	ctx           context.Context
	http          *http.Client
	now           func() time.Time
	mask          func(string)
	refreshBefore time.Duration

	secrets *safetext.Secrets // Config.Secrets; nil: own
	own     safetext.Secrets

	mu     sync.Mutex
	claims Claims
	exp    time.Time // exp of the last GitHub token, for expiry hints
}

// registry is the run's secret registry.
func (rt *state) registry() *safetext.Secrets {
	if rt.secrets != nil {
		return rt.secrets
	}
	return &rt.own
}

// secret registers v as a secret (scrubbed from every message; masked by
// the registry in Actions) and passes it to Config.Mask.
func (rt *state) secret(v string) {
	v = strings.TrimSpace(v)
	if rt.registry().Add(v) && rt.mask != nil {
		rt.mask(v)
	}
}

// scrub removes every known secret from s (longest first, see
// safetext.Secrets).
func (rt *state) scrub(s string) string { return rt.registry().Redact(s, "[REDACTED]") }

func (rt *state) setClaims(c Claims, exp time.Time) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.claims = c
	rt.exp = exp
}

func (rt *state) lastClaims() Claims {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.claims == nil {
		return nil
	}
	out := make(Claims, len(rt.claims))
	for k, v := range rt.claims {
		out[k] = v
	}
	return out
}

// expiredHint explains an expired GitHub token, or returns "".
func (rt *state) expiredHint() string {
	rt.mu.Lock()
	exp := rt.exp
	rt.mu.Unlock()
	if exp.IsZero() || rt.now().Before(exp) {
		return ""
	}
	return fmt.Sprintf(" The GitHub token expired at %s (now %s): check the runner's clock.",
		exp.UTC().Format(time.RFC3339), rt.now().UTC().Format(time.RFC3339))
}

type resolver struct {
	cfg    Config
	getenv func(string) string
	rt     *state
}

// Resolve picks the mode and builds its TokenSource. It performs no network
// request: tokens, discovery and exchanges happen on the first Token call,
// with ctx (which must outlive the Source's use). Every failure is an *Error.
func Resolve(ctx context.Context, cfg Config) (*Resolved, error) {
	r := newResolver(ctx, cfg)
	mode, err := r.mode()
	if err != nil {
		return nil, err
	}
	var res *Resolved
	switch mode {
	case ModeToken:
		res, err = r.token("selected by --auth token / TAKOS_AUTH", true)
	case ModeGitHubOIDC:
		res, err = r.githubOIDC("selected by --auth github-oidc / TAKOS_AUTH")
	case ModeGoogle:
		res, err = r.google("selected by --auth google / TAKOS_AUTH", nil)
	default:
		res, err = r.auto()
	}
	if err != nil {
		return nil, err
	}
	res.rt = r.rt
	return res, nil
}

func newResolver(ctx context.Context, cfg Config) *resolver {
	getenv := cfg.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if cfg.ReadFile == nil {
		cfg.ReadFile = os.ReadFile
	}
	if cfg.Stat == nil {
		cfg.Stat = os.Stat
	}
	if cfg.HTTP == nil {
		cfg.HTTP = httpx.NewClient(httpx.Options{RetryPOST: true})
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = time.Minute
	}
	// Values from environment variables often carry a stray newline.
	cfg.Mode = Mode(strings.TrimSpace(string(cfg.Mode)))
	cfg.Audience = strings.TrimSpace(cfg.Audience)
	cfg.TokenURL = strings.TrimSpace(cfg.TokenURL)
	cfg.GoogleCredentials = strings.TrimSpace(cfg.GoogleCredentials)
	return &resolver{cfg: cfg, getenv: getenv, rt: &state{
		ctx: ctx, http: cfg.HTTP, now: cfg.Now, mask: cfg.Mask, refreshBefore: cfg.RefreshBefore,
		secrets: cfg.Secrets,
	}}
}

// requested returns the requested mode, not validated: Config.Mode
// trimmed, else auto.
func (r *resolver) requested() Mode {
	m := r.cfg.Mode
	if m == "" {
		m = ModeAuto
	}
	return m
}

// mode returns the requested mode, validated.
func (r *resolver) mode() (Mode, error) {
	m := r.requested()
	switch m {
	case ModeAuto, ModeToken, ModeGitHubOIDC, ModeGoogle:
		return m, nil
	}
	return "", &Error{Op: "auth", Err: fmt.Errorf("unknown mode %q", string(m)),
		Fix: "use --auth (or TAKOS_AUTH) auto, token, github-oidc or google"}
}

func (r *resolver) auto() (*Resolved, error) {
	if r.getenv(envToken) != "" {
		return r.token("auto: TAKOS_TOKEN is set", false)
	}
	if r.getenv(envOIDCRequestURL) != "" {
		return r.githubOIDC("auto: ACTIONS_ID_TOKEN_REQUEST_URL is set (GitHub Actions job with id-token: write)")
	}
	var notes []string
	if p := r.cfg.GoogleCredentials; p != "" {
		creds, err := r.readCredentials(p)
		switch {
		case err != nil:
			notes = append(notes, fmt.Sprintf("%s: %v", p, err))
		case creds.file.Type == "external_account":
			// The file is read once: google uses what was read here.
			return r.google("auto: "+p+" is an external_account credentials file", creds)
		default:
			notes = append(notes, fmt.Sprintf("%s has type %q, not external_account", p, creds.file.Type))
		}
	}
	if path := r.configPath(); path != "" {
		if _, err := r.cfg.Stat(path); err == nil {
			return r.token("auto: "+path+" exists (takos login)", false)
		} else if !errors.Is(err, fs.ErrNotExist) {
			notes = append(notes, fmt.Sprintf("%s: %v", path, err))
		}
	}
	fix := fourWays
	if r.inActions() {
		fix += "\n" + permissionFix
	}
	if len(notes) > 0 {
		fix += "\nSkipped: " + strings.Join(notes, "; ")
	}
	return nil, &Error{Op: "auth", Err: errors.New("no credentials found"), Fix: fix}
}

func (r *resolver) inActions() bool { return r.cfg.GitHubActions }

const fourWays = `takos-apply can authenticate in four ways:
  1. TAKOS_TOKEN: a Takos personal access token (tak_pat_…), e.g. from a repository secret
  2. GitHub OIDC: in GitHub Actions, grant "permissions: { id-token: write, contents: read }"
     so the runner sets ACTIONS_ID_TOKEN_REQUEST_URL (--auth github-oidc)
  3. Google workload identity federation: GOOGLE_APPLICATION_CREDENTIALS or --google-credentials
     naming an external_account credentials file (--auth google)
  4. ~/.takos/config.json written by "takos login" (mode 0600)`

const permissionFix = `The job needs permission to request a GitHub OIDC token; add at workflow or job level
(steps cannot set it):
  permissions:
    id-token: write
    contents: read
Pull requests from forks and Dependabot runs never receive id-token: write: run takos-apply on
push, workflow_dispatch or a deployment environment instead. A reusable workflow called from
another organization needs the caller to grant id-token: write.`

// Transport returns a RoundTripper that authenticates requests to origin
// with tokens from ts and refuses, before fetching a token or sending
// anything, every request to another origin (including redirect hops when
// the client follows redirects, since the client sends every hop through
// its transport). The CLI wraps the control-plane client's transport with
// it: the control-plane bearer must reach nobody else.
func Transport(ts oauth2.TokenSource, base http.RoundTripper, origin string) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	o := strings.ToLower(strings.TrimSuffix(origin, "/"))
	if u, err := url.Parse(origin); err == nil && u.Scheme != "" && u.Host != "" {
		o = httpx.Origin(u)
	}
	// One origin check, outside oauth2.Transport: it refuses a request
	// before a token is fetched or attached.
	return httpx.SameOrigin(&oauth2.Transport{Source: ts, Base: base}, o)
}
