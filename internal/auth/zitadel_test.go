package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// zitadelStorage is the minimum op.Storage that lets zitadel/oidc's OP
// perform RFC 8693 token exchange of a third-party JWT. The embedded nil
// interfaces make any other storage call panic, which would expose a flow
// we did not expect. The token exchange is public (no client credentials),
// as federation endpoints such as Google's STS are: the subject token is
// the credential, so the storage accepts the empty client_id.
type zitadelStorage struct {
	op.Storage
	jwks     jose.JSONWebKeySet
	issuer   string
	audience string // required aud of the GitHub token
	subject  string // trust policy: exact sub
	target   string // required RFC 8693 audience

	mu     sync.Mutex
	issued []string
}

type zitadelClient struct{ op.Client }

func (zitadelClient) GetID() string                       { return "" }
func (zitadelClient) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (zitadelClient) ClockSkew() time.Duration            { return 0 }

func (s *zitadelStorage) Health(context.Context) error { return nil }

func (s *zitadelStorage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != "" || secret != "" {
		return errors.New("unknown client")
	}
	return nil
}

func (s *zitadelStorage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != "" {
		return nil, errors.New("unknown client")
	}
	return zitadelClient{}, nil
}

// VerifyExchangeSubjectToken verifies the GitHub JWT with go-jose against
// the issuer's JWKS: a verifier we did not write.
func (s *zitadelStorage) VerifyExchangeSubjectToken(_ context.Context, token string, tt oidc.TokenType) (string, string, map[string]any, error) {
	if tt != oidc.JWTTokenType {
		return "", "", nil, fmt.Errorf("subject token type %s not accepted", tt)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return "", "", nil, err
	}
	keys := s.jwks.Key(jws.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return "", "", nil, errors.New("unknown key")
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		return "", "", nil, err
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", "", nil, err
	}
	if c["iss"] != s.issuer || c["aud"] != s.audience || c["sub"] != s.subject {
		return "", "", nil, errors.New("trust policy mismatch")
	}
	if exp, _ := c["exp"].(float64); time.Now().Unix() >= int64(exp) {
		return "", "", nil, errors.New("expired")
	}
	return c["jti"].(string), c["sub"].(string), c, nil
}

func (s *zitadelStorage) VerifyExchangeActorToken(context.Context, string, oidc.TokenType) (string, string, map[string]any, error) {
	return "", "", nil, errors.New("no actor tokens")
}

func (s *zitadelStorage) ValidateTokenExchangeRequest(_ context.Context, r op.TokenExchangeRequest) error {
	if !slices.Contains(r.GetAudience(), s.target) {
		return oidc.ErrInvalidTarget().WithDescription("audience not served")
	}
	if r.GetRequestedTokenType() != oidc.AccessTokenType {
		return oidc.ErrInvalidRequest().WithDescription("only access tokens")
	}
	return nil
}

func (s *zitadelStorage) CreateTokenExchangeRequest(context.Context, op.TokenExchangeRequest) error {
	return nil
}

func (s *zitadelStorage) GetPrivateClaimsFromTokenExchangeRequest(context.Context, op.TokenExchangeRequest) (map[string]any, error) {
	return nil, nil
}

func (s *zitadelStorage) SetUserinfoFromTokenExchangeRequest(context.Context, *oidc.UserInfo, op.TokenExchangeRequest) error {
	return nil
}

func (s *zitadelStorage) CreateAccessToken(_ context.Context, r op.TokenRequest) (string, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("te-%d", len(s.issued)+1)
	s.issued = append(s.issued, id)
	return id, time.Now().Add(30 * time.Minute), nil
}

func TestZitadelInterop(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	resp, err := http.Get(gh.Issuer + authtest.JWKSPath)
	if err != nil {
		t.Fatal(err)
	}
	var jwks jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&jwks)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("decoding the fake issuer's JWKS with go-jose: %v", err)
	}

	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	store := &zitadelStorage{jwks: jwks, issuer: gh.Issuer, audience: issuer,
		subject: "repo:octo-org/octo-repo:environment:production", target: issuer}
	provider, err := op.NewProvider(&op.Config{CryptoKey: [32]byte{1, 2, 3}}, store, op.StaticIssuer(issuer), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = provider
	srv.Start()
	defer srv.Close()

	tests := []struct {
		name    string
		subject string
		target  string
		wantErr []string
	}{
		{name: "exchange succeeds", subject: store.subject, target: issuer},
		{name: "trust policy mismatch", subject: "repo:octo-org/octo-repo:ref:refs/heads/main", target: issuer,
			wantErr: []string{"HTTP 400 invalid_request: subject_token is invalid", "trust policy does not match", "sub=repo:octo-org/octo-repo:environment:production"}},
		{name: "audience refused", subject: store.subject, target: "https://other.example",
			wantErr: []string{"HTTP 400 invalid_target: audience not served", "does not accept the audience"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store.subject, store.target = tc.subject, tc.target
			sink := &maskSink{}
			res, err := Resolve(context.Background(), Config{
				ControlPlaneURL: issuer,
				TokenURL:        issuer + "/oauth/token", // zitadel serves OpenID discovery, not RFC 8414
				Getenv:          env(gh.Env()).get,
				HTTP:            testHTTP(5 * time.Second),
				Mask:            sink.mask,
			})
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			tok, err := res.Source.Token()
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Token() succeeded, want an error")
				}
				mustContain(t, "Token() error", err.Error(), tc.wantErr...)
				return
			}
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if tok.AccessToken == "" || tok.Type() != "Bearer" {
				t.Fatalf("Token() = %q type, empty=%v; want a Bearer token", tok.Type(), tok.AccessToken == "")
			}
			if got := tok.Extra("issued_token_type"); got != oauthwire.TokenTypeAccessToken {
				t.Errorf("issued_token_type = %v, want %s", got, oauthwire.TokenTypeAccessToken)
			}
			if d := time.Until(tok.Expiry); d < 25*time.Minute || d > 31*time.Minute {
				t.Errorf("Token().Expiry in %v, want about 30m (zitadel's expires_in)", d)
			}
			if !sink.has(tok.AccessToken) {
				t.Errorf("the access token was not passed to Mask")
			}
			store.mu.Lock()
			n := len(store.issued)
			store.mu.Unlock()
			if n != 1 {
				t.Errorf("zitadel issued %d tokens, want 1", n)
			}
		})
	}
}
