package devserver

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var challenge = strings.Repeat("x", 43)

// authzQuery is a valid authorization request for cfgID, with overrides
// ("" deletes a parameter).
func authzQuery(clientID string, set ...string) string {
	ps := []param{{"response_type", "code"}, {"client_id", clientID}, {"redirect_uri", testRedirect}, {"scope", "openid"},
		{"state", "st"}, {"code_challenge", challenge}, {"code_challenge_method", "S256"}}
	for i := 0; i+1 < len(set); i += 2 {
		ps = setParam(ps, set[i], set[i+1])
		if set[i+1] == "" {
			var keep []param
			for _, p := range ps {
				if p.name != set[i] {
					keep = append(keep, p)
				}
			}
			ps = keep
		}
	}
	return serializeSearchParams(ps)
}

func getAuthorize(t *testing.T, s *Server, query string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/oauth/authorize?"+query, nil)
	req.Header.Set("CF-Connecting-IP", "192.0.2.1") // its own rate-limit bucket
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		_ = json.Unmarshal(b, &m)
	}
	return resp.StatusCode, resp.Header.Get("Location"), m
}

func TestAuthorizeErrorOrder(t *testing.T) {
	s := newTest(t, WithSigningKey(testKey()), WithoutLoginSession())
	cfg := newOAuthClient(t, s, `{"client_name":"App","redirect_uris":["`+testRedirect+`","http://127.0.0.1:9999/cb2?keep=a+b&error=old"],"scope":"openid profile"}`)
	noCode := newOAuthClient(t, s, `{"client_name":"NoCode","redirect_uris":["`+testRedirect+`"],"scope":"openid","grant_types":["client_credentials"]}`)
	id := cfg.ClientID
	jsonErr := func(e, d string) map[string]any { return map[string]any{"error": e, "error_description": d} }
	redir := func(e, d string) string {
		return testRedirect + "?error=" + e + "&error_description=" + strings.ReplaceAll(url.QueryEscape(d), "%2A", "*") + "&state=st"
	}
	tests := []struct {
		name     string
		query    string
		status   int
		body     map[string]any // JSON 400
		location string         // or a redirect
	}{
		{"no response_type", authzQuery(id, "response_type", ""), 400, jsonErr("unsupported_response_type", "Only response_type=code is supported"), ""},
		{"token response_type", authzQuery(id, "response_type", "token"), 400, jsonErr("unsupported_response_type", "Only response_type=code is supported"), ""},
		{"the first of two response_types counts", "response_type=token&" + authzQuery(id), 400, jsonErr("unsupported_response_type", "Only response_type=code is supported"), ""},
		{"no client_id", authzQuery(id, "client_id", ""), 400, jsonErr("invalid_request", "client_id is required"), ""},
		{"unknown client", authzQuery("nope"), 400, jsonErr("invalid_client", "Client not found"), ""},
		{"no redirect_uri", authzQuery(id, "redirect_uri", ""), 400, jsonErr("invalid_request", "redirect_uri is required"), ""},
		{"unregistered redirect_uri", authzQuery(id, "redirect_uri", testRedirect+"/"), 400, jsonErr("invalid_request", "redirect_uri not registered"), ""},
		{"redirect_uri differing in case only", authzQuery(id, "redirect_uri", strings.ToUpper(testRedirect[:4])+testRedirect[4:]), 400, jsonErr("invalid_request", "redirect_uri not registered"), ""},
		{"no state: JSON although the redirect URI is known", authzQuery(id, "state", ""), 400, jsonErr("invalid_request", "state is required"), ""},
		{"no code_challenge", authzQuery(id, "code_challenge", ""), 302, nil, redir("invalid_request", "code_challenge is required (PKCE)")},
		{"plain PKCE", authzQuery(id, "code_challenge_method", "plain"), 302, nil, redir("invalid_request", "code_challenge_method must be S256")},
		{"no method", authzQuery(id, "code_challenge_method", ""), 302, nil, redir("invalid_request", "code_challenge_method must be S256")},
		{"short challenge", authzQuery(id, "code_challenge", "abc"), 302, nil, redir("invalid_request", "Invalid code_challenge format")},
		{"challenge with padding", authzQuery(id, "code_challenge", strings.Repeat("x", 42)+"="), 302, nil, redir("invalid_request", "Invalid code_challenge format")},
		{"client without the grant", authzQuery(noCode.ClientID), 302, nil, redir("unauthorized_client", "Client does not support authorization_code grant")},
		{"no scope", authzQuery(id, "scope", ""), 302, nil, redir("invalid_request", "scope is required")},
		{"unknown scopes", authzQuery(id, "scope", "openid runs:read runs:write"), 302, nil, redir("invalid_scope", "Unknown scopes: runs:read, runs:write")},
		{"a scope the client lacks", authzQuery(id, "scope", "openid email"), 302, nil, redir("invalid_scope", "Requested scope exceeds allowed scopes")},
		{"the redirect keeps the registered query and replaces an error in it", authzQuery(id, "redirect_uri", "http://127.0.0.1:9999/cb2?keep=a+b&error=old", "scope", "email"),
			302, nil, "http://127.0.0.1:9999/cb2?keep=a+b&error=invalid_scope&error_description=Requested+scope+exceeds+allowed+scopes&state=st"},
		{"valid, signed out: the login page", authzQuery(id, "scope", "openid profile"), 302, nil,
			"/auth/login?return_to=%2Foauth%2Fauthorize%3Fresponse_type%3Dcode%26client_id%3D" + id +
				"%26redirect_uri%3Dhttp%253A%252F%252F127.0.0.1%253A9999%252Fcb%26scope%3Dopenid%2Bprofile%26state%3Dst%26code_challenge%3D" + challenge + "%26code_challenge_method%3DS256"},
		{"a blank scope passes (it splits to no scope)", authzQuery(id, "scope", " "), 302, nil,
			"/auth/login?return_to=%2Foauth%2Fauthorize%3Fresponse_type%3Dcode%26client_id%3D" + id +
				"%26redirect_uri%3Dhttp%253A%252F%252F127.0.0.1%253A9999%252Fcb%26scope%3D%2B%26state%3Dst%26code_challenge%3D" + challenge + "%26code_challenge_method%3DS256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, loc, body := getAuthorize(t, s, tc.query)
			if status != tc.status || loc != tc.location {
				t.Errorf("= %d Location %q\nwant %d Location %q", status, loc, tc.status, tc.location)
			}
			if diff := cmp.Diff(tc.body, body); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}

// consentForm renders the consent page for query and returns its hidden
// fields and the CSRF cookie.
func consentForm(t *testing.T, s *Server, query string) (url.Values, *http.Cookie, string) {
	t.Helper()
	resp, err := http.Get(s.URL + "/oauth/authorize?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("consent page = %d %s: %s", resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	v := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(string(b), -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Path != "/" {
		t.Fatalf("CSRF cookie %+v", cookie)
	}
	return v, cookie, string(b)
}

func postConsent(t *testing.T, s *Server, v url.Values, cookie string) (int, string, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth/authorize", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	status, h, body := do(t, req)
	return status, h.Get("Location"), body
}

func TestConsentPage(t *testing.T) {
	s := newTest(t, WithSigningKey(testKey()))
	cfg := newOAuthClient(t, s, `{"client_name":"Photo Book","redirect_uris":["`+testRedirect+`"],"scope":"openid profile files:read",
		"logo_uri":"https://app.example/logo.png","tos_uri":"https://app.example/terms","policy_uri":"https://app.example/privacy","client_uri":"https://app.example/"}`)
	q := authzQuery(cfg.ClientID, "scope", "openid files:read")
	v, cookie, page := consentForm(t, s, q)
	for _, want := range []string{
		`<h1 id="client-name">Photo Book</h1>`,
		`<img id="client-logo" class="logo" src="https://app.example/logo.png" alt="">`,
		`<a id="tos" href="https://app.example/terms"`, `<a id="policy" href="https://app.example/privacy"`,
		`<code>openid</code> OpenID Connect identity`, `<code>files:read</code> Read files`,
		`<span id="user">dev@example.com</span>`, `<span id="redirect-uri">` + testRedirect + `</span>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if strings.Contains(page, "<code>profile</code>") {
		t.Error("the page lists a scope that was not requested")
	}
	// The Deny button: access_denied with the state, no consent stored.
	status, loc, _ := postConsent(t, s, withAction(v, "deny"), cookie.Name+"="+cookie.Value)
	if want := testRedirect + "?error=access_denied&error_description=User+denied+the+request&state=st"; status != 302 || loc != want {
		t.Errorf("deny = %d %q, want %q", status, loc, want)
	}
	// Allow: a code, and the consent is remembered: the next request for
	// those scopes is approved without the page, a wider one asks again
	// for the new scope only.
	v, cookie, _ = consentForm(t, s, q)
	status, loc, _ = postConsent(t, s, withAction(v, "allow"), cookie.Name+"="+cookie.Value)
	if u, _ := url.Parse(loc); status != 302 || u.Query().Get("code") == "" || u.Query().Get("state") != "st" {
		t.Errorf("allow = %d %q", status, loc)
	}
	if status, loc, _ := getAuthorize(t, s, q); status != 302 || !strings.Contains(loc, "code=") {
		t.Errorf("second request with consent = %d %q", status, loc)
	}
	_, _, page = consentForm(t, s, authzQuery(cfg.ClientID, "scope", "openid profile files:read"))
	if !strings.Contains(page, "<code>profile</code>") || strings.Contains(page, "<code>files:read</code>") {
		t.Error("a wider request should list only the scope not yet granted")
	}
}

func withAction(v url.Values, action string) url.Values {
	out := cloneValues(v)
	out.Set("action", action)
	return out
}

func TestConsentCSRF(t *testing.T) {
	s := newTest(t, WithSigningKey(testKey()))
	cfg := newOAuthClient(t, s, `{"client_name":"App","redirect_uris":["`+testRedirect+`"],"scope":"openid profile"}`)
	q := authzQuery(cfg.ClientID)
	mismatch := map[string]any{"error": "CSRF token mismatch"}
	t.Run("no cookie", func(t *testing.T) {
		v, _, _ := consentForm(t, s, q)
		if status, _, body := postConsent(t, s, withAction(v, "allow"), ""); status != 403 || !cmp.Equal(body, mismatch) {
			t.Errorf("= %d %v", status, body)
		}
	})
	t.Run("a cookie that does not match", func(t *testing.T) {
		v, _, _ := consentForm(t, s, q)
		if status, _, body := postConsent(t, s, withAction(v, "allow"), csrfCookie+"=other"); status != 403 || !cmp.Equal(body, mismatch) {
			t.Errorf("= %d %v", status, body)
		}
	})
	t.Run("a matching pair the server never issued (a cookie set by another port of 127.0.0.1)", func(t *testing.T) {
		v, _, _ := consentForm(t, s, q)
		v.Set("csrf_token", "forged")
		if status, _, body := postConsent(t, s, withAction(v, "allow"), csrfCookie+"=forged"); status != 403 || !cmp.Equal(body, mismatch) {
			t.Errorf("= %d %v", status, body)
		}
	})
	t.Run("a token issued for another request", func(t *testing.T) {
		v, c, _ := consentForm(t, s, q)
		v.Set("state", "changed")
		if status, _, body := postConsent(t, s, withAction(v, "allow"), c.Name+"="+c.Value); status != 403 || !cmp.Equal(body, mismatch) {
			t.Errorf("= %d %v", status, body)
		}
	})
	t.Run("a token is used once", func(t *testing.T) {
		v, c, _ := consentForm(t, s, q)
		if status, _, _ := postConsent(t, s, withAction(v, "deny"), c.Name+"="+c.Value); status != 302 {
			t.Fatalf("first use = %d", status)
		}
		if status, _, body := postConsent(t, s, withAction(v, "allow"), c.Name+"="+c.Value); status != 403 || !cmp.Equal(body, mismatch) {
			t.Errorf("second use = %d %v", status, body)
		}
	})
	t.Run("the cookie is found anywhere in the header, as the server's regexp finds it", func(t *testing.T) {
		v, c, _ := consentForm(t, s, q)
		if status, loc, _ := postConsent(t, s, withAction(v, ""), "a=b; "+c.Name+"="+c.Value+"; z=y"); status != 302 || !strings.Contains(loc, "code=") {
			t.Errorf("= %d %q (a missing action approves, as on the real server)", status, loc)
		}
	})
	t.Run("a decision sent by another page (Sec-Fetch-Site), the right cookie and token notwithstanding", func(t *testing.T) {
		// CORS lets a script on http://127.0.0.1:PORT read the consent
		// page; only the page itself (same-origin) or a client that sends
		// no Sec-Fetch-Site decides. (A server of its own: an approval
		// would skip the page for later requests.)
		s := newTest(t, WithSigningKey(testKey()))
		q := authzQuery(newOAuthClient(t, s, `{"client_name":"App","redirect_uris":["`+testRedirect+`"],"scope":"openid profile"}`).ClientID)
		for _, site := range []string{"same-site", "cross-site", "none", "same-origin"} {
			v, c, _ := consentForm(t, s, q)
			req, _ := http.NewRequest("POST", s.URL+"/oauth/authorize", strings.NewReader(withAction(v, "allow").Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", c.Name+"="+c.Value)
			req.Header.Set("Sec-Fetch-Site", site)
			status, h, body := do(t, req)
			if site == "same-origin" {
				if status != 302 || !strings.Contains(h.Get("Location"), "code=") {
					t.Errorf("%s: = %d %q, want a code", site, status, h.Get("Location"))
				}
			} else if status != 403 || !cmp.Equal(body, mismatch) {
				t.Errorf("%s: = %d %v", site, status, body)
			}
		}
	})
	t.Run("signed out", func(t *testing.T) {
		s2 := newTest(t, WithSigningKey(testKey()), WithoutLoginSession())
		s2.oa.mu.Lock()
		s2.oa.csrf["tok"] = csrfEntry{params: csrfBinding(authzRequest{ClientID: "c"}), expires: s2.now().Add(csrfTTL)}
		s2.oa.mu.Unlock()
		v := url.Values{"client_id": {"c"}, "csrf_token": {"tok"}}
		if status, _, body := postConsent(t, s2, v, csrfCookie+"=tok"); status != 401 || !cmp.Equal(body, map[string]any{"error": "Not authenticated"}) {
			t.Errorf("= %d %v", status, body)
		}
	})
}

// TestConsentPageEscapesHostileClient: a client whose every field is
// hostile (as a manifest can make it) renders as text; no element, script
// or javascript: link comes from it. TestBrowser checks the same in
// Chromium's DOM.
func TestConsentPageEscapesHostileClient(t *testing.T) {
	s := newTest(t, WithSigningKey(testKey()))
	const evil = `"><script>window.pwned=1</script><img src=x onerror="window.pwned=2">`
	c := s.Seed(StoredClient{
		Name: "Evil " + evil, RedirectURIs: []string{testRedirect}, AllowedScopes: []string{"openid"},
		LogoURI: ptr("javascript:window.pwned=3"), TOSURI: ptr(`https://x.example/"onmouseover="window.pwned=4`),
		PolicyURI: ptr("data:text/html,<script>window.pwned=5</script>"), ClientURI: ptr("  javascript:alert(1)"),
	})
	_, _, page := consentForm(t, s, authzQuery(c.ClientID))
	for _, bad := range []string{"<script", "<img src=x", `onerror="`, `"onmouseover=`, "javascript:", "data:text/html"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page contains %q", bad)
		}
	}
	if !strings.Contains(page, "Evil &#34;&gt;&lt;script&gt;") {
		t.Errorf("the name is not shown escaped:\n%s", page)
	}
	if strings.Contains(page, `id="client-logo"`) || strings.Contains(page, `id="policy"`) || strings.Contains(page, `id="client-uri"`) {
		t.Error("a URI that is not http(s) became a link or image")
	}
}

func ptr(s string) *string { return &s }
