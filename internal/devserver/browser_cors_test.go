package devserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/realtakostest"
)

// corsProbe is JavaScript a page runs against base: what its fetch calls
// see. "blocked" is the browser's refusal (a TypeError: no CORS grant);
// otherwise the status, and what the page may read of the reply.
const corsProbe = `(async (base) => {
	const see = async (name, url, init) => {
		try {
			const r = await fetch(base + url, init);
			if (r.type === 'opaque') return [name, 'opaque'];
			const body = await r.text();
			let error = '';
			try { error = JSON.parse(body).error || ''; if (typeof error !== 'string') error = error.code; } catch (e) {}
			return [name, r.status + ' ' + error + ' ratelimit=' + r.headers.get('X-RateLimit-Limit') + ' frame=' + r.headers.get('X-Frame-Options')];
		} catch (e) {
			return [name, 'blocked'];
		}
	};
	return Object.fromEntries(await Promise.all([
		see('token form POST', '/oauth/token', {method: 'POST', body: new URLSearchParams({grant_type: 'refresh_token', refresh_token: 'x', client_id: 'nope'})}),
		see('userinfo bearer with credentials', '/oauth/userinfo', {headers: {Authorization: 'Bearer x'}, credentials: 'include'}),
		see('introspect basic auth', '/oauth/introspect', {method: 'POST', headers: {Authorization: 'Basic ' + btoa('nope:x')}, body: new URLSearchParams({token: 'x'})}),
		see('token with X-Custom', '/oauth/token', {method: 'POST', headers: {'X-Custom': '1'}, body: new URLSearchParams({grant_type: 'x'})}),
		see('PUT', '/api/me/oauth/clients/abc', {method: 'PUT'}),
		see('PROPFIND', '/api/me/oauth/clients', {method: 'PROPFIND'}),
		see('discovery', '/.well-known/openid-configuration', {}),
		see('no-cors form POST', '/oauth/token', {method: 'POST', mode: 'no-cors', body: new URLSearchParams({grant_type: 'x'})}),
	]));
})`

// TestBrowserCORS runs the same fetch calls in headless Chromium from
// pages on three loopback origins and requires what the real server's
// CORS gives (measured on tako0614/takos@7d63ea66): http://127.0.0.1:PORT
// and http://localhost:PORT read the replies (the rate-limit headers too,
// not the others), a header or method outside the server's lists is
// refused at the preflight, and http://app.localhost:PORT, an origin the
// server does not allow, reads nothing, though its requests reach the
// server (a no-cors one comes back opaque). With TAKOS_REAL_COORDS the
// same runs against the real server too.
func TestBrowserCORS(t *testing.T) {
	b := devservertest.StartBrowser(t)
	s := devservertest.New(t, devserver.WithSelfIssuer())
	targets := []struct{ name, base string }{{"fake", s.URL}}
	if realtakostest.Path() != "" {
		targets = append(targets, struct{ name, base string }{"real", realtakostest.Coords(t, "URL")["URL"]})
	}
	port := startPages(t)
	allowed := map[string]string{
		"token form POST":                  "401 invalid_client ratelimit=20 frame=null",
		"userinfo bearer with credentials": "401 invalid_token ratelimit=null frame=null",
		"introspect basic auth":            "400 invalid_request ratelimit=20 frame=null",
		"token with X-Custom":              "blocked",
		"PUT":                              "401 UNAUTHORIZED ratelimit=null frame=null",
		"PROPFIND":                         "blocked",
		"discovery":                        "200  ratelimit=null frame=null",
		"no-cors form POST":                "opaque",
	}
	// From a refused origin the server is reached all the same (a no-cors
	// request goes through, opaque); the page can read nothing.
	refused := map[string]string{}
	for k := range allowed {
		refused[k] = "blocked"
	}
	refused["no-cors form POST"] = "opaque"
	p := b.NewPage(t)
	for _, tg := range targets {
		for _, o := range []struct {
			origin string
			want   map[string]string
		}{
			{"http://127.0.0.1:" + port, allowed},
			{"http://localhost:" + port, allowed},
			{"http://app.localhost:" + port, refused},
		} {
			p.Navigate(o.origin + "/page")
			p.WaitFor(`document.getElementById('page')`, 10*time.Second)
			var got map[string]string
			p.MustEval(corsProbe+"("+jsString(tg.base)+")", &got)
			for name, want := range o.want {
				if got[name] != want {
					t.Errorf("%s: %s from a page on %s: %q, want %q", tg.name, name, o.origin, got[name], want)
				}
			}
		}
	}
}

