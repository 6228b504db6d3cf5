package exporttest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseFileCommands(t *testing.T) {
	// The reference parser itself must show the historic injection, or the
	// round-trip tests built on it prove nothing.
	const fixed = "_GitHubActionsFileCommandDelimeter_"
	evil := "x\n" + fixed + "\nEVIL=1\ny<<" + fixed
	text := "out<<" + fixed + "\n" + evil + "\n" + fixed + "\n"
	got, err := ParseFileCommands(text)
	if err != nil {
		t.Fatalf("ParseFileCommands: %v", err)
	}
	want := []Record{{"out", "x"}, {"EVIL", "1"}, {"y", ""}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseFileCommands(fixed-delimiter injection) mismatch (-want +got):\n%s", diff)
	}
	if _, err := ParseFileCommands("a<<D\nvalue\n"); err == nil {
		t.Errorf("ParseFileCommands(unterminated) = nil error, want error")
	}
}
