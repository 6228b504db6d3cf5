package authtest

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

func TestIssuerTokensVerify(t *testing.T) {
	gh := NewGitHubOIDC(t)
	v := newJWKSVerifier(gh.Issuer)
	tok, err := gh.Sign(gh.Claims("aud-1"))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.verify(tok, time.Now())
	if err != nil {
		t.Fatalf("verify(valid token) error = %v", err)
	}
	if claims["sub"] != "repo:octo-org/octo-repo:environment:production" || !hasAudience(claims, "aud-1") {
		t.Errorf("verify() claims sub, aud = %v, %v", claims["sub"], claims["aud"])
	}
	parts := strings.Split(tok, ".")
	other, err := gh.Sign(map[string]any{"iss": gh.Issuer, "sub": "attacker", "exp": time.Now().Add(time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	tampered := parts[0] + "." + strings.Split(other, ".")[1] + "." + parts[2]
	gh.SetLifetime(-time.Minute)
	expired, err := gh.Sign(gh.Claims("aud-1"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, tok, want string
	}{
		{"tampered payload", tampered, "signature does not verify"},
		{"expired", expired, "token expired"},
		{"not a JWT", "opaque", "not a JWS"},
	}
	for _, tc := range tests {
		if _, err := v.verify(tc.tok, time.Now()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("verify(%s) error = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestVerifySubject(t *testing.T) {
	gh := NewGitHubOIDC(t)
	v := newJWKSVerifier(gh.Issuer)
	tok, err := gh.Sign(gh.Claims("aud-1"))
	if err != nil {
		t.Fatal(err)
	}
	const sub = "repo:octo-org/octo-repo:environment:production"
	tests := []struct {
		name, tok, audience, subject string
		wantErr                      error // errWrongAudience, errWrongSubject or nil
		wantInvalid                  bool  // any other error: the token itself failed
		wantClaims                   bool
	}{
		{name: "no policy", tok: tok, wantClaims: true},
		{name: "matching policy", tok: tok, audience: "aud-1", subject: sub, wantClaims: true},
		{name: "wrong audience", tok: tok, audience: "aud-2", subject: sub, wantErr: errWrongAudience, wantClaims: true},
		{name: "wrong subject", tok: tok, audience: "aud-1", subject: "repo:other/repo:ref:refs/heads/main", wantErr: errWrongSubject, wantClaims: true},
		{name: "invalid token", tok: "opaque", audience: "aud-1", subject: sub, wantInvalid: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims, err := verifySubject(v, tc.tok, tc.audience, tc.subject)
			if tc.wantInvalid {
				if err == nil || errors.Is(err, errWrongAudience) || errors.Is(err, errWrongSubject) {
					t.Errorf("verifySubject(%s) error = %v, want a verification error", tc.name, err)
				}
			} else if !errors.Is(err, tc.wantErr) {
				t.Errorf("verifySubject(%s) error = %v, want %v", tc.name, err, tc.wantErr)
			}
			if got := claims["sub"] == sub; got != tc.wantClaims {
				t.Errorf("verifySubject(%s) returned claims = %v, want %v", tc.name, got, tc.wantClaims)
			}
		})
	}
}

func TestLogRedactsSecrets(t *testing.T) {
	gh := NewGitHubOIDC(t)
	sts := NewSTS(t, gh.Issuer, STSOptions{})
	tok, err := gh.Sign(gh.Claims(sts.URL))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.PostForm(sts.TokenURL, url.Values{"grant_type": {oauthwire.GrantTypeTokenExchange},
		"subject_token": {tok}, "subject_token_type": {oauthwire.TokenTypeJWT}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange status = %d, want 200", resp.StatusCode)
	}
	reqs := sts.Log.Requests()
	if len(reqs) != 1 || reqs[0].Form.Get("subject_token") != Redacted || reqs[0].Status != http.StatusOK {
		t.Fatalf("log = %+v, want one redacted 200 request", reqs)
	}
	if _, ok := sts.Lookup(sts.Issued()[0]); !ok {
		t.Errorf("Lookup(issued token) = false, want true")
	}
}

func TestFaultQueue(t *testing.T) {
	gh := NewGitHubOIDC(t)
	gh.Fail(2, Fault503("7"))
	var got []string
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, gh.RequestURL+"&audience=x", nil)
		req.Header.Set("Authorization", "Bearer "+gh.RequestToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got = append(got, resp.Status[:3]+"/"+resp.Header.Get("Retry-After"))
	}
	if strings.Join(got, " ") != "503/7 503/7 200/" {
		t.Errorf("responses = %q, want two scripted 503s then 200", got)
	}
}

func TestRotateKeyAndSetClaim(t *testing.T) {
	gh := NewGitHubOIDC(t)
	old := gh.KeyID()
	kids := func() []string {
		resp, err := http.Get(gh.Issuer + JWKSPath)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []struct{ Kid string } }
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			out = append(out, k.Kid)
		}
		return out
	}
	if err := gh.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	if got := kids(); len(got) != 2 || got[0] != gh.KeyID() || got[1] != old || old == gh.KeyID() {
		t.Errorf("JWKS after RotateKey(true) = %v, want [new %s, old %s]", got, gh.KeyID(), old)
	}
	if err := gh.RotateKey(false); err != nil {
		t.Fatal(err)
	}
	if got := kids(); len(got) != 1 || got[0] != gh.KeyID() {
		t.Errorf("JWKS after RotateKey(false) = %v, want only %s", got, gh.KeyID())
	}
	gh.SetClaim("event_name", "pull_request_target")
	gh.SetClaim("environment", nil)
	c := gh.Claims("x")
	if _, ok := c["environment"]; ok || c["event_name"] != "pull_request_target" {
		t.Errorf("claims after SetClaim = event_name %v, environment present %v", c["event_name"], ok)
	}
}
