package devserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// A 1×1 PNG, the client's logo.
var logoPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// app is the stand-in for the developer's app: it serves the logo and the
// redirect URI, and reports each redirect's query.
type app struct {
	url       string
	redirects chan url.Values
}

func startApp(t *testing.T) *app {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &app{url: "http://" + ln.Addr().String(), redirects: make(chan url.Values, 4)}
	mux := http.NewServeMux()
	mux.HandleFunc("/logo.png", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(logoPNG)
	})
	mux.HandleFunc("/cb", func(w http.ResponseWriter, r *http.Request) {
		a.redirects <- r.URL.Query()
		fmt.Fprint(w, "<!DOCTYPE html><title>back in the app</title><p id=done>ok</p>")
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return a
}

func createClient(t *testing.T, s *devserver.Server, body map[string]any) *oauth2.Config {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", s.URL+"/api/me/oauth/clients", strings.NewReader(string(b)))
	req.Header.Set("Authorization", "Bearer "+s.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reg struct{ ClientID, ClientSecret string }
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != 201 {
		t.Fatalf("create client: %d %v", resp.StatusCode, m)
	}
	reg.ClientID, _ = m["client_id"].(string)
	reg.ClientSecret, _ = m["client_secret"].(string)
	uris := body["redirect_uris"].([]string)
	return &oauth2.Config{
		ClientID: reg.ClientID, ClientSecret: reg.ClientSecret, RedirectURL: uris[0],
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth/authorize", TokenURL: s.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   strings.Fields(body["scope"].(string)),
	}
}

// TestBrowser drives the consent page in a real headless Chromium: it
// shows the client's name, logo (loaded), scopes and the ToS and privacy
// links; Allow lands on the app's redirect handler with a code that
// golang.org/x/oauth2 exchanges and refreshes; Deny lands there with
// access_denied and the state; a hostile client's page runs no script.
func TestBrowser(t *testing.T) {
	b := devservertest.StartBrowser(t)
	s := devservertest.New(t, devserver.WithSelfIssuer())
	a := startApp(t)
	cfg := createClient(t, s, map[string]any{
		"client_name": "Photo Book", "redirect_uris": []string{a.url + "/cb"}, "scope": "openid profile files:read",
		"logo_uri": a.url + "/logo.png", "tos_uri": a.url + "/terms", "policy_uri": a.url + "/privacy",
	})

	verifier := oauth2.GenerateVerifier()
	p := b.NewPage(t)
	p.Navigate(cfg.AuthCodeURL("state-allow", oauth2.S256ChallengeOption(verifier)))
	p.WaitFor(`document.getElementById('allow') && document.getElementById('client-logo').complete`, 20*time.Second)
	var page struct {
		Name, Tos, Policy, Title string
		LogoWidth                int
		Scopes                   []string
	}
	p.MustEval(`({
		name: document.getElementById('client-name').textContent,
		tos: document.getElementById('tos').href,
		policy: document.getElementById('policy').href,
		title: document.title,
		logoWidth: document.getElementById('client-logo').naturalWidth,
		scopes: [...document.querySelectorAll('.scope')].map(e => e.textContent),
	})`, &page)
	if page.Name != "Photo Book" || page.Tos != a.url+"/terms" || page.Policy != a.url+"/privacy" || page.LogoWidth != 1 {
		t.Errorf("consent page: %+v", page)
	}
	if want := []string{"openid OpenID Connect identity", "profile User profile (name, picture)", "files:read Read files"}; fmt.Sprint(page.Scopes) != fmt.Sprint(want) {
		t.Errorf("scopes %q, want %q", page.Scopes, want)
	}
	p.MustEval(`document.getElementById('allow').click()`, nil)
	q := waitRedirect(t, a)
	if q.Get("state") != "state-allow" || q.Get("code") == "" || q.Get("error") != "" {
		t.Fatalf("redirect after Allow: %v", q)
	}
	p.WaitFor(`document.getElementById('done')`, 10*time.Second)
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchanging the browser's code: %v", err)
	}
	tok.Expiry = time.Now().Add(-time.Second)
	if _, err := cfg.TokenSource(context.Background(), tok).Token(); err != nil {
		t.Fatalf("refresh: %v", err)
	}

	// Deny, on a new request for a scope not granted yet (the granted ones
	// would be approved without the page).
	cfg.Scopes = []string{"openid"}
	s2 := devservertest.New(t, devserver.WithSelfIssuer())
	cfg2 := createClient(t, s2, map[string]any{"client_name": "Photo Book", "redirect_uris": []string{a.url + "/cb"}, "scope": "openid"})
	p.Navigate(cfg2.AuthCodeURL("state-deny", oauth2.S256ChallengeOption(verifier)))
	p.WaitFor(`document.getElementById('deny')`, 20*time.Second)
	p.MustEval(`document.getElementById('deny').click()`, nil)
	q = waitRedirect(t, a)
	if q.Get("error") != "access_denied" || q.Get("state") != "state-deny" || q.Get("error_description") != "User denied the request" || q.Get("code") != "" {
		t.Errorf("redirect after Deny: %v", q)
	}

	// A hostile client: its name is text, its javascript: logo and links
	// are not rendered, and no script runs.
	evil := `Evil"><script>window.pwned=1</script><img src=x onerror="window.pwned=2">`
	c := s.Seed(devserver.StoredClient{Name: evil, RedirectURIs: []string{a.url + "/cb"}, AllowedScopes: []string{"openid"},
		LogoURI: ptr("javascript:window.pwned=3"), TOSURI: ptr("javascript:window.pwned=4")})
	hostile := *cfg
	hostile.ClientID = c.ClientID
	p.Navigate(hostile.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	p.WaitFor(`document.getElementById('allow')`, 20*time.Second)
	time.Sleep(200 * time.Millisecond) // an onerror handler would have run by now
	var res struct {
		Pwned   any
		Scripts int
		Images  int
		Name    string
		Links   int
	}
	p.MustEval(`({pwned: window.pwned, scripts: document.scripts.length, images: document.images.length,
		name: document.getElementById('client-name').textContent, links: document.links.length})`, &res)
	if res.Pwned != nil || res.Scripts != 0 || res.Images != 0 || res.Name != evil || res.Links != 0 {
		t.Errorf("hostile client page: %+v", res)
	}
}

func waitRedirect(t *testing.T, a *app) url.Values {
	t.Helper()
	select {
	case q := <-a.redirects:
		return q
	case <-time.After(20 * time.Second):
		t.Fatal("the browser never reached the redirect URI")
		return nil
	}
}

func ptr(s string) *string { return &s }
