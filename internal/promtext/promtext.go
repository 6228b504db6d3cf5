// Package promtext keeps counters and histograms and writes them in the
// Prometheus text exposition format (version 0.0.4), for the broker's
// /metrics.
//
// It is written here rather than taken from prometheus/client_golang: the
// broker needs a handful of counters and histograms with fixed label
// sets, and takos-apply is one binary with its CLI and GitHub Action, which
// build it from source on every runner; client_golang would add six
// modules (protobuf, procfs among them) to every one of those builds. The
// text format is small and stable, and deploy/check parses this package's
// golden output with Prometheus's own parser (prometheus/common/expfmt).
//
// Each Registry is local: nothing is registered globally.
package promtext

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// ContentType is the media type of the text format.
const ContentType = "text/plain; version=0.0.4; charset=utf-8"

// Registry holds metric families and writes them.
type Registry struct {
	mu       sync.Mutex
	families []*family
}

type kind string

const (
	counter   kind = "counter"
	histogram kind = "histogram"
	gauge     kind = "gauge"
)

type family struct {
	name, help string
	kind       kind
	labels     []string
	buckets    []float64 // histograms: upper bounds, ascending, without +Inf
	gaugeFunc  func() float64

	mu     sync.Mutex
	series map[string]*series // key: label values joined by \xff
}

type series struct {
	values []string
	value  float64  // counter
	counts []uint64 // histogram: per bucket (not cumulative), then +Inf
	sum    float64  // histogram
	count  uint64   // histogram
}

func (r *Registry) add(f *family) *family {
	if !validName(f.name) {
		panic("promtext: invalid metric name " + f.name)
	}
	for _, l := range f.labels {
		if !validName(l) || l == "le" {
			panic("promtext: invalid label name " + l)
		}
	}
	f.series = map[string]*series{}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.families {
		if g.name == f.name {
			panic("promtext: duplicate metric " + f.name)
		}
	}
	r.families = append(r.families, f)
	return f
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Counter is a counter family with the given label names.
type Counter struct{ f *family }

// Counter adds a counter family.
func (r *Registry) Counter(name, help string, labels ...string) *Counter {
	return &Counter{r.add(&family{name: name, help: help, kind: counter, labels: labels})}
}

// Add adds v (≥ 0) to the series of the label values (one per label
// name, in order).
func (c *Counter) Add(v float64, values ...string) {
	if v < 0 || math.IsNaN(v) {
		return
	}
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.get(values).value += v
}

// Inc adds one.
func (c *Counter) Inc(values ...string) { c.Add(1, values...) }

// Histogram is a histogram family.
type Histogram struct{ f *family }

// Histogram adds a histogram family with the given bucket upper bounds
// (ascending; +Inf is implied).
func (r *Registry) Histogram(name, help string, buckets []float64, labels ...string) *Histogram {
	if !slices.IsSorted(buckets) || len(buckets) == 0 {
		panic("promtext: buckets must be ascending")
	}
	return &Histogram{r.add(&family{name: name, help: help, kind: histogram, labels: labels, buckets: slices.Clone(buckets)})}
}

// Observe records v in the series of the label values.
func (h *Histogram) Observe(v float64, values ...string) {
	if math.IsNaN(v) {
		return
	}
	h.f.mu.Lock()
	defer h.f.mu.Unlock()
	s := h.f.get(values)
	i, _ := slices.BinarySearch(h.f.buckets, v) // the first bound ≥ v
	s.counts[i]++
	s.sum += v
	s.count++
}

// GaugeFunc adds a gauge without labels whose value fn gives at each
// scrape.
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.add(&family{name: name, help: help, kind: gauge, gaugeFunc: fn})
}

// get returns the series of values, creating it; f.mu is held.
func (f *family) get(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("promtext: %s takes %d label values, got %d", f.name, len(f.labels), len(values)))
	}
	key := strings.Join(values, "\xff")
	s, ok := f.series[key]
	if !ok {
		s = &series{values: slices.Clone(values)}
		if f.kind == histogram {
			s.counts = make([]uint64, len(f.buckets)+1)
		}
		f.series[key] = s
	}
	return s
}

// WriteTo writes every family in the text format: families in the order
// they were added, series sorted by their label values.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	fams := slices.Clone(r.families)
	r.mu.Unlock()
	cw := &countWriter{w: bufio.NewWriter(w)}
	for _, f := range fams {
		f.write(cw)
	}
	if cw.err == nil {
		cw.err = cw.w.(*bufio.Writer).Flush()
	}
	return cw.n, cw.err
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) print(parts ...string) {
	for _, p := range parts {
		if c.err != nil {
			return
		}
		n, err := io.WriteString(c.w, p)
		c.n += int64(n)
		c.err = err
	}
}

func (f *family) write(w *countWriter) {
	w.print("# HELP ", f.name, " ", escapeHelp(f.help), "\n# TYPE ", f.name, " ", string(f.kind), "\n")
	if f.gaugeFunc != nil {
		w.print(f.name, " ", formatFloat(f.gaugeFunc()), "\n")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		s := f.series[k]
		if f.kind == counter {
			w.print(f.name, labelSet(f.labels, s.values, ""), " ", formatFloat(s.value), "\n")
			continue
		}
		var cum uint64
		for i, b := range f.buckets {
			cum += s.counts[i]
			w.print(f.name, "_bucket", labelSet(f.labels, s.values, formatFloat(b)), " ", strconv.FormatUint(cum, 10), "\n")
		}
		w.print(f.name, "_bucket", labelSet(f.labels, s.values, "+Inf"), " ", strconv.FormatUint(s.count, 10), "\n")
		w.print(f.name, "_sum", labelSet(f.labels, s.values, ""), " ", formatFloat(s.sum), "\n")
		w.print(f.name, "_count", labelSet(f.labels, s.values, ""), " ", strconv.FormatUint(s.count, 10), "\n")
	}
}

// labelSet renders {a="x",b="y"} (with le last when set), or "" for none.
func labelSet(names, values []string, le string) string {
	if len(names) == 0 && le == "" {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	if le != "" {
		if len(names) > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`le="`)
		b.WriteString(le)
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// Handler serves the registry (GET and HEAD).
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", ContentType)
		w.Header().Set("Cache-Control", "no-store")
		if req.Method == http.MethodHead {
			return
		}
		r.WriteTo(w)
	})
}
