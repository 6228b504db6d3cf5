package promtext

import (
	"flag"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/exposition.txt")

// sample is a registry with every kind of family and the escapes the
// format needs; its output is testdata/exposition.txt, which deploy/check
// also parses with Prometheus's own parser.
func sample() *Registry {
	r := &Registry{}
	c := r.Counter("demo_requests_total", "Requests by outcome.\nSecond line with a \\ backslash.", "outcome", "route")
	c.Inc("granted", "/api/me/oauth/clients")
	c.Inc("granted", "/api/me/oauth/clients")
	c.Add(3, "denied", `quote " backslash \ newline `+"\n")
	r.Counter("demo_empty_total", "A family with no series yet.", "outcome")
	h := r.Histogram("demo_duration_seconds", "Latency.", []float64{0.01, 0.1, 1}, "outcome")
	for _, v := range []float64{0.005, 0.01, 0.05, 0.5, 2} {
		h.Observe(v, "granted")
	}
	h.Observe(math.NaN(), "granted") // ignored
	r.GaugeFunc("demo_up", "A gauge read at scrape time.", func() float64 { return 1 })
	nolabel := r.Counter("demo_fetches_total", "No labels.")
	nolabel.Inc()
	return r
}

func TestExpositionGolden(t *testing.T) {
	var b strings.Builder
	if _, err := sample().WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/exposition.txt"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if b.String() != string(want) {
		t.Errorf("exposition differs from %s (go test -update rewrites it):\n%s", golden, b.String())
	}
}

func TestHistogramBuckets(t *testing.T) {
	r := &Registry{}
	h := r.Histogram("h_seconds", "h", []float64{1, 2})
	for _, v := range []float64{0.5, 1, 1.5, 2, 3, -1} {
		h.Observe(v)
	}
	var b strings.Builder
	r.WriteTo(&b)
	for _, want := range []string{`h_seconds_bucket{le="1"} 3`, `h_seconds_bucket{le="2"} 5`, `h_seconds_bucket{le="+Inf"} 6`, "h_seconds_sum 7", "h_seconds_count 6"} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

func TestConcurrentUpdates(t *testing.T) {
	r := &Registry{}
	c := r.Counter("c_total", "c", "k")
	h := r.Histogram("h_seconds", "h", []float64{1}, "k")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				c.Inc(string(rune('a' + i%2)))
				h.Observe(0.5, "x")
				r.WriteTo(&strings.Builder{})
			}
		}()
	}
	wg.Wait()
	var b strings.Builder
	r.WriteTo(&b)
	for _, want := range []string{`c_total{k="a"} 4000`, `c_total{k="b"} 4000`, `h_seconds_count{k="x"} 8000`} {
		if !strings.Contains(b.String(), want+"\n") {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

func TestMisuse(t *testing.T) {
	for name, f := range map[string]func(){
		"bad name":       func() { (&Registry{}).Counter("9lives", "x") },
		"le label":       func() { (&Registry{}).Histogram("h", "x", []float64{1}, "le") },
		"duplicate":      func() { r := &Registry{}; r.Counter("a", "x"); r.Counter("a", "y") },
		"wrong arity":    func() { (&Registry{}).Counter("a", "x", "k").Inc() },
		"unsorted bound": func() { (&Registry{}).Histogram("h", "x", []float64{2, 1}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		})
	}
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(sample().Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType {
		t.Errorf("GET = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, err = http.Post(srv.URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST = %d, want 405", resp.StatusCode)
	}
}
