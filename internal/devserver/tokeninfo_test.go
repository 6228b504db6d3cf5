package devserver

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestUserinfoClaimsFollowScopes(t *testing.T) {
	alice := User{ID: "acct_alice", Name: "Alice", Email: "alice@example.com", Picture: "https://img.example/a.png"}
	s, cfg := oauthServer(t, WithLoginUser(alice))
	tests := []struct {
		scopes []string
		want   map[string]any
	}{
		{[]string{"files:read"}, map[string]any{"sub": "acct_alice", "user": map[string]any{"id": "acct_alice"}}},
		{[]string{"openid", "email"}, map[string]any{"sub": "acct_alice", "user": map[string]any{"id": "acct_alice", "email": "alice@example.com"},
			"email": "alice@example.com", "email_verified": true}},
		{[]string{"profile"}, map[string]any{"sub": "acct_alice", "user": map[string]any{"id": "acct_alice", "name": "Alice", "picture": "https://img.example/a.png"},
			"name": "Alice", "picture": "https://img.example/a.png"}},
	}
	for _, tc := range tests {
		c := *cfg
		c.Scopes = tc.scopes
		tok, _ := exchange(t, &c)
		status, got := userinfo(t, s, tok.AccessToken)
		if diff := cmp.Diff(tc.want, got); status != 200 || diff != "" {
			t.Errorf("scopes %v: %d (-want +got):\n%s", tc.scopes, status, diff)
		}
	}
	for _, tc := range []struct{ header, desc string }{
		{"", "Missing or invalid Authorization header"},
		{"bearer x", "Missing or invalid Authorization header"},
		{"Bearer x.y.z", "Token verification failed"},
	} {
		req, _ := http.NewRequest("GET", s.URL+"/oauth/userinfo", nil)
		if tc.header != "" {
			req.Header.Set("Authorization", tc.header)
		}
		status, _, got := do(t, req)
		if want := map[string]any{"error": "invalid_token", "error_description": tc.desc}; status != 401 || !cmp.Equal(got, want) {
			t.Errorf("%q: %d %v", tc.header, status, got)
		}
	}
}

func TestIntrospectAndRevoke(t *testing.T) {
	s, cfg := oauthServer(t)
	other := newOAuthClient(t, s, `{"client_name":"Other","redirect_uris":["`+testRedirect+`"],"scope":"openid"}`)
	tok, _ := exchange(t, cfg)
	introspect := func(c *oauth2.Config, token string) map[string]any {
		_, _, got := form(t, s, "/oauth/introspect", url.Values{"token": {token}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}})
		return got
	}
	got := introspect(cfg, tok.AccessToken)
	if got["active"] != true || got["token_type"] != "Bearer" || got["aud"] != cfg.ClientID || got["iss"] != s.URL || got["sub"] != DefaultOwner {
		t.Errorf("introspect access = %v", got)
	}
	got = introspect(cfg, tok.RefreshToken)
	if got["active"] != true || got["token_type"] != "refresh_token" || got["sub"] != DefaultOwner || got["iat"] != nil {
		t.Errorf("introspect refresh = %v", got)
	}
	for _, token := range []string{tok.AccessToken, tok.RefreshToken, "junk"} {
		if got := introspect(other, token); !cmp.Equal(got, map[string]any{"active": false}) {
			t.Errorf("another client introspecting = %v", got)
		}
	}
	if status, _, got := form(t, s, "/oauth/introspect", url.Values{"token": {"x"}, "client_id": {cfg.ClientID}}); status != 401 || got["error"] != "invalid_client" {
		t.Errorf("introspect without the secret = %d %v", status, got)
	}
	if status, _, got := raw(t, s, "POST", "/oauth/introspect", map[string]string{"Content-Type": "application/json"}, `{"token":"x","client_id":"`+cfg.ClientID+`"}`); status != 400 || got["error_description"] != "Missing required parameters" {
		t.Errorf("introspect with JSON = %d %v (JSON reads as no fields)", status, got)
	}

	revoke := func(c *oauth2.Config, token, hint string) int {
		v := url.Values{"token": {token}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}
		if hint != "" {
			v.Set("token_type_hint", hint)
		}
		status, h, body := form(t, s, "/oauth/revoke", v)
		if body != nil || h.Get("Content-Length") != "0" {
			t.Errorf("revoke replied with a body %v", body)
		}
		return status
	}
	// Another client's revocation is answered 200 and does nothing.
	if st := revoke(other, tok.RefreshToken, ""); st != 200 || introspect(cfg, tok.RefreshToken)["active"] != true {
		t.Errorf("a foreign revoke = %d and revoked the token", st)
	}
	// An access token cannot be revoked: the server looks it up by the hash
	// of the whole JWT, but stores the hash of its jti.
	if st := revoke(cfg, tok.AccessToken, "access_token"); st != 200 {
		t.Errorf("revoke access = %d", st)
	}
	if status, _ := userinfo(t, s, tok.AccessToken); status != 200 {
		t.Errorf("a revoked access token should still work (the real server's quirk): %d", status)
	}
	// A refresh token is revoked; its access token stays valid.
	if st := revoke(cfg, tok.RefreshToken, ""); st != 200 || introspect(cfg, tok.RefreshToken)["active"] != false {
		t.Errorf("revoke refresh = %d", st)
	}
	if status, _ := userinfo(t, s, tok.AccessToken); status != 200 {
		t.Errorf("the access token of a revoked refresh token = %d", status)
	}
	_, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" {
		t.Errorf("refresh with a revoked token: %v", re)
	}
}

func TestJWKS(t *testing.T) {
	s := newTest(t, WithSigningKey(testKey()))
	status, _, got := call(t, s, "GET", "/.well-known/jwks.json", "", "")
	if want := errEnvelope("INTERNAL_ERROR", "Failed to generate JWKS"); status != 500 || !cmp.Equal(got, want) {
		t.Errorf("JWKS = %d %v, want the real server's 500", status, got)
	}
	s = newTest(t, WithSigningKey(testKey()), WithJWKS())
	status, h, got := call(t, s, "GET", "/.well-known/jwks.json", "", "")
	if status != 200 || h.Get("Cache-Control") != "public, max-age=86400" {
		t.Fatalf("WithJWKS: %d %v", status, h)
	}
	k := got["keys"].([]any)[0].(map[string]any)
	n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
	e, _ := base64.RawURLEncoding.DecodeString(k["e"].(string))
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	if !pub.Equal(s.PublicKey()) || k["kid"] != "takos-oauth-1" || k["alg"] != "RS256" || k["use"] != "sig" || k["kty"] != "RSA" {
		t.Errorf("key %v", k)
	}
}
