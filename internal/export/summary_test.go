package export

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAppendSummary(t *testing.T) {
	tests := []struct {
		name     string
		existing string
		md       string
		want     string
		wantErr  error
	}{
		{"adds newline", "", "# Plan", "# Plan\n", nil},
		{"keeps newline", "", "# Plan\n", "# Plan\n", nil},
		{"appends", "earlier step\n", "x", "earlier step\nx\n", nil},
		{"empty is a no-op", "keep\n", "", "keep\n", nil},
		{"exactly at the cap", strings.Repeat("a", maxSummaryBytes-2), "b", strings.Repeat("a", maxSummaryBytes-2) + "b\n", nil},
		{"one byte over the cap", strings.Repeat("a", maxSummaryBytes-1), "b", strings.Repeat("a", maxSummaryBytes-1), errSummaryTooLarge},
		{"new text alone over the cap", "", strings.Repeat("c", maxSummaryBytes), "", errSummaryTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "summary.md")
			if err := os.WriteFile(p, []byte(tc.existing), 0o644); err != nil {
				t.Fatal(err)
			}
			err := appendSummary(p, tc.md)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("appendSummary(%.20q) = %v, want %v", tc.md, err, tc.wantErr)
			}
			if got := readFile(t, p); got != tc.want {
				t.Errorf("appendSummary(%.20q) file = %.40q (len %d), want %.40q (len %d)", tc.md, got, len(got), tc.want, len(tc.want))
			}
		})
	}
}

func TestAppendSummaryNonRegular(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	if err := appendSummary("/dev/null", "x"); err == nil {
		t.Errorf("appendSummary(/dev/null) = nil, want error for a non-regular file")
	}
}

func TestMarkdownTable(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		rows   [][]string
		want   string
	}{
		{
			name:   "plain",
			header: []string{"Field", "Action"},
			rows:   [][]string{{"scopes", "update"}, {"client", "create"}},
			want: "| Field | Action |\n| --- | --- |\n" +
				"| scopes | update |\n| client | create |\n",
		},
		{
			name:   "punctuation escaped",
			header: []string{"URI"},
			rows:   [][]string{{"https://a.example/cb?x=1"}},
			want:   "| URI |\n| --- |\n| https\\:\\/\\/a\\.example\\/cb\\?x\\=1 |\n",
		},
		{
			name:   "cell injection",
			header: []string{"Name", "Value"},
			rows:   [][]string{{"a|b\n| x | y |", "<img src=x onerror=alert(1)>"}},
			want: "| Name | Value |\n| --- | --- |\n" +
				"| a\\|b \\| x \\| y \\| | \\<img src\\=x onerror\\=alert\\(1\\)\\> |\n",
		},
		{
			name:   "link and command",
			header: []string{"X"},
			rows:   [][]string{{"::error::[click](https://evil)"}},
			want:   "| X |\n| --- |\n| \\> \\:\\:error\\:\\:\\[click\\]\\(https\\:\\/\\/evil\\) |\n",
		},
		{
			name:   "ragged rows",
			header: []string{"A", "B"},
			rows:   [][]string{{"1"}, {"1", "2", "3"}},
			want:   "| A | B |\n| --- | --- |\n| 1 |  |\n| 1 | 2 |\n",
		},
		{name: "no header", header: nil, rows: [][]string{{"x"}}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := MarkdownTable(tc.header, tc.rows); got != tc.want {
				t.Errorf("MarkdownTable(%q, %q) =\n%s\nwant\n%s", tc.header, tc.rows, got, tc.want)
			}
		})
	}
}
