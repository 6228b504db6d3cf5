package broker

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkExchange measures one token exchange through the broker
// against the fake control plane: form parsing, RS256 verification with
// cached keys, replay and policy checks, the PAT POST and the answer.
// Tokens are signed beforehand (signing is the GitHub side). It reports
// the p50 and p99 latency of the b.N exchanges; the README's figures come
// from
//
//	go test ./internal/broker -run '^$' -bench BenchmarkExchange -benchtime 200x
func BenchmarkExchange(b *testing.B) {
	f := newFixture(b, testPolicy, func(c *Config) { c.RatePerMinute = -1 })
	forms := make([]string, b.N+1)
	for i := range forms {
		c := f.gh.Claims(f.cp.URL)
		tok, err := f.gh.Sign(c)
		if err != nil {
			b.Fatal(err)
		}
		forms[i] = exchangeForm(tok).Encode()
	}
	hc := &http.Client{}
	post := func(body string) {
		resp, err := hc.Post(f.url+TokenPath, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("exchange = %d", resp.StatusCode)
		}
	}
	post(forms[b.N]) // warm: JWKS fetch, connections
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		post(forms[i])
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
