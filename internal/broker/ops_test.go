package broker

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/brokerstate"
)

// readyz fetches /readyz and returns its status and checks by name.
func (f *fixture) readyz() (int, map[string]map[string]any) {
	f.t.Helper()
	a := f.do("GET", ReadyPath, "", "")
	checks := map[string]map[string]any{}
	list, _ := a.body["checks"].([]any)
	for _, c := range list {
		m := c.(map[string]any)
		checks[m["name"].(string)] = m
	}
	if a.status == 200 && a.body["ready"] != true || a.status == 503 && a.body["ready"] != false {
		f.t.Errorf("/readyz = %d %s: ready does not match the status", a.status, a.raw)
	}
	return a.status, checks
}

// pingStore fails Ping while down is set.
type pingStore struct {
	brokerstate.Store
	down *bool
}

func (p pingStore) Ping(ctx context.Context) error {
	if *p.down {
		return errors.New("dial tcp 10.0.0.5:6379: connect: connection refused")
	}
	return p.Store.Ping(ctx)
}

// TestReadyz: /readyz follows each dependency — the control plane
// answering the broker's credential, the issuer's keys, the shared state —
// while /healthz only says the process serves.
func TestReadyz(t *testing.T) {
	const cred = "tak_pat_readyztest00000000000000000000000000000"
	up := newUpstream(t, cred)
	storeDown := false
	f := newFixture(t, testPolicy, func(c *Config) {
		c.ControlPlaneURL, c.Token = up.URL, cred
		c.State = pingStore{Store: brokerstate.NewMemory(brokerstate.Limit{PerMinute: 30, Burst: 10}, nil), down: &storeDown}
	})
	status, checks := f.readyz()
	if status != 200 || checks["control_plane"]["ok"] != true || checks["issuer_keys"]["ok"] != true || checks["store"]["ok"] != true {
		t.Fatalf("/readyz with everything up = %d %v", status, checks)
	}
	if checks["issuer_keys"]["issuer"] != f.gh.Issuer {
		t.Errorf("issuer check names %v, want %s", checks["issuer_keys"]["issuer"], f.gh.Issuer)
	}

	storeDown = true
	status, checks = f.readyz()
	if status != 503 || checks["store"]["ok"] != false || checks["control_plane"]["ok"] != true {
		t.Errorf("/readyz with the store down = %d %v, want 503 naming the store", status, checks)
	}
	a := f.do("GET", ReadyPath, "", "")
	if strings.Contains(a.raw, "10.0.0.5") {
		t.Errorf("/readyz shows an internal address: %s", a.raw)
	}
	if l := lastLine(t, f.audit, "not ready"); !strings.Contains(f.audit.String(), "10.0.0.5") || l["level"] != "WARN" {
		t.Errorf("the not-ready log line lacks the details: %v", l)
	}
	if h := f.do("GET", HealthPath, "", ""); h.status != 200 {
		t.Errorf("/healthz with a dependency down = %d, want 200 (the process serves)", h.status)
	}
	storeDown = false

	// The broker's credential refused: not ready; the control plane is
	// asked again only after 15 s, however often the probes come.
	up.reply = nil
	f2 := newFixture(t, testPolicy, func(c *Config) { c.ControlPlaneURL, c.Token = up.URL, "tak_pat_wrongcredential000000000000000000000" })
	before := len(up.all())
	for range 3 {
		if status, checks := f2.readyz(); status != 503 || checks["control_plane"]["ok"] != false {
			t.Errorf("/readyz with a refused credential = %d %v", status, checks)
		}
	}
	if n := len(up.all()) - before; n != 1 {
		t.Errorf("3 probes asked the control plane %d times, want 1 (cached 15 s)", n)
	}
	f2.clock.Add(16 * time.Second)
	f2.readyz()
	if n := len(up.all()) - before; n != 2 {
		t.Errorf("after 15 s the control plane was asked %d times in all, want 2", n)
	}
}

// TestReadyzIssuerDown: an issuer whose keys cannot be loaded makes the
// broker not ready.
func TestReadyzIssuerDown(t *testing.T) {
	ci := newCountingIssuer(t)
	ci.set(func(ci *countingIssuer) { ci.fail = true })
	f := newFixture(t, testPolicy, func(c *Config) { c.Issuers = append(c.Issuers, ci.URL) })
	if status, checks := f.readyz(); status != 503 || checks["store"]["ok"] != true {
		t.Fatalf("/readyz with an issuer down = %d %v", status, checks)
	}
	a := f.do("GET", ReadyPath, "", "")
	if !strings.Contains(a.raw, `{"name":"issuer_keys","issuer":"`+ci.URL+`","ok":false,"reason":"the issuer's keys are not loaded"}`) {
		t.Errorf("/readyz = %s, want the failing issuer named", a.raw)
	}
}

