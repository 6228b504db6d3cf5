package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthmeta"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// maxOIDCResponse caps GitHub's {"value": jwt} response, as
// go-githubactions does.
const maxOIDCResponse = 64 << 10

// githubSource fetches GitHub Actions OIDC tokens.
type githubSource struct {
	rt           *state
	requestURL   string
	requestToken string
}

// fetch gets a fresh JWT for audience, masks it at once, and records its
// non-secret claims. GitHub's tokens live about five minutes, so callers
// fetch one per exchange instead of caching it.
func (g *githubSource) fetch(ctx context.Context, audience string) (string, error) {
	const op = "github-oidc: requesting the GitHub OIDC token"
	u, err := httpx.CheckURL(g.requestURL)
	if err != nil {
		return "", &Error{Op: op, Err: err, Fix: "ACTIONS_ID_TOKEN_REQUEST_URL is set by the runner; do not override it"}
	}
	q := u.Query()
	q.Set("audience", audience)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", &Error{Op: op, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+g.requestToken)
	req.Header.Set("Accept", "application/json")
	resp, err := g.rt.http.Do(req)
	if err != nil {
		return "", g.rt.fail(op, "GitHub's OIDC endpoint could not be reached; re-run the job", netError(u.String(), err))
	}
	body, err := httpx.ReadBody(resp, maxOIDCResponse)
	if err != nil {
		return "", g.rt.fail(op, "GitHub's OIDC endpoint sent an unusable response; re-run the job", err)
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return "", &Error{Op: op, Err: fmt.Errorf("GitHub refused ACTIONS_ID_TOKEN_REQUEST_TOKEN (HTTP %d)", resp.StatusCode),
			Fix: "the request token is valid only inside the job the runner issued it to; do not copy " +
				"ACTIONS_ID_TOKEN_REQUEST_* between jobs, and check the job's permissions include id-token: write"}
	case resp.StatusCode != http.StatusOK:
		return "", &Error{Op: op, Err: fmt.Errorf("GitHub's OIDC endpoint answered HTTP %d after retries", resp.StatusCode),
			Fix: "this is usually a transient GitHub failure; re-run the job"}
	}
	var v struct {
		Value string `json:"value"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Value == "" {
		// The body may be the token itself in an unexpected shape: mask it.
		g.rt.secret(string(bytes.TrimSpace(body)))
		return "", &Error{Op: op, Err: errors.New("GitHub's OIDC endpoint returned no token (no \"value\" in the JSON response)"),
			Fix: "this is usually a transient GitHub failure; re-run the job"}
	}
	g.rt.secret(v.Value)
	claims, exp, err := decodeClaims(v.Value)
	if err != nil {
		return "", &Error{Op: op, Err: err, Fix: "GitHub returned a token that is not a JWT; re-run the job"}
	}
	g.rt.setClaims(claims, exp)
	return v.Value, nil
}

// decodeClaims reads the payload of a JWT without verifying it (the
// control plane does that) and keeps only the non-secret claims a trust
// policy matches on, plus exp for expiry hints.
func decodeClaims(jwt string) (Claims, time.Time, error) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return nil, time.Time{}, errors.New("token is not a JWT (expected three dot-separated parts)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, time.Time{}, errors.New("JWT payload is not base64url")
	}
	var all map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&all); err != nil {
		return nil, time.Time{}, errors.New("JWT payload is not a JSON object")
	}
	c := Claims{}
	for _, k := range claimNames {
		v, ok := all[k]
		if !ok {
			continue
		}
		switch t := v.(type) {
		case string:
			c[k] = t
		case []any:
			var list []any
			for _, e := range t {
				if s, ok := e.(string); ok {
					list = append(list, s)
				}
			}
			c[k] = list
		case json.Number:
			c[k] = t.String()
		}
	}
	var exp time.Time
	if n, ok := all["exp"].(json.Number); ok {
		if s, err := n.Int64(); err == nil {
			exp = time.Unix(s, 0)
		}
	}
	return c, exp, nil
}

// githubOIDC builds the github-oidc mode.
func (r *resolver) githubOIDC(reason string) (*Resolved, error) {
	const op = "github-oidc"
	reqURL, reqTok := r.getenv(envOIDCRequestURL), r.getenv(envOIDCRequestToken)
	if reqURL == "" || reqTok == "" {
		var missing []string
		if reqURL == "" {
			missing = append(missing, envOIDCRequestURL)
		}
		if reqTok == "" {
			missing = append(missing, envOIDCRequestToken)
		}
		fix := permissionFix
		if !r.inActions() {
			fix = "GitHub OIDC works only inside a GitHub Actions job (GITHUB_ACTIONS is not \"true\"); " +
				"locally use --auth token with TAKOS_TOKEN or takos login.\n" + permissionFix
		}
		return nil, &Error{Op: op, Err: fmt.Errorf("%s not set", strings.Join(missing, " and ")), Fix: fix}
	}
	r.rt.secret(reqTok)
	if r.cfg.ControlPlaneURL == "" {
		return nil, &Error{Op: op, Err: errors.New("no control plane URL"),
			Fix: "github-oidc needs the control plane URL: it is the token's default audience and where the token endpoint is discovered"}
	}
	cp, err := httpx.CheckURL(r.cfg.ControlPlaneURL)
	if err != nil {
		return nil, &Error{Op: op, Err: fmt.Errorf("control plane URL: %w", err), Fix: "use the https:// URL of the control plane"}
	}
	origin := httpx.Origin(cp)
	subjectType, err := subjectTokenType(r.cfg.SubjectTokenType)
	if err != nil {
		return nil, &Error{Op: op, Err: err, Fix: "use --subject-token-type jwt or id_token"}
	}
	meta := r.cfg.Metadata
	if r.cfg.TokenURL != "" {
		if _, err := httpx.CheckURL(r.cfg.TokenURL); err != nil {
			return nil, &Error{Op: op, Err: fmt.Errorf("token URL: %w", err), Fix: "use the https:// URL of the RFC 8693 token endpoint"}
		}
	} else if meta == nil || meta.Base() != origin {
		meta = oauthmeta.NewCache(r.rt.http, origin)
	}
	ghAud := r.cfg.Audience
	if ghAud == "" {
		ghAud = origin
	}
	src := &exchangeSource{
		rt:          r.rt,
		gh:          &githubSource{rt: r.rt, requestURL: reqURL, requestToken: reqTok},
		ghAudience:  ghAud,
		origin:      origin,
		tokenURL:    r.cfg.TokenURL,
		subjectType: subjectType,
		meta:        meta,
	}
	return &Resolved{
		Mode:   ModeGitHubOIDC,
		Reason: reason,
		Source: oauth2.ReuseTokenSourceWithExpiry(nil, src, r.rt.refreshBefore),
	}, nil
}

func subjectTokenType(s string) (string, error) {
	switch s {
	case "", "jwt", oauthwire.TokenTypeJWT:
		return oauthwire.TokenTypeJWT, nil
	case "id_token", oauthwire.TokenTypeIDToken:
		return oauthwire.TokenTypeIDToken, nil
	}
	return "", fmt.Errorf("unknown subject token type %q", s)
}
