package devserver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

func TestTokenFaults(t *testing.T) {
	s, cfg := oauthServer(t)
	tok, _ := exchange(t, cfg)
	refresh := func() (*oauth2.Token, error) {
		return cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	}
	// A fault for another grant type waits; one for refresh answers the
	// next refresh and consumes nothing.
	if err := s.InjectTokenFault(TokenFault{GrantType: "authorization_code", Error: "invalid_client"}); err != nil {
		t.Fatal(err)
	}
	if err := s.InjectTokenFault(TokenFault{GrantType: "refresh_token", Error: "invalid_grant", Times: 2}); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		_, err := refresh()
		if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Invalid refresh token" || re.Response.StatusCode != 400 {
			t.Errorf("refresh %d: %d %s %q", i, re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
		}
	}
	fresh, err := refresh()
	if err != nil {
		t.Fatalf("the refresh token was consumed by a fault: %v", err)
	}
	tok = fresh
	_, err = cfg.Exchange(context.Background(), "x", oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if re := retrieveError(t, err); re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 || re.ErrorDescription != "Invalid client secret" {
		t.Errorf("code fault: %d %s %q", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
	}
	// server_error and rate_limited take the real server's shapes.
	s.InjectTokenFault(TokenFault{Error: "server_error"})
	s.InjectTokenFault(TokenFault{Error: "rate_limited", Description: "slow down"})
	_, err = refresh()
	if re := retrieveError(t, err); re.Response.StatusCode != 500 || !strings.Contains(string(re.Body), `"code":"INTERNAL_ERROR"`) {
		t.Errorf("server_error: %d %s", re.Response.StatusCode, re.Body)
	}
	_, err = refresh()
	if re := retrieveError(t, err); re.Response.StatusCode != 429 || re.Response.Header.Get("Retry-After") != "60" || string(re.Body) != `{"error":"slow down","retryAfter":60}` {
		t.Errorf("rate_limited: %d %s", re.Response.StatusCode, re.Body)
	}
	if err := s.InjectTokenFault(TokenFault{Error: "bogus"}); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("unknown error: %v", err)
	}

	// Expire the next access token: the reply looks normal, the first use
	// is refused, and a refresh gets a working one.
	s.ExpireNextTokens(1, 0)
	expiredTok, err := refresh()
	if err != nil {
		t.Fatal(err)
	}
	if e := expiredTok.Extra("expires_in"); e != float64(3600) {
		t.Errorf("expires_in = %v", e)
	}
	if status, got := userinfo(t, s, expiredTok.AccessToken); status != 401 || got["error_description"] != "Token verification failed" {
		t.Errorf("expired access token: %d %v", status, got)
	}
	tok = expiredTok
	next, err := refresh()
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := userinfo(t, s, next.AccessToken); status != 200 {
		t.Errorf("after refresh: %d", status)
	}
	// Expire the tokens already issued.
	if n := s.ExpireAccessTokens(cfg.ClientID); n == 0 {
		t.Error("ExpireAccessTokens expired nothing")
	}
	if status, got := userinfo(t, s, next.AccessToken); status != 401 || got["error_description"] != "Token has been revoked" {
		t.Errorf("after ExpireAccessTokens: %d %v", status, got)
	}
	// And the next refresh token.
	tok = next
	s.ExpireNextTokens(0, 1)
	short, err := refresh()
	if err != nil {
		t.Fatal(err)
	}
	tok = short
	_, err = refresh()
	if re := retrieveError(t, err); re.ErrorDescription != "Refresh token expired" {
		t.Errorf("expired refresh token: %q", re.ErrorDescription)
	}
}