// TestBrowserSPA is a single-page app on http://127.0.0.1:PORT with a
// public client: after consent it exchanges the code, calls userinfo and
// refreshes, all with fetch from the page, as it would against Takos. The
// same exchange from http://app.localhost:PORT is blocked for the page, yet
// spends the code.
func TestBrowserSPA(t *testing.T) {
	b := devservertest.StartBrowser(t)
	s := devservertest.New(t, devserver.WithSelfIssuer())
	port := startPages(t)
	app := "http://127.0.0.1:" + port
	cfg := createClient(t, s, map[string]any{"client_name": "SPA", "redirect_uris": []string{app + "/cb"}, "scope": "openid profile",
		"token_endpoint_auth_method": "none"})
	if cfg.ClientSecret != "" {
		t.Fatalf("a public client got a secret")
	}
	verifier := oauth2.GenerateVerifier()
	p := b.NewPage(t)
	p.Navigate(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	p.WaitFor(`document.getElementById('allow')`, 20*time.Second)
	p.MustEval(`document.getElementById('allow').click()`, nil)
	p.WaitFor(`location.pathname === '/cb' && document.getElementById('page')`, 20*time.Second)

	// From an origin the server does not allow, the exchange is blocked
	// for the page, but the form POST went out (no preflight) and the
	// server used the code up.
	var code, blocked string
	p.MustEval(`new URLSearchParams(location.search).get('code')`, &code)
	p.Navigate("http://app.localhost:" + port + "/page")
	p.WaitFor(`document.getElementById('page')`, 10*time.Second)
	p.MustEval(`fetch(`+jsString(s.URL+"/oauth/token")+`, {method: 'POST', body: new URLSearchParams({grant_type: 'authorization_code', code: `+
		jsString(code)+`, redirect_uri: `+jsString(cfg.RedirectURL)+`, client_id: `+jsString(cfg.ClientID)+`, code_verifier: `+jsString(verifier)+
		`})}).then(r => 'read ' + r.status, e => 'blocked')`, &blocked)
	if blocked != "blocked" {
		t.Errorf("the exchange from http://app.localhost: %s, want blocked", blocked)
	}
	if _, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier)); err == nil || !strings.Contains(err.Error(), "Authorization code already used") {
		t.Errorf("the same code afterwards: %v, want invalid_grant: already used", err)
	}

	// The consent is remembered: the next request comes straight back
	// with a code, which the page on an allowed origin exchanges.
	p.Navigate(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	p.WaitFor(`location.pathname === '/cb' && document.getElementById('page')`, 20*time.Second)
	var got struct {
		Origin, Sub, Error string
		Refreshed, Rotated bool
	}
	p.MustEval(`(async (base, clientID, verifier, redirect) => {
		const form = (o) => ({method: 'POST', body: new URLSearchParams(o)});
		const q = new URLSearchParams(location.search);
		if (q.get('state') !== 'st') return {error: 'state ' + q.get('state')};
		let r = await fetch(base + '/oauth/token', form({grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirect, client_id: clientID, code_verifier: verifier}));
		const tok = await r.json();
		if (!r.ok) return {error: 'token ' + r.status + ' ' + JSON.stringify(tok)};
		r = await fetch(base + '/oauth/userinfo', {headers: {Authorization: 'Bearer ' + tok.access_token}});
		const me = await r.json();
		if (!r.ok) return {error: 'userinfo ' + r.status + ' ' + JSON.stringify(me)};
		r = await fetch(base + '/oauth/token', form({grant_type: 'refresh_token', refresh_token: tok.refresh_token, client_id: clientID}));
		const next = await r.json();
		return {origin: location.origin, sub: me.sub, refreshed: r.ok && !!next.access_token, rotated: next.refresh_token !== tok.refresh_token};
	})(`+strings.Join([]string{jsString(s.URL), jsString(cfg.ClientID), jsString(verifier), jsString(cfg.RedirectURL)}, ",")+`)`, &got)
	if got.Error != "" || got.Origin != app || got.Sub == "" || !got.Refreshed || !got.Rotated {
		t.Errorf("the SPA's flow: %+v", got)
	}
}