// TestMetrics: /metrics counts exchanges and gateway requests by outcome,
// their latency, key fetches and store errors, with no token, claim or
// free-form path in any label.
func TestMetrics(t *testing.T) {
	storeDown := false
	f := newFixture(t, testPolicy, func(c *Config) {
		c.State = pingStore{Store: brokerstate.NewMemory(brokerstate.Limit{PerMinute: 1, Burst: 3}, nil), down: &storeDown}
	})
	tok := f.token(nil)
	f.post(exchangeForm(tok))
	f.post(exchangeForm(tok)) // replay
	access := f.exchange(nil)
	f.post(exchangeForm(f.token(nil))) // past the burst of 3
	f.api(access, "GET", "/api/me/oauth/clients", "")
	f.api(access, "POST", "/api/me/personal-access-tokens", `{"name":"x"}`)
	f.api(access, "BREW", "/api/coffee-"+strings.Repeat("x", 40), "")
	storeDown = true
	f.readyz()

	a := f.do("GET", MetricsPath, "", "")
	if a.status != 200 || a.header.Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("/metrics = %d %s", a.status, a.header.Get("Content-Type"))
	}
	for _, want := range []string{
		`takos_broker_exchanges_total{outcome="granted"} 2`,
		`takos_broker_exchanges_total{outcome="invalid_grant"} 1`,
		`takos_broker_exchanges_total{outcome="rate_limited"} 1`,
		`takos_broker_exchange_duration_seconds_count{outcome="granted"} 2`,
		`takos_broker_exchange_duration_seconds_count{outcome="refused"} 2`,
		`takos_broker_gateway_requests_total{method="GET",route="/api/me/oauth/clients",decision="forwarded",status="2xx"} 1`,
		`takos_broker_gateway_requests_total{method="POST",route="none",decision="refused",status="4xx"} 1`,
		`takos_broker_gateway_requests_total{method="other",route="none",decision="refused",status="4xx"} 1`,
		`takos_broker_gateway_request_duration_seconds_count{decision="forwarded"} 1`,
		`takos_broker_key_fetches_total{issuer="` + f.gh.Issuer + `",result="ok"} 1`,
		`takos_broker_store_errors_total{op="ping"} 1`,
		`takos_broker_readiness_failures_total{check="store"} 1`,
		`takos_broker_policy_rules 1`,
		`takos_broker_shared_state 0`,
	} {
		if !strings.Contains(a.raw, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, secret := range []string{f.cp.Token, tok, access, "octo-org", "123456789", "coffee", "BREW"} {
		if strings.Contains(a.raw, secret) {
			t.Errorf("/metrics carries %.20q", secret)
		}
	}
}

// TestRequestIDs: every answer carries an X-Request-Id of the broker's
// making, and the log lines about that request carry it as request_id.
func TestRequestIDs(t *testing.T) {
	f := newFixture(t, testPolicy)
	req, _ := http.NewRequest("POST", f.url+TokenPath, strings.NewReader(exchangeForm(f.token(nil)).Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-Id", "chosen-by-the-client")
	a := f.send(req)
	id := a.header.Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
		t.Fatalf("X-Request-Id = %q, want 16 hex digits of the broker's", id)
	}
	access, _ := a.body["access_token"].(string)
	b := f.api(access, "GET", "/api/me/oauth/clients", "")
	id2 := b.header.Get("X-Request-Id")
	if id2 == "" || id2 == id {
		t.Fatalf("second request's id = %q", id2)
	}
	got := map[string]string{}
	for _, l := range f.audit.lines(t) {
		if rid, _ := l["request_id"].(string); rid != "" {
			got[l["msg"].(string)] = rid
		}
	}
	if got["token exchange"] != id || got["gateway request"] != id2 {
		t.Errorf("request ids in the log = %v, want token exchange %s and gateway request %s", got, id, id2)
	}
	if strings.Contains(f.audit.String(), "chosen-by-the-client") {
		t.Error("the client's X-Request-Id was taken")
	}
}

// serveGone runs one request through the broker's handler on behalf of a
// client that went away at once: its context is already cancelled.
func (f *fixture) serveGone(path string) {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req := httptest.NewRequestWithContext(ctx, "GET", path, nil)
	f.srv.Handler().ServeHTTP(httptest.NewRecorder(), req)
}

// TestReadyzCallerGone: a client that hangs up on /readyz must not decide
// readiness for the next 15 s. The control plane's answer is cached; a probe
// cut short by its caller is no answer, or anyone who can reach /readyz
// could take every replica out of its load balancer with one request per
// 15 s.
func TestReadyzCallerGone(t *testing.T) {
	f := newFixture(t, testPolicy)
	f.serveGone(ReadyPath)
	if status, checks := f.readyz(); status != 200 || checks["control_plane"]["ok"] != true {
		t.Errorf("/readyz after a caller hung up = %d %v, want 200: the hang-up was cached as the control plane's answer", status, checks)
	}
}

// TestMetadataCallerGone: a client that hangs up on the metadata must not
// leave the next minute's metadata without Takos's scopes.
func TestMetadataCallerGone(t *testing.T) {
	f := newFixture(t, testPolicy)
	f.serveGone(MetadataPath)
	a := f.do("GET", MetadataPath, "", "")
	if _, has := a.body["scopes_supported"]; a.status != 200 || !has {
		t.Errorf("metadata after a caller hung up = %d %s, want scopes_supported: the hang-up was cached as a failed fetch", a.status, a.raw)
	}
}
