package cli

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// mdTable is one GitHub-flavoured Markdown table of the README: a header
// row, a delimiter row and the rows up to the first line that is not one.
type mdTable struct {
	line   int // 1-based line of the header
	header []string
	rows   [][]string
}

var tableDelimiter = regexp.MustCompile(`^\|(\s*:?-+:?\s*\|)+\s*$`)

// mdTables parses the tables of a Markdown document (outside code fences)
// and returns every line that looks like a table row but belongs to no
// table — a row cut off from its header by a paragraph or a blank line,
// which GitHub renders as text.
func mdTables(doc string) (tables []mdTable, orphans []int) {
	lines := strings.Split(doc, "\n")
	fenced := false
	for i := 0; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "```") {
			fenced = !fenced
			continue
		}
		if fenced || !strings.HasPrefix(l, "|") {
			continue
		}
		if i+1 >= len(lines) || !tableDelimiter.MatchString(strings.TrimSpace(lines[i+1])) {
			orphans = append(orphans, i+1)
			continue
		}
		t := mdTable{line: i + 1, header: cells(l)}
		for i += 2; i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "|"); i++ {
			t.rows = append(t.rows, cells(strings.TrimSpace(lines[i])))
		}
		i-- // the loop's i++ looks at the line that ended the table
		tables = append(tables, t)
	}
	return tables, orphans
}

// cells splits a row at unescaped pipes outside code spans.
func cells(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(row, "|"), "|")
	var out []string
	var b strings.Builder
	code := false
	for i := 0; i < len(row); i++ {
		switch c := row[i]; {
		case c == '`':
			code = !code
			b.WriteByte(c)
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			b.WriteByte('|')
			i++
		case c == '|' && !code:
			out = append(out, strings.TrimSpace(b.String()))
			b.Reset()
		default:
			b.WriteByte(c)
		}
	}
	return append(out, strings.TrimSpace(b.String()))
}

// TestReadmeTables: every table row of the README belongs to a table with
// a header (issue 18: a paragraph split the Action's inputs table, and its
// last three rows rendered as text), every row has the header's number of
// cells, and the Action's inputs and outputs tables list exactly what
// action.yml declares, with its defaults.
func TestReadmeTables(t *testing.T) {
	readme := readFile(t, "../../README.md")
	tables, orphans := mdTables(readme)
	for _, n := range orphans {
		t.Errorf("README line %d is a table row outside any table (a paragraph or blank line cut it off from its header)", n)
	}
	for _, tb := range tables {
		for _, r := range tb.rows {
			if len(r) != len(tb.header) {
				t.Errorf("README table at line %d: row %q has %d cells, the header %d", tb.line, r, len(r), len(tb.header))
			}
		}
	}
	find := func(header ...string) *mdTable {
		for i := range tables {
			if slices.Equal(tables[i].header, header) {
				return &tables[i]
			}
		}
		t.Fatalf("README has no table headed %q", header)
		return nil
	}
	a := readAction(t)
	inputs := find("input", "default", "meaning")
	var names []string
	for _, r := range inputs.rows {
		name := strings.Trim(r[0], "`")
		names = append(names, name)
		in, ok := a.Inputs[name]
		if !ok {
			t.Errorf("README inputs table lists %q, which action.yml does not declare", name)
			continue
		}
		if in.Default != "" && !strings.Contains(r[1], "`"+in.Default+"`") {
			t.Errorf("README: input %s defaults to %q, action.yml to %q", name, r[1], in.Default)
		}
	}
	for name := range a.Inputs {
		if !slices.Contains(names, name) {
			t.Errorf("action.yml input %s is not in the README inputs table (the table at line %d)", name, inputs.line)
		}
	}
	outputs := find("output", "meaning")
	names = names[:0]
	for _, r := range outputs.rows {
		names = append(names, strings.Trim(r[0], "`"))
	}
	for name := range a.Outputs {
		if !slices.Contains(names, name) {
			t.Errorf("action.yml output %s is not in the README outputs table", name)
		}
	}
	if len(names) != len(a.Outputs) {
		t.Errorf("README outputs table lists %v, action.yml %d outputs", names, len(a.Outputs))
	}
}
