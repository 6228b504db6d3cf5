package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

const (
	cloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform"
	defaultGoogleSTS   = "https://sts.googleapis.com/v1/token"
	maxCredentialsFile = 64 << 10
)

// googleFile is the part of an external_account credentials file that
// takos-apply checks before handing it to golang.org/x/oauth2/google, which
// itself validates none of its URLs.
type googleFile struct {
	Type             string                 `json:"type"`
	Audience         string                 `json:"audience"`
	TokenURL         string                 `json:"token_url"`
	TokenInfoURL     string                 `json:"token_info_url"`
	ImpersonationURL string                 `json:"service_account_impersonation_url"`
	CredentialSource googleCredentialSource `json:"credential_source"`
}

// googleCredentialSource is where the file says the subject token comes
// from.
type googleCredentialSource struct {
	File          string            `json:"file"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers"`
	Executable    json.RawMessage   `json:"executable"`
	EnvironmentID string            `json:"environment_id"`
	Format        struct {
		Type      string `json:"type"`
		FieldName string `json:"subject_token_field_name"`
	} `json:"format"`
}

// googleCreds is a Google credentials file as read: the raw bytes for the
// google package and the fields takos-apply checks.
type googleCreds struct {
	data []byte
	file *googleFile
}

// readCredentials reads and parses the credentials file at path.
func (r *resolver) readCredentials(path string) (*googleCreds, error) {
	if info, err := r.cfg.Stat(path); err == nil && info.Size() > maxCredentialsFile {
		return nil, fmt.Errorf("larger than %d bytes", maxCredentialsFile)
	}
	data, err := r.cfg.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f googleFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, errors.New("not a JSON credentials file")
	}
	return &googleCreds{data: data, file: &f}, nil
}

// google builds the google mode from the file Config.GoogleCredentials
// names. creds is that file when the caller has already read it (auto
// mode), else nil.
func (r *resolver) google(reason string, creds *googleCreds) (*Resolved, error) {
	const op = "google"
	creds, tokenURL, err := r.googleCredentials(creds)
	if err != nil {
		return nil, err
	}
	f := creds.file
	r.protectGoogleSubject(f.CredentialSource)
	src := r.googleSource(f, tokenURL)
	credJSON := creds.data
	if src.idAudience != "" {
		if credJSON, err = r.googleIDToken(src, creds); err != nil {
			return nil, err
		}
	}
	ctx := context.WithValue(r.rt.ctx, oauth2.HTTPClient, src.client)
	gcreds, err := google.CredentialsFromJSONWithType(ctx, credJSON, google.ExternalAccount, cloudPlatformScope)
	if err != nil {
		return nil, &Error{Op: op, Err: r.rt.scrubErr(err), Fix: "regenerate the credentials file"}
	}
	res := &Resolved{Mode: ModeGoogle, Reason: reason, Source: src}
	if src.idAudience == "" {
		// The access token is the google package's own, and
		// gcreds.TokenSource already caches it (an oauth2.ReuseTokenSource
		// with oauth2's default 10 s margin). A second cache over it would
		// ask for a fresh token inside RefreshBefore only to be handed the
		// cached one again. Given a ReuseTokenSource,
		// ReuseTokenSourceWithExpiry sets that cache's margin instead of
		// wrapping it, so the one cache refreshes RefreshBefore ahead of
		// expiry (TestGoogleRefreshBefore fails should that ever change).
		src.base = oauth2.ReuseTokenSourceWithExpiry(nil, gcreds.TokenSource, r.rt.refreshBefore)
	} else {
		// The ID token is minted here, outside the google package's cache:
		// cache it. The federated token under it keeps the package's
		// default margin; it is spent at once on generateIdToken.
		src.base = gcreds.TokenSource
		res.Source = oauth2.ReuseTokenSourceWithExpiry(nil, src, r.rt.refreshBefore)
	}
	return res, nil
}

