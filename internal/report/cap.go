package report

import (
	"fmt"

	"github.com/takos-dev/takos-apply/internal/lint"
)

// MaxPerRule is how many findings of one rule a report lists for one file,
// in every format. A manifest with a hundred thousand duplicate scopes
// would otherwise print a hundred thousand snippets (and a SARIF log of
// tens of megabytes); the first ones say all there is to say, and the rest
// are counted (File.Omitted) so nothing disappears silently.
const MaxPerRule = 100

// Omitted counts the findings of one rule and severity that a File does not
// list. It is the lint library's type, so a lint.File converts to a File.
type Omitted = lint.Omitted

// Cap returns f listing at most MaxPerRule findings of each rule — the
// first ones in f.Diags' order, which is sorted by position — with the
// others counted in Omitted (lint.Cap). It allocates only when something
// is cut, and capping a capped File changes nothing. Summaries count the
// omitted findings, so exit codes do not change.
func Cap(f File) File {
	return File(lint.Cap(lint.File(f), MaxPerRule))
}

// omittedLine is the text and log line of an Omitted: not a finding line
// ("path:line:col: severity: …"), so problem matchers do not read it as
// one.
func omittedLine(path string, o Omitted) string {
	return fmt.Sprintf("%s: %d more %s findings of rule %s are not shown: a report lists the first %d findings of each rule in a file",
		displayPath(path), o.Count, o.Severity, inline(o.Rule), MaxPerRule)
}
