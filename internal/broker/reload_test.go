package broker

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestReloadPolicy: a valid policy takes effect for the next request,
// including for access tokens already issued (judged by the rule of their
// name in the new policy); a broken one is refused with its findings
// logged, and the policy in force stays.
func TestReloadPolicy(t *testing.T) {
	f := newFixture(t, testPolicy)
	tok := f.exchange(nil)
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Fatalf("list = %d %s", a.status, a.raw)
	}

	broken := "version: 1\nrules:\n  - name: deploy-main\n    match:\n      repo: octo-org/octo-repo\n"
	err := f.srv.ReloadPolicy(func() ([]byte, error) { return []byte(broken), nil })
	if err == nil {
		t.Fatal("ReloadPolicy(broken) = nil, want an error")
	}
	refused := lastLine(t, f.audit, "policy reload refused; the policy in force stays")
	if findings, _ := refused["findings"].([]any); len(findings) == 0 || !strings.HasPrefix(findings[0].(string), "policy.yml:5:7: error:") {
		t.Errorf("refusal findings = %v, want file:line:col findings", refused["findings"])
	}
	if f.srv.Policy().Rule("deploy-main") == nil {
		t.Fatal("the broken policy replaced the one in force")
	}
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Errorf("after a refused reload, list = %d %s, want the old policy to stand", a.status, a.raw)
	}
	f.exchange(nil)

	if err := f.srv.ReloadPolicy(func() ([]byte, error) { return nil, errors.New("permission denied") }); err == nil {
		t.Error("ReloadPolicy with an unreadable file = nil")
	}

	renamed := strings.Replace(testPolicy, "name: deploy-main", "name: deploy-main-v2", 1)
	if err := f.srv.ReloadPolicy(func() ([]byte, error) { return []byte(renamed), nil }); err != nil {
		t.Fatalf("ReloadPolicy(valid) = %v", err)
	}
	if l := lastLine(t, f.audit, "policy reloaded"); l["rules"] != float64(1) {
		t.Errorf("reload line = %v", l)
	}
	a := f.api(tok, "GET", "/api/me/oauth/clients", "")
	if a.status != 401 || !strings.Contains(a.raw, "no longer in the trust policy") {
		t.Errorf("a token of a rule the new policy dropped: %d %s, want 401", a.status, a.raw)
	}
	if a := f.post(exchangeForm(f.token(nil))); a.status != 200 || !strings.Contains(f.audit.String(), `"rule":"deploy-main-v2"`) {
		t.Errorf("exchange after the reload = %d %s, want a grant by deploy-main-v2", a.status, a.raw)
	}
}

// TestReloadPolicyUnderLoad: reloads between two policies while exchanges
// and gateway requests run never fail a request that either policy
// allows (-race checks the swap).
func TestReloadPolicyUnderLoad(t *testing.T) {
	f := newFixture(t, testPolicy, func(c *Config) { c.RatePerMinute = -1 })
	tok := f.exchange(nil)
	alt := strings.Replace(testPolicy, "ttl: 5m", "ttl: 6m", 1)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			src := testPolicy
			if i%2 == 1 {
				src = alt
			}
			if err := f.srv.ReloadPolicy(func() ([]byte, error) { return []byte(src), nil }); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 20 {
		if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
			t.Errorf("list during reloads = %d %s", a.status, a.raw)
		}
		if a := f.post(exchangeForm(f.token(nil))); a.status != 200 {
			t.Errorf("exchange during reloads = %d %s", a.status, a.raw)
		}
	}
	close(stop)
	wg.Wait()
}

// lastLine returns the last audit line with message msg.
func lastLine(t *testing.T, audit *syncBuffer, msg string) map[string]any {
	t.Helper()
	var last map[string]any
	for _, l := range audit.lines(t) {
		if l["msg"] == msg {
			last = l
		}
	}
	if last == nil {
		t.Fatalf("no audit line %q in:\n%s", msg, audit.String())
	}
	return last
}

// TestReloadShortensTTL: a reload that shortens a rule's ttl applies to the
// tokens it granted, counted from their issue: one older than the new ttl
// is refused, a fresh one lives the new ttl.
func TestReloadShortensTTL(t *testing.T) {
	f := newFixture(t, testPolicy)
	tok := f.exchange(nil)
	f.clock.Add(3 * time.Minute)
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Fatalf("a 3-minute-old token of a 5m rule = %d %s", a.status, a.raw)
	}
	short := strings.Replace(testPolicy, "ttl: 5m", "ttl: 2m", 1)
	if err := f.srv.ReloadPolicy(func() ([]byte, error) { return []byte(short), nil }); err != nil {
		t.Fatal(err)
	}
	a := f.api(tok, "GET", "/api/me/oauth/clients", "")
	if a.status != 401 || !strings.Contains(a.raw, "ttl") {
		t.Errorf("a 3-minute-old token after the ttl became 2m = %d %s, want 401 naming the ttl", a.status, a.raw)
	}
	fresh := f.exchange(func(c map[string]any) {
		now := f.clock.Now()
		c["iat"], c["nbf"], c["exp"] = now.Unix(), now.Unix(), now.Add(5*time.Minute).Unix()
	})
	if a := f.api(fresh, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Errorf("a fresh token = %d %s", a.status, a.raw)
	}
}
