package diag

import (
	"cmp"
	"slices"
)

// Omitted counts the findings of one rule and severity that a Collector
// did not keep (see Collector.Max).
type Omitted struct {
	Rule     string
	Severity Severity
	Count    int
}

// Collector gathers the findings of one file as they are reported and
// keeps at most Max of each rule: the first ones in the order of List.Sort
// (file, position, severity, rule, message), ties broken by Pointer and
// then by the order they were added. The others are only counted
// (Omitted), so a file with a hundred thousand findings of one rule costs
// a count for most of them: a finding whose position is past the last one
// kept is dropped before its message is built (AddFunc).
//
// The zero value keeps every finding. Max and Silenced are set before the
// first Add; a Collector is not safe for concurrent use.
type Collector struct {
	// Max caps the findings kept of each rule (by ID); 0 keeps them all.
	Max int
	// Silenced, when set, drops a finding of rule at line before it is
	// counted, as a suppression comment does.
	Silenced func(rule string, line int) bool

	seq   int
	rules map[string]*bucket
	last  *bucket // the bucket of the last rule added: rules report in runs
}

// entry is one kept finding and the order it was added in.
type entry struct {
	d   Diagnostic
	seq int
}

// bucket holds the findings of one rule. When the rule has Max findings,
// kept is a heap with the last of them (in the Collector's order) on top,
// so a later finding is compared with that one only.
type bucket struct {
	rule string
	kept []entry
	cut  []Omitted
}

// Add records d.
func (c *Collector) Add(d Diagnostic) { c.add(d, nil) }

// AddFunc records d with the message msg returns, which is called only if
// the finding is kept (d.Message is ignored), at most once and before
// AddFunc returns. A finding that is cut therefore costs no formatting,
// and msg may capture variables its caller changes afterwards.
func (c *Collector) AddFunc(d Diagnostic, msg func() string) { c.add(d, msg) }

func (c *Collector) add(d Diagnostic, msg func() string) {
	if c.Silenced != nil && c.Silenced(d.Rule, d.Pos.Line) {
		return
	}
	b := c.bucket(d.Rule)
	e := entry{d: d, seq: c.seq}
	c.seq++
	if c.Max <= 0 || len(b.kept) < c.Max {
		if msg != nil {
			e.d.Message = msg()
		}
		b.kept = append(b.kept, e)
		if c.Max > 0 && len(b.kept) == c.Max {
			b.heapify()
		}
		return
	}
	top := &b.kept[0]
	// Everything but the message and what breaks ties decides first, so
	// the message of a finding that comes later is never built.
	k := comparePos(e.d, top.d)
	if k == 0 {
		if msg != nil {
			e.d.Message = msg()
			msg = nil
		}
		k = compareEntries(&e, top)
	}
	if k >= 0 {
		b.count(e.d.Severity)
		return
	}
	if msg != nil {
		e.d.Message = msg()
	}
	b.count(top.d.Severity)
	*top = e
	b.down(0)
}

func (c *Collector) bucket(rule string) *bucket {
	if c.last != nil && c.last.rule == rule {
		return c.last
	}
	b := c.rules[rule]
	if b == nil {
		if c.rules == nil {
			c.rules = map[string]*bucket{}
		}
		b = &bucket{rule: rule}
		c.rules[rule] = b
	}
	c.last = b
	return b
}

// Len is the number of findings added and not silenced, kept or not.
func (c *Collector) Len() int {
	n := 0
	for _, b := range c.rules {
		n += len(b.kept)
		for _, o := range b.cut {
			n += o.Count
		}
	}
	return n
}

// List returns the kept findings in the order they were added.
func (c *Collector) List() List {
	es := c.entries()
	slices.SortFunc(es, func(a, b entry) int { return cmp.Compare(a.seq, b.seq) })
	return diags(es)
}

// Sorted returns the kept findings in the Collector's order: List.Sort's,
// ties broken by Pointer, then by the order they were added.
func (c *Collector) Sorted() List {
	es := c.entries()
	slices.SortFunc(es, func(a, b entry) int { return compareEntries(&a, &b) })
	return diags(es)
}

func (c *Collector) entries() []entry {
	n := 0
	for _, b := range c.rules {
		n += len(b.kept)
	}
	if n == 0 {
		return nil
	}
	es := make([]entry, 0, n)
	for _, b := range c.rules {
		es = append(es, b.kept...)
	}
	return es
}

func diags(es []entry) List {
	if len(es) == 0 {
		return nil
	}
	out := make(List, len(es))
	for i := range es {
		out[i] = es[i].d
	}
	return out
}

// Omitted returns the counts of the findings not kept, by rule and then by
// severity (most severe first); nil when every finding was kept.
func (c *Collector) Omitted() []Omitted {
	var out []Omitted
	for _, b := range c.rules {
		out = append(out, b.cut...)
	}
	slices.SortFunc(out, func(a, b Omitted) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(b.Severity, a.Severity))
	})
	return out
}

// count records one finding of severity s that is not kept.
func (b *bucket) count(s Severity) {
	for i := range b.cut {
		if b.cut[i].Severity == s {
			b.cut[i].Count++
			return
		}
	}
	b.cut = append(b.cut, Omitted{Rule: b.rule, Severity: s, Count: 1})
}

// comparePos is Compare without the message: what orders two findings
// before their messages do. Each key is compared only when the ones before
// tie (cmp.Or would compare them all), which matters for files with
// 100,000 findings.
func comparePos(a, b Diagnostic) int {
	if c := cmp.Compare(a.File, b.File); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Pos.Line, b.Pos.Line); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Pos.Column, b.Pos.Column); c != 0 {
		return c
	}
	if c := cmp.Compare(b.Severity, a.Severity); c != 0 {
		return c
	}
	return cmp.Compare(a.Rule, b.Rule)
}

// compareEntries is the Collector's order.
func compareEntries(a, b *entry) int {
	if c := Compare(a.d, b.d); c != 0 {
		return c
	}
	if c := cmp.Compare(a.d.Pointer, b.d.Pointer); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// heapify makes kept a max-heap in the Collector's order.
func (b *bucket) heapify() {
	for i := len(b.kept)/2 - 1; i >= 0; i-- {
		b.down(i)
	}
}

// down moves kept[i] down the max-heap to its place.
func (b *bucket) down(i int) {
	h := b.kept
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && compareEntries(&h[r], &h[l]) > 0 {
			m = r
		}
		if compareEntries(&h[m], &h[i]) <= 0 {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}
