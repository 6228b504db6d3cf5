// Package diag defines positioned findings: what the loader, the schema and
// the lint rules report about a manifest, and the rules they belong to. A
// finding is made from its Rule (Rule.Finding, or manifest.Document's
// Finding and KeyFinding), which owns its ID and severity; see Rule.
//
// Findings are values, not errors: a manifest with findings was still read.
// I/O and internal failures travel as ordinary errors beside a List.
//
// Stability: pkg/diag is public and may change until takos-apply v1.
package diag

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity orders findings. The zero value is Info so that a forgotten
// severity never turns into a spurious failure.
type Severity int

const (
	Info Severity = iota
	Warning
	Error
)

// String returns the lowercase name used in every output format.
func (s Severity) String() string {
	switch s {
	case Error:
		return "error"
	case Warning:
		return "warning"
	default:
		return "info"
	}
}

// Pos is a 1-based line and column in a file. A zero Line means the finding
// has no position (the whole file).
type Pos struct {
	Line   int
	Column int
}

// Diagnostic is one finding.
type Diagnostic struct {
	File     string
	Pos      Pos
	Severity Severity
	// Rule is a stable identifier (for example "redirect-uri-http" or
	// "schema-type"); it is what users grep for and what SARIF keys on.
	Rule string
	// Message is one sentence that says what is wrong and what to do.
	Message string
	// Pointer is the RFC 6901 JSON pointer of the offending value
	// ("/spec/oauth/redirectUris/0"), or "" for the document root.
	Pointer string
}

// String renders the diagnostic as "file:line:col: severity: message [rule]".
func (d Diagnostic) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s [%s]", d.File, d.Pos.Line, d.Pos.Column, d.Severity, d.Message, d.Rule)
}

// List is a set of findings. A nil List is empty and valid.
type List []Diagnostic

// Sort orders the list by file, line, column, then rule and message, so
// that output is deterministic whatever order rules ran in.
func (l List) Sort() {
	slices.SortStableFunc(l, Compare)
}

// Compare orders two diagnostics as List.Sort does.
func Compare(a, b Diagnostic) int {
	if c := comparePos(a, b); c != 0 {
		return c
	}
	return cmp.Compare(a.Message, b.Message)
}

// Count returns how many findings have exactly the given severity.
func (l List) Count(s Severity) int {
	n := 0
	for _, d := range l {
		if d.Severity == s {
			n++
		}
	}
	return n
}

// HasErrors reports whether any finding is an Error.
func (l List) HasErrors() bool { return l.Count(Error) > 0 }