// googleCredentials reads the credentials file (unless auto already did)
// and checks it is an external_account file this mode supports, with URLs
// that httpx accepts. It returns the STS token URL to use.
func (r *resolver) googleCredentials(creds *googleCreds) (*googleCreds, string, error) {
	const op = "google"
	path := r.cfg.GoogleCredentials
	if path == "" {
		return nil, "", &Error{Op: op, Err: errors.New("no credentials file"),
			Fix: "set GOOGLE_APPLICATION_CREDENTIALS or --google-credentials to an external_account file " +
				"(google-github-actions/auth writes one; so does gcloud iam workload-identity-pools create-cred-config)"}
	}
	if creds == nil {
		var err error
		if creds, err = r.readCredentials(path); err != nil {
			return nil, "", &Error{Op: op, Err: fmt.Errorf("reading %s: %w", path, err)}
		}
	}
	f := creds.file
	if f.Type != "external_account" {
		return nil, "", &Error{Op: op, Err: fmt.Errorf("%s has type %q, not external_account", path, safetext.Compact(f.Type, 60)),
			Fix: "google mode uses workload identity federation only; long-lived service account keys are not accepted"}
	}
	cs := f.CredentialSource
	if len(cs.Executable) > 0 || cs.EnvironmentID != "" {
		return nil, "", &Error{Op: op, Err: fmt.Errorf("%s uses an executable or AWS credential source", path),
			Fix: "use a credentials file whose credential_source is a url (GitHub OIDC) or a file"}
	}
	tokenURL := f.TokenURL
	if tokenURL == "" {
		tokenURL = defaultGoogleSTS
	}
	for _, u := range []struct{ name, v string }{
		{"token_url", tokenURL}, {"service_account_impersonation_url", f.ImpersonationURL},
		{"token_info_url", f.TokenInfoURL}, {"credential_source.url", cs.URL},
	} {
		if u.v == "" {
			continue
		}
		if _, err := httpx.CheckURL(u.v); err != nil {
			return nil, "", &Error{Op: op, Err: fmt.Errorf("%s in %s: %w", u.name, path, err), Fix: "regenerate the credentials file"}
		}
	}
	return creds, tokenURL, nil
}

// protectGoogleSubject records the secrets of the credential source before
// any request: its headers carry ACTIONS_ID_TOKEN_REQUEST_TOKEN (whoever has
// it can mint GitHub tokens for the rest of the job), and a subject file
// holds a token.
func (r *resolver) protectGoogleSubject(cs googleCredentialSource) {
	for _, v := range cs.Headers {
		r.rt.secret(v)
		if _, tok, ok := strings.Cut(v, " "); ok {
			r.rt.secret(tok)
		}
	}
	if cs.File != "" {
		r.maskSubjectFile(cs.File, cs.Format.Type, cs.Format.FieldName)
	}
}

// googleSource builds the Source and the observed HTTP client that every
// Google request goes through.
func (r *resolver) googleSource(f *googleFile, tokenURL string) *googleSource {
	cs := f.CredentialSource
	obs := &googleObserver{
		rt:          r.rt,
		base:        r.cfg.HTTP.Transport,
		subjectURL:  cs.URL,
		subjectJSON: cs.Format.Type == "json",
		field:       cs.Format.FieldName,
		stsURL:      tokenURL,
		impURL:      f.ImpersonationURL,
	}
	if obs.base == nil {
		obs.base = http.DefaultTransport
	}
	// No CheckRedirect: obs turns every 3xx into an error, so the client
	// never sees a redirect to follow.
	client := &http.Client{Transport: obs, Timeout: r.cfg.HTTP.Timeout}
	return &googleSource{rt: r.rt, obs: obs, client: client, audience: f.Audience, idAudience: r.cfg.GoogleIDTokenAudience}
}

