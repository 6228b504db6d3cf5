package check

import (
	"os"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsExposition parses the golden output of takos-apply's
// exposition writer (internal/promtext, which the broker's /metrics uses)
// with Prometheus's own text parser: every family, type, label escape and
// histogram line must read back as written.
func TestMetricsExposition(t *testing.T) {
	const golden = "../../internal/promtext/testdata/exposition.txt"
	f, err := os.Open(golden)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(f)
	if err != nil {
		t.Fatalf("%s: %v", golden, err)
	}
	want := map[string]dto.MetricType{
		"demo_requests_total":   dto.MetricType_COUNTER,
		"demo_duration_seconds": dto.MetricType_HISTOGRAM,
		"demo_up":               dto.MetricType_GAUGE,
		"demo_fetches_total":    dto.MetricType_COUNTER,
	}
	for name, typ := range want {
		fam, ok := fams[name]
		if !ok || fam.GetType() != typ {
			t.Errorf("family %s: %v, want type %v", name, fam, typ)
		}
	}
	// A family without series (demo_empty_total) has nothing to read.
	if len(fams) != len(want) {
		t.Errorf("parsed %d families, want %d", len(fams), len(want))
	}
	if h := fams["demo_requests_total"].GetHelp(); h != "Requests by outcome.\nSecond line with a \\ backslash." {
		t.Errorf("help read back as %q", h)
	}
	var escaped bool
	for _, m := range fams["demo_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && l.GetValue() == `quote " backslash \ newline `+"\n" {
				escaped = m.GetCounter().GetValue() == 3
			}
		}
	}
	if !escaped {
		t.Error("the escaped label value did not read back as written")
	}
	hist := fams["demo_duration_seconds"].GetMetric()[0].GetHistogram()
	if hist.GetSampleCount() != 5 || hist.GetSampleSum() != 2.565 || len(hist.GetBucket()) != 4 || hist.GetBucket()[1].GetCumulativeCount() != 3 {
		t.Errorf("histogram read back as %v", hist)
	}
	// A broken line is an error: the parser is not lenient here.
	if _, err := p.TextToMetricFamilies(strings.NewReader("demo_total{a=\"x} 1\n")); err == nil {
		t.Error("the parser took a broken line")
	}
}
