package devserver

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/takos-dev/takos-apply/internal/realtakostest"
)

// TestDifferentialAgainstRealTakos sends the same requests to the real
// Takos control plane (tako0614/takos@7d63ea66 on loopback, started with
// ../shared/realtakos/start.sh) and to this fake, and requires the same
// status, Location and body for each, after replacing the values that are
// random on each side (ids, secrets, tokens, times) by names. It covers the
// client API, discovery, unknown routes, /oauth/authorize's error order,
// and the token endpoint's grants and errors, userinfo, introspect and
// revoke on real codes and tokens; and CORS (preflights and the headers of
// every reply, from allowed and refused origins).
//
// The real server cannot sign a browser in locally (its session store is a
// stub), so codes are planted in both: in the real server's SQLite database
// with the sqlite3 CLI, as generateAuthorizationCode writes them, and in the
// fake's store. Everything after the code is the servers' own doing.
//
// Opt-in: TAKOS_REAL_COORDS names the coordinates file start.sh wrote.
func TestDifferentialAgainstRealTakos(t *testing.T) {
	coords := realtakostest.Coords(t, "URL", "PAT", "DATA_DIR", "ACCOUNT_ID", "ADMIN_DOMAIN")
	if _, err := exec.LookPath("sqlite3"); err != nil {
		t.Skip("the differential test plants authorization codes with the sqlite3 CLI, which is not installed")
	}
	db := coords["DATA_DIR"] + "/db/control.sqlite"
	account := coords["ACCOUNT_ID"]
	row := strings.Split(strings.TrimSpace(sqlite(t, db, "select name, ifnull(email,''), ifnull(picture,'') from accounts where id = '"+account+"'")), "|")
	if len(row) != 3 {
		t.Fatalf("account %s not found in %s", account, db)
	}
	fake := newTest(t, WithSigningKey(testKey()), WithoutLoginSession(), WithoutDevHints(), WithAdminDomain(coords["ADMIN_DOMAIN"]),
		WithToken(coords["PAT"]), WithLoginUser(User{ID: account, Name: row[0], Email: row[1], Picture: row[2]}))
	// The fake has no session: its login user exists only as an account.
	fake.oa.login = nil

	real := &side{name: "real", base: coords["URL"], pat: coords["PAT"], names: map[string]string{}}
	real.plant = func(c plantedCode) {
		sqlite(t, db, fmt.Sprintf(`insert into oauth_authorization_codes (id, code_hash, client_id, account_id, redirect_uri, scope, code_challenge, code_challenge_method, used, expires_at, created_at)
			values ('%s', '%s', '%s', '%s', '%s', '%s', '%s', 'S256', 0, '%s', '%s')`,
			c.id, sha256Hex(c.code), c.clientID, account, c.redirect, c.scope, s256(c.verifier),
			time.Now().Add(codeTTL).UTC().Format("2006-01-02T15:04:05.000Z"), time.Now().UTC().Format("2006-01-02T15:04:05.000Z")))
	}
	fk := &side{name: "fake", base: fake.URL, pat: fake.Token, names: map[string]string{}}
	fk.plant = func(c plantedCode) {
		fake.oa.mu.Lock()
		defer fake.oa.mu.Unlock()
		now := time.Now().UTC()
		fake.oa.codes = append(fake.oa.codes, &authCode{ID: c.id, CodeHash: sha256Hex(c.code), ClientID: c.clientID, UserID: account,
			RedirectURI: c.redirect, Scope: c.scope, Challenge: s256(c.verifier), Method: "S256", ExpiresAt: now.Add(codeTTL), CreatedAt: now})
	}
	run := func(name string, steps func(s *side) []observed) {
		t.Run(name, func(t *testing.T) {
			want, got := steps(real), steps(fk)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the fake differs from the real server (-real +fake):\n%s", diff)
			}
		})
	}
	const cb = "http://127.0.0.1:9999/cb"

	run("client API and routes", func(s *side) []observed {
		var out []observed
		out = append(out, s.json("POST", "/api/me/oauth/clients", `{"client_name":"Diff","redirect_uris":["`+cb+`"],"scope":"openid profile"}`, "client"))
		id := s.val("client.client_id")
		for _, body := range []string{
			`{"client_name":"Bad","redirect_uris":["` + cb + `"],"scope":"openid runs:read"}`,
			`{"client_name":"Bad","redirect_uris":"https://a.example/cb"}`,
			`{"client_name":"Bad","redirect_uris":["http://evil.example/cb"]}`,
			`{"redirect_uris":["` + cb + `"]}`,
		} {
			out = append(out, s.json("POST", "/api/me/oauth/clients", body, ""))
		}
		out = append(out,
			s.json("PATCH", "/api/me/oauth/clients/"+id, `{"scope":"openid profile email","redirect_uris":["`+cb+`","`+cb+`2"]}`, ""),
			s.json("PATCH", "/api/me/oauth/clients/abc.def", `{"scope":"openid"}`, ""),
			s.json("DELETE", "/api/me/oauth/clients/nope", "", ""),
			s.raw("GET", "/api/nothing", nil, ""),
			s.raw("GET", "/nothing", nil, ""),
			s.raw("GET", "/oauth/nothing", nil, ""),
			s.raw("POST", "/oauth/userinfo", nil, ""),
			s.raw("GET", "/oauth/token", nil, ""),
			s.raw("GET", "/.well-known/jwks.json", nil, ""),
			s.raw("GET", "/.well-known/oauth-authorization-server", nil, ""),
			s.raw("GET", "/.well-known/openid-configuration", nil, ""),
			s.raw("POST", "/api/me/oauth/clients", map[string]string{"Content-Type": "text/plain", "Authorization": "Bearer " + s.pat}, "x"),
		)
		return out
	})

	// CORS: the real middleware answers every OPTIONS itself and adds its
	// headers to every other reply (the steps above compare those without
	// an Origin); here, from origins it allows and refuses, on each kind of
	// route, as a preflight and as the request itself.
	run("CORS", func(s *side) []observed {
		s.json("POST", "/api/me/oauth/clients", `{"client_name":"Cors","redirect_uris":["`+cb+`"],"scope":"openid"}`, "cors")
		id := s.val("cors.client_id")
		var out []observed
		for _, o := range []string{"http://localhost:3000", "http://127.0.0.1:5173", "https://" + coords["ADMIN_DOMAIN"], "https://evil.example",
			"http://localhost", "https://localhost:3000", "http://[::1]:3000", "http://app.localhost:3000", "null", "http://localhost:3000.evil.example"} {
			for _, r := range []struct{ method, path string }{
				{"POST", "/oauth/token"}, {"GET", "/oauth/userinfo"}, {"POST", "/oauth/introspect"}, {"POST", "/oauth/revoke"},
				{"GET", "/oauth/authorize?" + authzQuery(id, "redirect_uri", cb)}, {"GET", "/.well-known/openid-configuration"},
				{"GET", "/.well-known/jwks.json"}, {"GET", "/api/me/oauth/clients"}, {"PATCH", "/api/me/oauth/clients/" + id}, {"GET", "/nothing"},
			} {
				out = append(out, s.raw("OPTIONS", r.path, map[string]string{"Origin": o, "Access-Control-Request-Method": r.method,
					"Access-Control-Request-Headers": "authorization,content-type,x-custom"}, ""))
				h := map[string]string{"Origin": o}
				body := ""
				switch {
				case r.method == "POST":
					h["Content-Type"] = "application/x-www-form-urlencoded"
					body = url.Values{"token": {"x"}, "grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {id}}.Encode()
				case r.method == "PATCH":
					// The list would show every client the real server
					// has: the GET goes without credentials (401).
					h["Authorization"] = "Bearer " + s.pat
					h["Content-Type"] = "application/json"
					body = `{"client_name":"Cors"}`
				}
				out = append(out, s.raw(r.method, r.path, h, body))
			}
		}
		// Git Smart HTTP is left without CORS: OPTIONS there is no route.
		// (The fake serves no git; a GET would differ for that reason.)
		out = append(out, s.raw("OPTIONS", "/git/x/y.git/info/refs", map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}, ""),
			s.raw("OPTIONS", "/oauth/token", nil, ""), s.raw("OPTIONS", "/api/me", map[string]string{"Origin": "http://localhost:3000"}, ""))
		return out
	})

	run("authorize", func(s *side) []observed {
		s.json("POST", "/api/me/oauth/clients", `{"client_name":"Authz","redirect_uris":["`+cb+`","`+cb+`?keep=a+b"],"scope":"openid profile"}`, "authz")
		s.json("POST", "/api/me/oauth/clients", `{"client_name":"CC","redirect_uris":["`+cb+`"],"scope":"openid","grant_types":["client_credentials"]}`, "cc")
		id, cc := s.val("authz.client_id"), s.val("cc.client_id")
		var out []observed
		for _, q := range []string{
			authzQuery(id, "response_type", ""),
			"response_type=token&" + authzQuery(id),
			authzQuery(id, "client_id", ""),
			authzQuery("nope"),
			authzQuery(id, "redirect_uri", ""),
			authzQuery(id, "redirect_uri", cb+"/"),
			authzQuery(id, "redirect_uri", cb, "state", ""),
			authzQuery(id, "redirect_uri", cb, "code_challenge", ""),
			authzQuery(id, "redirect_uri", cb, "code_challenge_method", "plain"),
			authzQuery(id, "redirect_uri", cb, "code_challenge", "abc"),
			authzQuery(cc, "redirect_uri", cb),
			authzQuery(id, "redirect_uri", cb, "scope", ""),
			authzQuery(id, "redirect_uri", cb, "scope", "openid runs:read runs:write"),
			authzQuery(id, "redirect_uri", cb, "scope", "openid email"),
			authzQuery(id, "redirect_uri", cb+"?keep=a+b", "scope", "email"),
			authzQuery(id, "redirect_uri", cb, "scope", "openid profile"),
			authzQuery(id, "redirect_uri", cb, "scope", " "),
			authzQuery(id, "redirect_uri", cb, "state", "s t&u=v"),
		} {
			out = append(out, s.raw("GET", "/oauth/authorize?"+q, nil, ""))
		}
		out = append(out, s.form("/oauth/authorize", url.Values{"client_id": {id}, "csrf_token": {"x"}}, "", nil))
		return out
	})

	run("token endpoint", func(s *side) []observed {
		s.json("POST", "/api/me/oauth/clients", `{"client_name":"Tok","redirect_uris":["`+cb+`"],"scope":"openid profile email files:read"}`, "c")
		s.json("POST", "/api/me/oauth/clients", `{"client_name":"Other","redirect_uris":["`+cb+`"],"scope":"openid"}`, "o")
		id, secret, other, otherSecret := s.val("c.client_id"), s.val("c.client_secret"), s.val("o.client_id"), s.val("o.client_secret")
		creds := func(v url.Values) url.Values { v.Set("client_id", id); v.Set("client_secret", secret); return v }
		verifier := strings.Repeat("v", 43)
		code := func(label string) url.Values {
			c := plantedCode{id: s.genID(), code: randString(), clientID: id, redirect: cb, scope: "openid profile email", verifier: verifier}
			s.plant(c)
			s.names[c.code] = "<code " + label + ">"
			return creds(url.Values{"grant_type": {"authorization_code"}, "code": {c.code}, "redirect_uri": {cb}, "code_verifier": {verifier}})
		}
		var out []observed
		out = append(out,
			s.raw("POST", "/oauth/token", map[string]string{"Content-Type": "application/json"}, `{"grant_type":"refresh_token"}`),
			s.form("/oauth/token", url.Values{}, "", nil),
			s.form("/oauth/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}}, "", nil),
			s.form("/oauth/token", creds(url.Values{"grant_type": {"client_credentials"}}), "", nil),
			s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, "", map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}),
			s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {id}}, "", nil),
			s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {id}, "client_secret": {"wrong"}}, "", nil),
			s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {"nope"}}, "", nil),
			s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {id}, "client_secret": {secret}}, "", nil),
		)
		// Failures that leave the code usable, then the exchange.
		v := code("1")
		bad := creds(url.Values{"grant_type": {"authorization_code"}, "code": {v.Get("code")}, "redirect_uri": {cb}, "code_verifier": {strings.Repeat("w", 43)}})
		out = append(out, s.form("/oauth/token", bad, "", nil))
		bad.Set("code_verifier", verifier)
		bad.Set("redirect_uri", cb+"/")
		out = append(out, s.form("/oauth/token", bad, "", nil))
		bad.Set("redirect_uri", cb)
		bad.Set("client_id", other)
		bad.Set("client_secret", otherSecret)
		out = append(out, s.form("/oauth/token", bad, "", nil))
		out = append(out, s.form("/oauth/token", v, "t1", nil))
		// The tokens at work.
		at1, rt1 := s.val("t1.access_token"), s.val("t1.refresh_token")
		out = append(out,
			s.bearer("/oauth/userinfo", at1),
			s.bearer("/oauth/userinfo", ""),
			s.bearer("/oauth/userinfo", "x.y.z"),
			s.form("/oauth/introspect", creds(url.Values{"token": {at1}}), "", nil),
			s.form("/oauth/introspect", creds(url.Values{"token": {rt1}}), "", nil),
			s.form("/oauth/introspect", url.Values{"token": {at1}, "client_id": {other}, "client_secret": {otherSecret}}, "", nil),
			s.raw("POST", "/oauth/introspect", map[string]string{"Content-Type": "application/json"}, `{"token":"x","client_id":"`+id+`"}`),
			// Refresh: rotation, a narrower and a wider scope, a reuse.
			s.form("/oauth/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}, "scope": {"openid files:read"}}), "", nil),
			s.form("/oauth/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}), "t2", nil),
		)
		at2, rt2 := s.val("t2.access_token"), s.val("t2.refresh_token")
		out = append(out,
			s.bearer("/oauth/userinfo", at1),
			s.form("/oauth/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt1}}), "", nil),
			s.bearer("/oauth/userinfo", at2),
			s.form("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}, "client_id": {other}, "client_secret": {otherSecret}}, "", nil),
			s.form("/oauth/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt2}, "scope": {"openid"}}), "t3", nil),
			s.bearer("/oauth/userinfo", s.val("t3.access_token")),
		)
		rt3 := s.val("t3.refresh_token")
		// Revocation: an access token cannot be revoked, a refresh token can.
		out = append(out,
			s.form("/oauth/revoke", creds(url.Values{"token": {s.val("t3.access_token")}}), "", nil),
			s.bearer("/oauth/userinfo", s.val("t3.access_token")),
			s.form("/oauth/revoke", url.Values{"token": {rt3}, "client_id": {other}, "client_secret": {otherSecret}}, "", nil),
			s.form("/oauth/introspect", creds(url.Values{"token": {rt3}}), "", nil),
			s.form("/oauth/revoke", creds(url.Values{"token": {rt3}, "token_type_hint": {"refresh_token"}}), "", nil),
			s.form("/oauth/introspect", creds(url.Values{"token": {rt3}}), "", nil),
			s.form("/oauth/revoke", url.Values{"token": {"x"}}, "", nil),
		)
		// A code used twice revokes what it issued.
		v2 := code("2")
		out = append(out, s.form("/oauth/token", v2, "t4", nil), s.form("/oauth/token", v2, "", nil),
			s.bearer("/oauth/userinfo", s.val("t4.access_token")),
			s.form("/oauth/token", creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.val("t4.refresh_token")}}), "", nil),
			s.form("/oauth/token", creds(url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {cb}, "code_verifier": {verifier}}), "", nil),
		)
		return out
	})
}