func TestAdminEndpoints(t *testing.T) {
	s, cfg := oauthServer(t, WithAdminToken("admin-secret"))
	admin := func(method, path, token, body string) (int, map[string]any) {
		status, _, got := call(t, s, method, path, token, body)
		return status, got
	}
	for _, tok := range []string{"", s.Token, "wrong"} {
		if status, _ := admin("POST", "/_dev/token-faults", tok, `{"error":"invalid_grant"}`); status != 401 {
			t.Errorf("token %q: %d, want 401", tok, status)
		}
	}
	if status, got := admin("POST", "/_dev/token-faults", "admin-secret", `{"error":"invalid_grant","grant_type":"refresh_token","times":2}`); status != 200 {
		t.Fatalf("queue: %d %v", status, got)
	}
	if status, got := admin("POST", "/_dev/token-faults", "admin-secret", `{"error":"nope"}`); status != 400 || !strings.Contains(got["error"].(string), "unknown error") {
		t.Errorf("bad error: %d %v", status, got)
	}
	if status, got := admin("POST", "/_dev/token-faults", "admin-secret", `{"eror":"invalid_grant"}`); status != 400 || !strings.Contains(got["error"].(string), "unknown field") {
		t.Errorf("misspelt field: %d %v", status, got)
	}
	if status, _ := admin("POST", "/_dev/expire-next-token", "admin-secret", ``); status != 200 {
		t.Errorf("expire-next-token: %d", status)
	}
	status, got := admin("GET", "/_dev/faults", "admin-secret", "")
	want := map[string]any{"token_faults": []any{map[string]any{"grant_type": "refresh_token", "error": "invalid_grant", "times": float64(2)}},
		"expire_next": map[string]any{"access": float64(1), "refresh": float64(0)}}
	if diff := cmp.Diff(want, got); status != 200 || diff != "" {
		t.Errorf("faults (-want +got):\n%s", diff)
	}
	tok, _ := exchange(t, cfg)
	if status, _ := userinfo(t, s, tok.AccessToken); status != 401 {
		t.Error("expire-next-token did not apply")
	}
	if status, got := admin("POST", "/_dev/expire-tokens", "admin-secret", `{"client_id":"`+cfg.ClientID+`"}`); status != 200 || got["expired"] != float64(0) {
		t.Errorf("expire-tokens: %d %v (the only token had expired already)", status, got)
	}
	if status, _ := admin("DELETE", "/_dev/faults", "admin-secret", ""); status != 200 {
		t.Error("clear")
	}
	if _, got := admin("GET", "/_dev/faults", "admin-secret", ""); len(got["token_faults"].([]any)) != 0 {
		t.Errorf("after clear: %v", got)
	}
	if status, _ := admin("GET", "/_dev/nothing", "admin-secret", ""); status != 404 {
		t.Errorf("unknown admin route: %d", status)
	}
}

func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	s1, err := Start(WithStateFile(path), WithAutoApprove(), WithSelfIssuer(), WithToken("tak_pat_first"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := newOAuthClient(t, s1, `{"client_name":"App","redirect_uris":["`+testRedirect+`"],"scope":"openid profile files:read"}`)
	tok, _ := exchange(t, cfg)
	secret, _ := s1.SecretOf(cfg.ClientID)
	s1.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	data, _ := os.ReadFile(path)
	for _, v := range []string{tok.AccessToken, tok.RefreshToken} {
		if strings.Contains(string(data), v) {
			t.Error("the state file holds a token in clear; the server keeps only hashes")
		}
	}
	// The next run: same bearer (the file's wins over the option), same
	// clients, secret, key and tokens.
	s2, err := Start(WithStateFile(path), WithAutoApprove(), WithSelfIssuer(), WithToken("tak_pat_second"), WithClock(time.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if s2.Token != "tak_pat_first" {
		t.Errorf("Token = %q", s2.Token)
	}
	if got, ok := s2.SecretOf(cfg.ClientID); !ok || got != secret || !s2.SecretMatches(cfg.ClientID, secret) {
		t.Error("the client's secret did not survive the restart")
	}
	// The URL changed (a new port), and so did the issuer: the old access
	// token no longer verifies; the refresh token still works.
	cfg2 := *cfg
	cfg2.Endpoint.TokenURL = s2.URL + "/oauth/token"
	fresh, err := cfg2.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh after restart: %v", err)
	}
	if status, _ := userinfo(t, s2, fresh.AccessToken); status != 200 {
		t.Errorf("userinfo after restart: %d", status)
	}

	// A state file others can read, or a symlink, is refused.
	os.Chmod(path, 0o644)
	if _, err := Start(WithStateFile(path)); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable state: %v", err)
	}
	os.Chmod(path, 0o600)
	link := filepath.Join(dir, "link.json")
	os.Symlink(path, link)
	if _, err := Start(WithStateFile(link)); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Errorf("symlinked state: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"version":99}`), 0o600)
	if _, err := Start(WithStateFile(filepath.Join(dir, "bad.json"))); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("unknown version: %v", err)
	}
}

// TestListenLoopbackOnly: the server accepts a printed token, so it never
// listens where another host can reach it.
func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0"} {
		if s, err := Listen(addr); err == nil {
			s.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		} else if !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("Listen(%q): %v", addr, err)
		}
	}
	s, err := Listen("localhost:0")
	if err != nil {
		t.Fatalf("Listen(localhost:0): %v", err)
	}
	s.Close()
}

