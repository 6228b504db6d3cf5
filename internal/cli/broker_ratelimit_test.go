package cli

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/brokerstate/brokerstatetest"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// TestBrokerRateFlagsSameWithRedis: --rate and --burst mean the same with
// --redis-url as without: --rate 0 is the default rate (only a negative
// rate is unlimited) and --burst 0 the default burst of 10. The shared
// store once took both raw, so --rate 0 with Redis disabled the limit.
func TestBrokerRateFlagsSameWithRedis(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	cp := devservertest.New(t)
	redis := brokerstatetest.Start(t)
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yml")
	if err := os.WriteFile(policy, []byte("version: 1\nrules:\n  - name: deploy\n    match: {repository_owner_id: \"65432\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		flags   []string
		granted int // exchanges granted at once before a 429
	}{
		{"rate 0", []string{"--rate", "0", "--burst", "1"}, 1},
		{"burst 0", []string{"--rate", "60", "--burst", "0"}, 10},
	} {
		for _, store := range []string{"memory", "redis"} {
			t.Run(tc.name+" "+store, func(t *testing.T) {
				env := map[string]string{EnvBrokerToken: cp.Token}
				if store == "redis" {
					env["TAKOS_BROKER_REDIS_URL"] = redis.URL
				}
				addr := filepath.Join(t.TempDir(), "addr")
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan int, 1)
				go func() {
					code, _, _ := runCtx(ctx, env, append([]string{"broker", "--policy", policy, "--control-plane", cp.URL, "--issuer", gh.Issuer,
						"--listen", "127.0.0.1:0", "--addr-file", addr, "--audit-log", filepath.Join(t.TempDir(), "audit.log")}, tc.flags...)...)
					done <- code
				}()
				defer func() {
					cancel()
					if code := <-done; code != ExitOK {
						t.Errorf("broker exit = %d", code)
					}
				}()
				var b []byte
				waitFor(t, func() bool { b, _ = os.ReadFile(addr); return len(b) > 0 })
				brokerURL := "http://" + strings.TrimSpace(string(b))
				// One repository per run: the Redis is shared by the runs.
				repoID := map[string]string{"rate 0 memory": "101", "rate 0 redis": "102", "burst 0 memory": "103", "burst 0 redis": "104"}[tc.name+" "+store]
				for i := range tc.granted + 1 {
					c := gh.Claims(brokerURL)
					c["repository_id"] = repoID
					tok, err := gh.Sign(c)
					if err != nil {
						t.Fatal(err)
					}
					resp, err := http.PostForm(brokerURL+"/token", url.Values{
						"grant_type": {oauthwire.GrantTypeTokenExchange}, "subject_token": {tok},
						"subject_token_type": {oauthwire.TokenTypeJWT}, "requested_token_type": {oauthwire.TokenTypeAccessToken},
					})
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					want := http.StatusOK
					if i == tc.granted {
						want = http.StatusTooManyRequests
					}
					if resp.StatusCode != want {
						t.Fatalf("exchange %d = HTTP %d, want %d (%d granted at once, then 429)", i+1, resp.StatusCode, want, tc.granted)
					}
				}
			})
		}
	}
}
