package broker

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/brokerstate"
	"github.com/takos-dev/takos-apply/internal/brokerstate/brokerstatetest"
)

// BenchmarkExchange measures one token exchange through the broker: form
// parsing, RS256 verification with cached keys, rate limit, policy and
// replay checks, issuing the access token and the answer (no request to
// Takos: nothing is minted). Tokens are signed beforehand (signing is the
// GitHub side). It runs with the state in memory (one replica) and in a
// real redis-server on loopback (several replicas: the rate limit and the
// replay check are one round trip each), and reports the p50 and p99
// latency of the b.N exchanges; the README's figures come from
//
//	go test ./internal/broker -run '^$' -bench 'BenchmarkExchange|BenchmarkForward' -benchtime 2000x
func BenchmarkExchange(b *testing.B) {
	for _, st := range benchStates {
		b.Run(st.name, func(b *testing.B) {
			f := newFixture(b, testPolicy, func(c *Config) { c.RatePerMinute, c.State = -1, st.state(b) })
			forms := make([]string, b.N+1)
			for i := range forms {
				tok, err := f.gh.Sign(f.gh.Claims(f.cfg.URL))
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
			reportLatency(b, lat)
		})
	}
}

// benchStates are the two kinds of state the benchmarks compare: nil is
// the broker's default (memory); redis is a real redis-server, unlimited
// like the memory one (the benchmark measures the checks, not refusals).
var benchStates = []struct {
	name  string
	state func(b *testing.B) brokerstate.Store
}{
	{"memory", func(*testing.B) brokerstate.Store { return nil }},
	{"redis", func(b *testing.B) brokerstate.Store {
		srv := brokerstatetest.Start(b)
		st, err := brokerstate.NewRedis(srv.URL, brokerstate.Limit{PerMinute: 1 << 30, Burst: 1 << 20}, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}},
}

// reportLatency reports the p50 and p99 of lat in milliseconds.
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }
func enc64(b []byte) string        { return base64.RawURLEncoding.EncodeToString(b) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