// startPages serves a blank page at /page and /cb on 127.0.0.1 (reached
// by the browser under several names) and returns its port.
func startPages(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!DOCTYPE html><title>app</title><p id=page>app</p>")
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserConsentNotScriptable: CORS lets a page on a loopback origin
// read the dev server's replies, the consent page included, and a page on
// 127.0.0.1 is same-site with the dev server, so its requests carry the
// __Host-csrf cookie. On Takos such a page cannot approve anything: the
// session cookie (SameSite=Strict) does not leave the Takos site. The dev
// server's browser needs no session, so it takes the consent decision only
// from its own page (Sec-Fetch-Site: same-origin): a script that fetches
// the page and posts its form approves nothing.
func TestBrowserConsentNotScriptable(t *testing.T) {
	b := devservertest.StartBrowser(t)
	s := devservertest.New(t, devserver.WithSelfIssuer())
	port := startPages(t)
	app := "http://127.0.0.1:" + port
	cfg := createClient(t, s, map[string]any{"client_name": "Victim", "redirect_uris": []string{app + "/cb"}, "scope": "openid profile"})
	authURL := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	p := b.NewPage(t)
	p.Navigate(app + "/page")
	p.WaitFor(`document.getElementById('page')`, 10*time.Second)
	var got struct {
		Page   int
		Fields int
		Post   string
	}
	p.MustEval(`(async (url, action) => {
		const r = await fetch(url, {credentials: 'include'});
		const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
		const form = new URLSearchParams();
		doc.querySelectorAll('form input[type=hidden]').forEach(i => form.set(i.name, i.value));
		form.set('action', 'allow');
		let post;
		try {
			const p = await fetch(action, {method: 'POST', body: form, credentials: 'include', redirect: 'manual'});
			post = p.type === 'opaqueredirect' ? 'redirect' : String(p.status);
		} catch (e) { post = 'blocked'; }
		return {page: r.status, fields: [...form.keys()].length, post};
	})(`+jsString(authURL)+`, `+jsString(s.URL+"/oauth/authorize")+`)`, &got)
	if got.Page != 200 || got.Fields < 8 {
		t.Fatalf("the script did not get the consent page and its form: %+v", got)
	}
	if got.Post != "403" {
		t.Errorf("the scripted consent POST: %+v, want 403 (a redirect carries a code)", got)
	}
	// Nothing was granted: the next request still shows the page.
	p.Navigate(authURL)
	p.WaitFor(`document.getElementById('allow') || location.pathname === '/cb'`, 20*time.Second)
	var shown bool
	p.MustEval(`!!document.getElementById('allow')`, &shown)
	if !shown {
		t.Errorf("after the scripted POST the authorize request went straight to the app: consent was granted")
	}
	// The user's own click still works.
	p.MustEval(`document.getElementById('allow').click()`, nil)
	p.WaitFor(`location.pathname === '/cb' && new URLSearchParams(location.search).get('code')`, 20*time.Second)
}