// TestAdminDeploy: POST /_dev/deploy runs a group apply as takos apply
// would, so the rollout of autoEnv can be tried against takos-apply dev:
// the first deploy snapshots the linked space values, the same spec is
// skipped (the running deployment keeps its old values), a changed spec
// deploys again with the current ones.
func TestAdminDeploy(t *testing.T) {
	s := newTest(t, WithAdminToken("tak_dev_admin"))
	user := map[string]string{"Authorization": "Bearer " + s.Token, "Content-Type": "application/json"}
	admin := map[string]string{"Authorization": "Bearer tak_dev_admin"}
	raw(t, s, "GET", "/api/spaces/me", user, "")
	raw(t, s, "PUT", "/api/spaces/me/common-env", user, `{"name":"OAUTH_CLIENT_ID","value":"id-1"}`)
	_, _, g := raw(t, s, "POST", "/api/spaces/me/groups", user, `{"name":"hello"}`)
	_, _, svc := raw(t, s, "POST", "/api/services", user, `{"group_id":"`+g["id"].(string)+`","slug":"web-x","config":"{\"managedBy\":\"group\",\"manifestName\":\"web\",\"componentKind\":\"worker\"}"}`)
	id := svc["service"].(map[string]any)["id"].(string)
	raw(t, s, "PATCH", "/api/services/"+id+"/common-env-links", user, `{"add":["OAUTH_CLIENT_ID"]}`)

	deploy := func(body string) (int, map[string]any) {
		t.Helper()
		st, _, got := raw(t, s, "POST", "/_dev/deploy", admin, body)
		return st, got
	}
	action := func(got map[string]any) string {
		w, _ := got["workloads"].([]any)
		if len(w) != 1 {
			t.Fatalf("workloads = %v, want web alone", got)
		}
		return w[0].(map[string]any)["action"].(string) + " " + w[0].(map[string]any)["service_id"].(string)
	}
	running := func() string {
		var v string
		for _, d := range s.Deployments(id) {
			if d.RoutingStatus == "active" {
				for _, b := range d.Bindings {
					if b.Name == "OAUTH_CLIENT_ID" {
						v = b.Text
					}
				}
			}
		}
		return v
	}
	if st, got := deploy(`{"group":"hello","workers":{"web":"v1"}}`); st != 200 || action(got) != "deployed "+id || running() != "id-1" {
		t.Fatalf("first deploy = %d %v, running %q; want the pre-created service adopted and deployed with id-1", st, got, running())
	}
	raw(t, s, "PUT", "/api/spaces/me/common-env", user, `{"name":"OAUTH_CLIENT_ID","value":"id-2"}`)
	if st, got := deploy(`{"group":"hello","workers":{"web":"v1"}}`); st != 200 || action(got) != "skipped "+id || running() != "id-1" {
		t.Errorf("same spec = %d %v, running %q; want skipped, still id-1", st, got, running())
	}
	if st, got := deploy(`{"group":"hello","workers":{"web":"v2"}}`); st != 200 || action(got) != "deployed "+id || running() != "id-2" {
		t.Errorf("changed spec = %d %v, running %q; want deployed with id-2", st, got, running())
	}
	for _, tc := range []struct {
		header map[string]string
		body   string
		status int
		want   string
	}{
		{user, `{"group":"hello","workers":{"web":"v3"}}`, 401, "admin token"},
		{admin, `{"workers":{"web":"v3"}}`, 400, "group is required"},
		{admin, `{"group":"hello"}`, 400, `"workers":{"web":"v1"}`},
		{admin, `{"group":"hello","worker":{"web":"v3"}}`, 400, "unknown field"},
		{admin, `{"space":"nope","group":"hello","workers":{"web":"v3"}}`, 404, "no space nope"},
	} {
		st, _, got := raw(t, s, "POST", "/_dev/deploy", tc.header, tc.body)
		if st != tc.status || !strings.Contains(fmt.Sprint(got["error"]), tc.want) {
			t.Errorf("%s = %d %v, want %d and %q", tc.body, st, got, tc.status, tc.want)
		}
	}
	if running() != "id-2" {
		t.Errorf("a refused deploy changed the running deployment: %q", running())
	}
}
