package devserver

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
)

// The consent page. The real server renders it from routes/auth/html.ts
// (consentPage, in Japanese): the client's name and logo, the signed-in
// user, the scopes not yet granted with their OAUTH_SCOPES descriptions, and
// a form that POSTs the request back with a CSRF token also set as the
// __Host-csrf cookie. The dev server's page shows the same, plus what the
// manifest's spec.oauth.metadata is for: the client's website, terms of
// service and privacy policy links, and where the browser will be sent.
//
// Every value from a client (name, URIs) goes through html/template, which
// escapes it for its context; URIs are also shown as links or images only
// when they parse as http or https URLs (isValidLogoUrl). A Content
// Security Policy forbids scripts, frames and form targets other than this
// server and the redirect URI's origin, and no Referer leaves the page (the
// logo's host would otherwise see the request's state).

// csrfCookie is the real server's cookie name. Browsers accept a __Host-
// cookie (Secure, Path=/, no Domain) from a loopback http origin: they treat
// it as a secure context.
const csrfCookie = "__Host-csrf"

// csrfCookieRE is how the POST handler finds the cookie:
// c.req.header('Cookie')?.match(/__Host-csrf=([^;]+)/)?.[1].
var csrfCookieRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`__Host-csrf=([^;]+)`) })

type scopeLine struct{ Name, Description string }

type consentData struct {
	ClientName  string
	LogoURI     string // "" unless http(s)
	ClientURI   string
	TOSURI      string
	PolicyURI   string
	RedirectURI string
	UserLabel   string
	Identity    []scopeLine
	Resources   []scopeLine
	Hidden      []param
}

var consentTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("consent").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Authorize {{.ClientName}} - takos (dev)</title>
<style>
body { font-family: system-ui, -apple-system, sans-serif; background: #09090b; color: #fafafa; display: flex; justify-content: center; padding: 32px 16px; margin: 0; }
.card { width: 100%; max-width: 420px; background: #18181b; border: 1px solid #27272a; border-radius: 16px; padding: 32px; }
.logo { width: 48px; height: 48px; border-radius: 12px; display: block; margin: 0 auto 16px; }
h1 { font-size: 20px; text-align: center; margin: 0 0 4px; word-break: break-word; }
.muted { color: #a1a1aa; font-size: 13px; text-align: center; word-break: break-all; }
.scopes { background: #09090b; border-radius: 8px; padding: 12px; margin: 16px 0; }
.scopes h2 { font-size: 12px; color: #71717a; margin: 8px 0 4px; }
.scope { padding: 8px 0; border-bottom: 1px solid #27272a; font-size: 13px; }
.scope code { color: #a1a1aa; }
.links { font-size: 13px; text-align: center; margin: 12px 0; }
.links a { color: #3b82f6; margin: 0 6px; word-break: break-all; }
.buttons { display: flex; gap: 12px; margin-top: 16px; }
button { flex: 1; padding: 12px; border: none; border-radius: 8px; font-size: 14px; cursor: pointer; }
#allow { background: #2563eb; color: #fff; }
#deny { background: #27272a; color: #a1a1aa; }
.dev { margin-top: 20px; font-size: 11px; color: #52525b; text-align: center; }
</style>
</head>
<body>
<main class="card">
{{if .LogoURI}}<img id="client-logo" class="logo" src="{{.LogoURI}}" alt="">{{end}}
<h1 id="client-name">{{.ClientName}}</h1>
<p class="muted">Signed in as <span id="user">{{.UserLabel}}</span></p>
<p class="muted"><strong>{{.ClientName}}</strong> is requesting access to your Takos account.</p>
<div class="scopes">
{{if .Identity}}<h2>Account information</h2>{{range .Identity}}<div class="scope"><code>{{.Name}}</code> {{.Description}}</div>{{end}}{{end}}
{{if .Resources}}<h2>Permissions</h2>{{range .Resources}}<div class="scope"><code>{{.Name}}</code> {{.Description}}</div>{{end}}{{end}}
</div>
{{if or .ClientURI .TOSURI .PolicyURI}}<p class="links">{{if .ClientURI}}<a id="client-uri" href="{{.ClientURI}}" rel="noopener noreferrer" target="_blank">Website</a>{{end}}{{if .TOSURI}}<a id="tos" href="{{.TOSURI}}" rel="noopener noreferrer" target="_blank">Terms of Service</a>{{end}}{{if .PolicyURI}}<a id="policy" href="{{.PolicyURI}}" rel="noopener noreferrer" target="_blank">Privacy Policy</a>{{end}}</p>{{end}}
<p class="muted">You will be sent back to <span id="redirect-uri">{{.RedirectURI}}</span></p>
<form method="POST" action="/oauth/authorize">
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<div class="buttons">
<button id="deny" type="submit" name="action" value="deny">Deny</button>
<button id="allow" type="submit" name="action" value="allow">Allow</button>
</div>
</form>
<p class="dev">takos-apply dev: a local stand-in for the Takos authorization server</p>
</main>
</body>
</html>
`))
})

// Name and Value make param usable in the template.
func (p param) Name() string  { return p.name }
func (p param) Value() string { return p.value }

// webURL returns u when it parses (WHATWG) as an http or https URL, as
// isValidLogoUrl requires of the logo, else "".
func webURL(u *string) string {
	if u == nil {
		return ""
	}
	p, err := whatwgParse(*u)
	if err != nil || (p.Protocol != "http:" && p.Protocol != "https:") {
		return ""
	}
	return *u
}

func (s *Server) consentPage(c StoredClient, user User, req authzRequest, fresh []string) reply {
	d := consentData{
		ClientName:  c.Name,
		LogoURI:     webURL(c.LogoURI),
		ClientURI:   webURL(c.ClientURI),
		TOSURI:      webURL(c.TOSURI),
		PolicyURI:   webURL(c.PolicyURI),
		RedirectURI: req.RedirectURI,
		UserLabel:   user.Email,
	}
	if d.UserLabel == "" {
		d.UserLabel = user.Name
	}
	for _, sc := range fresh {
		if info, ok := scopeDescriptions[sc]; ok {
			line := scopeLine{sc, info.desc}
			if info.identity {
				d.Identity = append(d.Identity, line)
			} else {
				d.Resources = append(d.Resources, line)
			}
		}
	}
	csrf := s.generateID()
	s.oa.mu.Lock()
	now := s.now()
	for k, e := range s.oa.csrf {
		if !now.Before(e.expires) {
			delete(s.oa.csrf, k)
		}
	}
	s.oa.csrf[csrf] = csrfEntry{params: csrfBinding(req), expires: now.Add(csrfTTL)}
	s.oa.mu.Unlock()
	d.Hidden = []param{
		{"client_id", c.ClientID}, {"redirect_uri", req.RedirectURI}, {"scope", req.Scope}, {"state", req.State},
		{"code_challenge", req.CodeChallenge}, {"code_challenge_method", req.CodeChallengeMethod}, {"csrf_token", csrf},
	}
	var b bytes.Buffer
	if err := consentTemplate().Execute(&b, d); err != nil {
		return envelopeReply(http.StatusInternalServerError, "INTERNAL_ERROR", "consent page: "+err.Error())
	}
	h := http.Header{
		"Content-Type":            {"text/html; charset=UTF-8"},
		"Set-Cookie":              {csrfCookie + "=" + csrf + "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=600"},
		"Cache-Control":           {"no-store"},
		"Content-Security-Policy": {consentCSP(req.RedirectURI)},
		"Referrer-Policy":         {"no-referrer"},
		"X-Frame-Options":         {"DENY"},
		"X-Content-Type-Options":  {"nosniff"},
	}
	return reply{status: http.StatusOK, header: h, body: b.Bytes()}
}

// safeOrigin is what may appear in a CSP source list.
var safeOrigin = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z][a-z0-9+.-]*://[A-Za-z0-9.\-\[\]:]+$`) })

// consentCSP allows no script, no frame ancestors, images from anywhere on
// the web (the logo), and form submission (with its redirect) to this
// server and the redirect URI's origin only.
func consentCSP(redirectURI string) string {
	policy := "default-src 'none'; img-src http: https: data:; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
	if u, err := url.Parse(redirectURI); err == nil && u.Scheme != "" && u.Host != "" {
		if origin := strings.ToLower(u.Scheme) + "://" + u.Host; safeOrigin().MatchString(origin) {
			policy += "; form-action 'self' " + origin
		}
	}
	return policy
}

// csrfBinding ties a CSRF token to the authorization request its page
// was rendered for.
func csrfBinding(req authzRequest) string {
	return strings.Join([]string{req.ClientID, req.RedirectURI, req.Scope, req.State, req.CodeChallenge, req.CodeChallengeMethod}, "\x00")
}

// checkCSRF is the real server's double-submit check (the form's
// csrf_token equals the __Host-csrf cookie), and, because every page on
// 127.0.0.1 — any port — can set that cookie, also that the token is one
// this server issued for a consent page of this very request in the last
// ten minutes. A token is used once.
//
// And the decision must come from the consent page itself: a browser that
// says where a request comes from (Sec-Fetch-Site) must say same-origin.
// CORS lets a script on a loopback origin read the consent page, token
// included, and a page on 127.0.0.1 is same-site with the dev server, so
// the cookie goes with its POST; the browser is signed in without a
// session, so nothing else would stop that script from approving. On
// Takos the session cookie (SameSite=Strict) never leaves its own site.
func (s *Server) checkCSRF(r *http.Request, fromBody string, req authzRequest) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	m := csrfCookieRE().FindStringSubmatch(r.Header.Get("Cookie"))
	if fromBody == "" || m == nil || m[1] != fromBody {
		return false
	}
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	e, ok := s.oa.csrf[fromBody]
	delete(s.oa.csrf, fromBody)
	return ok && s.now().Before(e.expires) && e.params == csrfBinding(req)
}