// observed is one request's outcome, with the random values named.
type observed struct {
	Request  string
	Status   int
	Location string
	Headers  map[string]string
	Body     any
}

type plantedCode struct{ id, code, clientID, redirect, scope, verifier string }

// side is one server under test and what the steps learned from it.
type side struct {
	name, base, pat string
	plant           func(plantedCode)
	names           map[string]string // random value → its name, for both sides alike
	vals            map[string]string // "label.field" → value
	n               int
}

func (s *side) val(key string) string {
	v, ok := s.vals[key]
	if !ok {
		panic(s.name + ": no value " + key)
	}
	return v
}

func (s *side) genID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func randString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *side) json(method, path, body, label string) observed {
	h := map[string]string{"Authorization": "Bearer " + s.pat}
	if body != "" {
		h["Content-Type"] = "application/json"
	}
	return s.do(method, path, h, body, label)
}

func (s *side) raw(method, path string, h map[string]string, body string) observed {
	return s.do(method, path, h, body, "")
}

func (s *side) form(path string, v url.Values, label string, h map[string]string) observed {
	hh := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, x := range h {
		hh[k] = x
	}
	return s.do("POST", path, hh, v.Encode(), label)
}

func (s *side) bearer(path, tok string) observed {
	h := map[string]string{}
	if tok != "" {
		h["Authorization"] = "Bearer " + tok
	}
	return s.do("GET", path, h, "", "")
}