// googleIDToken prepares src to mint Google ID tokens for the file's
// service account, and returns the credentials JSON to build the federated
// token from.
func (r *resolver) googleIDToken(src *googleSource, creds *googleCreds) ([]byte, error) {
	const op = "google"
	f := creds.file
	if f.ImpersonationURL == "" {
		return nil, &Error{Op: op, Err: errors.New("--google-id-token-audience needs a service account"),
			Fix: "Google ID tokens can only be minted for a service account: create the credentials with a service " +
				"account (google-github-actions/auth service_account input, or create-cred-config --service-account)"}
	}
	sa, base, err := parseImpersonationURL(f.ImpersonationURL)
	if err != nil {
		return nil, &Error{Op: op, Err: err, Fix: "regenerate the credentials file"}
	}
	if r.cfg.GoogleIAMCredentialsURL != "" {
		u, err := httpx.CheckURL(r.cfg.GoogleIAMCredentialsURL)
		if err != nil {
			return nil, &Error{Op: op, Err: fmt.Errorf("IAM Credentials URL: %w", err)}
		}
		base = httpx.Origin(u) + strings.TrimSuffix(u.Path, "/")
	}
	src.serviceAccount, src.iamBase = sa, base
	// generateIdToken is called with the federated token itself, so the
	// file is used without impersonation (as google.golang.org/api/idtoken
	// does), to avoid impersonating twice.
	credJSON, err := withoutImpersonation(creds.data)
	if err != nil {
		return nil, &Error{Op: op, Err: err}
	}
	return credJSON, nil
}

// maskSubjectFile masks a file-sourced subject token and records its
// claims; failures are left to the google package to report.
func (r *resolver) maskSubjectFile(path, format, field string) {
	b, err := r.cfg.ReadFile(path)
	if err != nil {
		return
	}
	tok := strings.TrimSpace(string(b))
	if format == "json" {
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			tok, _ = m[field].(string)
		}
	}
	r.rt.secret(tok)
	if c, exp, err := decodeClaims(tok); err == nil {
		r.rt.setClaims(c, exp)
	}
}

func parseImpersonationURL(raw string) (sa, base string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", errors.New("service_account_impersonation_url is not a URL")
	}
	_, rest, ok := strings.Cut(u.Path, "/serviceAccounts/")
	name, _, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || name == "" {
		return "", "", errors.New("service_account_impersonation_url does not name a service account")
	}
	return name, httpx.Origin(u), nil
}

func withoutImpersonation(data []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, errors.New("credentials file is not a JSON object")
	}
	delete(m, "service_account_impersonation_url")
	delete(m, "service_account_impersonation")
	return json.Marshal(m)
}

// googleSource wraps the google package's token source: it maps failures
// to fixes and optionally mints an ID token. Tokens need no masking here:
// obs masked each one in the response that carried it.
type googleSource struct {
	rt       *state
	obs      *googleObserver
	client   *http.Client
	base     oauth2.TokenSource
	audience string // workload identity provider (//iam.googleapis.com/...)

	idAudience     string
	serviceAccount string
	iamBase        string

	// mu serialises Token so that the failure obs records belongs to the
	// call that reads it. The access-token Source is this googleSource
	// itself, with no outer cache to serialise callers.
	mu sync.Mutex
}

// Token implements oauth2.TokenSource.
func (g *googleSource) Token() (*oauth2.Token, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.obs.reset()
	t, err := g.base.Token()
	if err != nil {
		return nil, g.mapError(err)
	}
	if g.idAudience == "" {
		out := &oauth2.Token{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry}
		return out.WithExtra(map[string]any{"issued_token_type": oauthwire.TokenTypeAccessToken, "scope": cloudPlatformScope}), nil
	}
	return g.idToken(g.rt.ctx, t)
}

