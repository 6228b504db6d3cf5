package diag

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// capAll is what a Collector must equal: every finding not silenced,
// sorted (List.Sort's order, ties by pointer, then by the order added),
// the first max of each rule kept and the rest counted by rule and
// severity.
func capAll(all List, max int, silenced func(string, int) bool) (List, []Omitted) {
	type added struct {
		d   Diagnostic
		seq int
	}
	var live []added
	for i, d := range all {
		if silenced == nil || !silenced(d.Rule, d.Pos.Line) {
			live = append(live, added{d, i})
		}
	}
	slices.SortStableFunc(live, func(a, b added) int {
		return cmp.Or(Compare(a.d, b.d), cmp.Compare(a.d.Pointer, b.d.Pointer))
	})
	var kept List
	counts := map[string]int{}
	cut := map[Omitted]int{}
	for _, a := range live {
		counts[a.d.Rule]++
		if max <= 0 || counts[a.d.Rule] <= max {
			kept = append(kept, a.d)
			continue
		}
		cut[Omitted{Rule: a.d.Rule, Severity: a.d.Severity}]++
	}
	var omitted []Omitted
	for o, n := range cut {
		o.Count = n
		omitted = append(omitted, o)
	}
	slices.SortFunc(omitted, func(a, b Omitted) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(b.Severity, a.Severity))
	})
	return kept, omitted
}

// TestCollectorKeepsTheFirstOfEachRule: whatever order findings are added
// in (rules report in document order, map order or backwards), a
// Collector keeps exactly the findings that sorting all of them and
// keeping the first max of each rule keeps, and counts the rest.
func TestCollectorKeepsTheFirstOfEachRule(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	for round := range 3000 {
		n := rng.IntN(60)
		all := make(List, n)
		for i := range all {
			all[i] = Diagnostic{
				File:     "app.yml",
				Pos:      Pos{Line: rng.IntN(6), Column: rng.IntN(3)},
				Severity: Severity(rng.IntN(3)),
				Rule:     []string{"a", "b", "c"}[rng.IntN(3)],
				Message:  []string{"x", "y", "z"}[rng.IntN(3)],
				Pointer:  []string{"", "/p", "/q"}[rng.IntN(3)],
			}
		}
		switch round % 3 {
		case 1: // in order, as most rules report
			slices.SortStableFunc(all, Compare)
		case 2: // backwards: every finding displaces the last one kept
			slices.SortStableFunc(all, func(a, b Diagnostic) int { return Compare(b, a) })
		}
		max := rng.IntN(5)
		var silenced func(string, int) bool
		if round%4 == 0 {
			silenced = func(rule string, line int) bool { return rule == "b" && line == 2 }
		}
		wantKept, wantOmitted := capAll(all, max, silenced)

		c := Collector{Max: max, Silenced: silenced}
		calls := 0
		for i, d := range all {
			if i%2 == 0 {
				c.Add(d)
				continue
			}
			m := d.Message
			d.Message = "ignored"
			c.AddFunc(d, func() string { calls++; return m })
		}
		if got := c.Sorted(); !slices.Equal(got, wantKept) {
			t.Fatalf("round %d, max %d: Sorted() =\n%v\nwant\n%v\nadded\n%v", round, max, got, wantKept, all)
		}
		if got := c.Omitted(); !slices.Equal(got, wantOmitted) {
			t.Fatalf("round %d, max %d: Omitted() = %v, want %v", round, max, got, wantOmitted)
		}
		if calls > (n+1)/2 {
			t.Fatalf("round %d: %d messages built for %d lazy findings", round, calls, n/2)
		}
		kept := 0
		for _, o := range wantOmitted {
			kept += o.Count
		}
		if got := c.Len(); got != len(wantKept)+kept {
			t.Fatalf("round %d: Len() = %d, want %d", round, got, len(wantKept)+kept)
		}
		// List is the kept findings in the order they were added.
		list := c.List()
		if !slices.Equal(slices.SortedStableFunc(slices.Values(list), func(a, b Diagnostic) int {
			return cmp.Or(Compare(a, b), cmp.Compare(a.Pointer, b.Pointer))
		}), wantKept) {
			t.Fatalf("round %d: List() holds other findings than Sorted(): %v", round, list)
		}
		// ... in the order they were added: the kept findings picked out of
		// all in order (equal findings are interchangeable).
		left := map[Diagnostic]int{}
		for _, d := range wantKept {
			left[d]++
		}
		var inOrder List
		for _, d := range all {
			if left[d] > 0 {
				left[d]--
				inOrder = append(inOrder, d)
			}
		}
		if !slices.Equal(list, inOrder) {
			t.Fatalf("round %d: List() =\n%v\nwant the order added\n%v", round, list, inOrder)
		}
	}
}

// TestCollectorBuildsNoMessageAfterTheCap: a rule reported in document
// order builds the messages of the findings it keeps and no other, which
// is what makes a file with a hundred thousand findings cheap.
func TestCollectorBuildsNoMessageAfterTheCap(t *testing.T) {
	c := Collector{Max: 100}
	built := 0
	for i := range 100_000 {
		c.AddFunc(Diagnostic{File: "app.yml", Pos: Pos{Line: i + 1, Column: 3}, Rule: "dup", Severity: Warning}, func() string {
			built++
			return fmt.Sprint("finding ", i)
		})
	}
	if built != 100 {
		t.Errorf("%d messages built, want 100", built)
	}
	got := c.Sorted()
	if len(got) != 100 || got[0].Message != "finding 0" || got[99].Message != "finding 99" {
		t.Errorf("kept %d findings, %q … %q; want the first 100", len(got), got[0].Message, got[len(got)-1].Message)
	}
	if o := c.Omitted(); len(o) != 1 || o[0] != (Omitted{Rule: "dup", Severity: Warning, Count: 99_900}) {
		t.Errorf("Omitted() = %v, want 99,900 warnings of dup", o)
	}
}

// TestCollectorZeroKeepsAll: the zero Collector keeps every finding, in
// the order added (List) and sorted (Sorted), and omits nothing.
func TestCollectorZeroKeepsAll(t *testing.T) {
	var c Collector
	in := List{
		{Pos: Pos{Line: 3}, Rule: "b", Message: "later"},
		{Pos: Pos{Line: 1}, Rule: "b", Message: "first"},
		{Pos: Pos{Line: 2}, Rule: "a", Message: "middle"},
	}
	for _, d := range in {
		c.Add(d)
	}
	if got := c.List(); !slices.Equal(got, in) {
		t.Errorf("List() = %v, want %v", got, in)
	}
	want := slices.Clone(in)
	want.Sort()
	if got := c.Sorted(); !slices.Equal(got, want) {
		t.Errorf("Sorted() = %v, want %v", got, want)
	}
	if o := c.Omitted(); o != nil {
		t.Errorf("Omitted() = %v, want nil", o)
	}
	var empty Collector
	if empty.List() != nil || empty.Sorted() != nil || empty.Len() != 0 {
		t.Errorf("an empty Collector lists %v", empty.List())
	}
}