// do sends one request from a fresh CF-Connecting-IP (so the /oauth rate
// limits never apply) and records the outcome; label names the reply's
// string fields for later steps and for the names of their values.
func (s *side) do(method, path string, h map[string]string, body, label string) observed {
	s.n++
	req, _ := http.NewRequest(method, s.base+path, strings.NewReader(body))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	ip := make([]byte, 4)
	rand.Read(ip)
	req.Header.Set("CF-Connecting-IP", fmt.Sprintf("10.%d.%d.%d", ip[0], ip[1], ip[2]))
	c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		return observed{Request: method + " " + path, Status: -1, Body: err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var v any
	if json.Unmarshal(raw, &v) != nil {
		v = string(raw)
	}
	if m, ok := v.(map[string]any); ok && label != "" {
		if s.vals == nil {
			s.vals = map[string]string{}
		}
		for k, x := range m {
			if str, ok := x.(string); ok {
				s.vals[label+"."+k] = str
				if k != "scope" && k != "token_type" && k != "client_name" {
					s.names[str] = "<" + label + "." + k + ">"
				}
			}
		}
	}
	headers := map[string]string{}
	for _, k := range []string{"Cache-Control", "Retry-After", "X-Content-Type-Options", "X-Frame-Options", "X-Xss-Protection", "Referrer-Policy", "Permissions-Policy",
		"Access-Control-Allow-Origin", "Access-Control-Allow-Credentials", "Access-Control-Expose-Headers", "Access-Control-Allow-Methods",
		"Access-Control-Allow-Headers", "Access-Control-Max-Age", "Vary"} {
		if x := resp.Header.Values(k); len(x) > 0 {
			headers[k] = strings.Join(x, ", ")
		}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		headers["Content-Type"], _, _ = strings.Cut(ct, ";")
	}
	return observed{
		Request:  s.normalize(method + " " + path).(string),
		Status:   resp.StatusCode,
		Location: s.normalize(resp.Header.Get("Location")).(string),
		Headers:  headers,
		Body:     s.normalize(v),
	}
}

var (
	isoTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)
	jwtRE   = regexp.MustCompile(`^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
)

// normalize names random values: the side's base URL, labelled values
// (anywhere in a string, escaped or not), times, numbers that are times,
// a JWT (replaced by its decoded header and claims, themselves
// normalized) and error ids.
func (s *side) normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			switch {
			case k == "iat" || k == "exp" || k == "client_id_issued_at" || k == "retryAfter":
				if _, ok := e.(float64); ok {
					out[k] = "<number>"
					continue
				}
			case k == "error_id" || k == "id" || k == "jti":
				out[k] = "<" + k + ">"
				continue
			}
			out[k] = s.normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.normalize(e)
		}
		return out
	case string:
		if jwtRE.MatchString(x) {
			parts := strings.Split(x, ".")
			hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			var claims map[string]any
			json.Unmarshal(payload, &claims)
			keys := make([]string, 0, len(claims))
			for k := range claims {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			name := "<jwt>"
			if n, ok := s.names[x]; ok {
				name = n
			}
			return map[string]any{"jwt": name, "header": string(hdr), "claims": s.normalize(claims), "exp-iat": claims["exp"].(float64) - claims["iat"].(float64)}
		}
		if isoTime.MatchString(x) {
			return "<time>"
		}
		x = strings.ReplaceAll(x, s.base, "<base>")
		// Longest values first, so a token is not half-replaced by a
		// shorter value inside it.
		vals := make([]string, 0, len(s.names))
		for k := range s.names {
			vals = append(vals, k)
		}
		sort.Slice(vals, func(i, j int) bool { return len(vals[i]) > len(vals[j]) })
		for _, k := range vals {
			if len(k) < 8 {
				continue
			}
			x = strings.ReplaceAll(x, k, s.names[k])
			x = strings.ReplaceAll(x, url.QueryEscape(k), s.names[k])
		}
		return x
	}
	return v
}

func sqlite(t *testing.T, db, query string) string {
	t.Helper()
	out, err := exec.Command("sqlite3", "-cmd", ".timeout 5000", db, query).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3 %s: %v\n%s", db, err, out)
	}
	return string(out)
}