// idToken calls IAM Credentials generateIdToken with the federated token.
func (g *googleSource) idToken(ctx context.Context, fed *oauth2.Token) (*oauth2.Token, error) {
	const op = "google: generateIdToken"
	endpoint := g.iamBase + "/v1/projects/-/serviceAccounts/" + url.PathEscape(g.serviceAccount) + ":generateIdToken"
	body, _ := json.Marshal(map[string]any{"audience": g.idAudience, "includeEmail": true})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, g.rt.fail(op, "", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fed.AccessToken)
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, g.mapError(err)
	}
	b, err := httpx.ReadBody(resp, maxTokenResponse)
	if err != nil {
		return nil, g.rt.fail(op, "IAM Credentials sent an unusable response; re-run the job", err)
	}
	var r struct {
		Token string `json:"token"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, g.mapError(fmt.Errorf("status %d", resp.StatusCode))
	}
	if err := json.Unmarshal(b, &r); err != nil || r.Token == "" {
		return nil, g.rt.fail(op, "IAM Credentials did not return an ID token; re-run the job", errors.New("no token in the generateIdToken response"))
	}
	expiry := g.rt.now().Add(time.Hour) // Google's libraries assume 1 h
	if _, exp, err := decodeClaims(r.Token); err == nil && !exp.IsZero() {
		expiry = exp
	}
	out := &oauth2.Token{AccessToken: r.Token, TokenType: "Bearer", Expiry: expiry}
	return out.WithExtra(map[string]any{"issued_token_type": oauthwire.TokenTypeIDToken}), nil
}

// mapError turns a failure of the Google flow into an *Error, using what
// the observer saw on the wire (the google package's errors are strings).
func (g *googleSource) mapError(err error) error {
	f := g.obs.failure()
	if f == nil {
		return g.rt.fail("google", "check the credentials file", err)
	}
	if f.err != nil {
		return g.rt.fail("google: "+f.stage, "could not reach "+httpx.Redact(f.url)+" after retries; re-run the job", f.err)
	}
	cause := fmt.Errorf("%s: %w", httpx.Redact(f.url), f.oauth)
	if f.oauth.Status >= 500 || f.oauth.Status == http.StatusTooManyRequests {
		return g.rt.fail("google: "+f.stage, "Google failed after retries; re-run the job later", cause)
	}
	return g.rt.fail("google: "+f.stage, g.fix(f), cause)
}

func (g *googleSource) fix(f *stageFailure) string {
	principal := "the workload identity pool's principalSet"
	if pool, _, ok := strings.Cut(strings.TrimPrefix(g.audience, "//iam.googleapis.com/"), "/providers/"); ok {
		principal = "principalSet://iam.googleapis.com/" + pool + "/attribute.repository/OWNER/REPO"
		if repo, _ := g.rt.lastClaims()["repository"].(string); repo != "" {
			principal = "principalSet://iam.googleapis.com/" + pool + "/attribute.repository/" + safetext.Compact(repo, 100)
		}
	}
	switch f.stage {
	case stageGitHub:
		return "the runner refused the OIDC request (credential_source.url); the credentials file works only " +
			"inside the job that wrote it, with permissions: { id-token: write, contents: read }"
	case stageSTS:
		switch f.oauth.Code {
		case "invalid_grant":
			return "Google STS rejected the GitHub token: its aud must be the workload identity provider's " +
				"allowed audience (google-github-actions/auth requests https://iam.googleapis.com/<provider> by " +
				"default) and it must be unexpired; compare with the claims below." + g.rt.expiredHint()
		case "unauthorized_client", "access_denied":
			return "the workload identity provider's attribute condition rejected the GitHub token; compare it " +
				"with the claims below (prefer repository_id and repository_owner_id over names)"
		case "invalid_request", "invalid_target":
			return "the credentials file's audience " + safetext.Compact(g.audience, 200) + " does not name an active " +
				"workload identity provider; regenerate the file"
		}
		return "Google STS refused the exchange; regenerate the credentials file and check the provider"
	case stageImpersonation:
		if f.oauth.Status == http.StatusNotFound {
			return "the service account in service_account_impersonation_url does not exist"
		}
		return "the federated identity may not impersonate the service account: grant " + principal +
			" roles/iam.workloadIdentityUser on it"
	case stageIDToken:
		// The name was decoded from the file's URL path: it may hold a
		// line break that would forge a line of output.
		sa := safetext.Compact(g.serviceAccount, 200)
		if f.oauth.Status == http.StatusNotFound {
			return "service account " + sa + " does not exist"
		}
		return "the federated identity may not mint ID tokens for " + sa + ": grant " + principal +
			" roles/iam.workloadIdentityUser (or roles/iam.serviceAccountOpenIdTokenCreator) on it"
	}
	return "check the credentials file"
}

// Stages of the Google flow, named in errors.
const (
	stageGitHub        = "fetching the GitHub token (credential_source.url)"
	stageSTS           = "Google STS token exchange"
	stageImpersonation = "service account impersonation"
	stageIDToken       = "generateIdToken"
	stageOther         = "request"
)

type stageFailure struct {
	stage string
	url   string
	oauth *OAuthError
	err   error
}

// googleObserver is the transport under the google package: it masks every
// token in a successful response before the package sees it, records the
// GitHub claims, refuses redirects (the package's impersonation client
// would follow them) and remembers the last failure for mapError.
type googleObserver struct {
	rt          *state
	base        http.RoundTripper
	subjectURL  string
	subjectJSON bool
	field       string
	stsURL      string
	impURL      string

	mu   sync.Mutex
	last *stageFailure
}

func (o *googleObserver) reset() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = nil
}

func (o *googleObserver) failure() *stageFailure {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

func (o *googleObserver) record(f *stageFailure) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.last = f
}

func sameEndpoint(a *url.URL, b string) bool {
	u, err := url.Parse(b)
	return err == nil && b != "" && strings.EqualFold(a.Scheme, u.Scheme) && strings.EqualFold(a.Host, u.Host) && a.Path == u.Path
}

func (o *googleObserver) stage(u *url.URL) string {
	switch {
	case sameEndpoint(u, o.subjectURL):
		return stageGitHub
	case sameEndpoint(u, o.stsURL):
		return stageSTS
	case sameEndpoint(u, o.impURL):
		return stageImpersonation
	case strings.HasSuffix(u.Path, ":generateIdToken"):
		return stageIDToken
	}
	return stageOther
}

// RoundTrip implements http.RoundTripper.
func (o *googleObserver) RoundTrip(req *http.Request) (*http.Response, error) {
	stage := o.stage(req.URL)
	rawURL := req.URL.String()
	resp, err := o.base.RoundTrip(req)
	if err != nil {
		err = netError(rawURL, err)
		o.record(&stageFailure{stage: stage, url: rawURL, err: err})
		return nil, err
	}
	body, err := httpx.ReadBody(resp, maxTokenResponse)
	if err != nil {
		o.record(&stageFailure{stage: stage, url: rawURL, err: err})
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		err := fmt.Errorf("%s answered HTTP %d; redirects are not followed with credentials", httpx.Redact(rawURL), resp.StatusCode)
		o.record(&stageFailure{stage: stage, url: rawURL, err: err})
		return nil, err
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		o.record(&stageFailure{stage: stage, url: rawURL, oauth: o.rt.newOAuthError(resp.StatusCode, body)})
		return resp, nil
	}
	if stage == stageGitHub && !o.subjectJSON {
		tok := strings.TrimSpace(string(body))
		o.rt.secret(tok)
		o.claimsFrom(tok)
		return resp, nil
	}
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return resp, nil
	}
	for _, k := range []string{"access_token", "accessToken", "token", "id_token", "refresh_token", "value", o.field} {
		if s, ok := m[k].(string); ok && k != "" {
			o.rt.secret(s)
		}
	}
	if stage == stageGitHub {
		if s, ok := m[o.field].(string); ok {
			o.claimsFrom(s)
		}
	}
	return resp, nil
}

func (o *googleObserver) claimsFrom(tok string) {
	if c, exp, err := decodeClaims(tok); err == nil {
		o.rt.setClaims(c, exp)
	}
}
