package export

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// errMultilineSecret is returned by Masker.Mask for a value containing CR or
// LF. The runner matches masks line by line, so a multi-line value registered
// as one mask would leave its lines visible (CVE-2021-32074 class); a client
// secret is single-line, so such a value is refused rather than half-masked.
var errMultilineSecret = errors.New("secret contains a line break and cannot be masked safely")

// Masker registers secrets with the GitHub Actions runner by writing
// "::add-mask::VALUE" lines to the step's stdout. Each distinct value is
// written once; empty values are ignored. It must be used before the value is
// written anywhere else: the runner hides only values it was told about
// before they were printed
// (https://docs.github.com/actions/reference/workflow-commands-for-github-actions#masking-a-value-in-a-log).
// A Masker is safe for concurrent use.
type Masker struct {
	w  io.Writer
	mu sync.Mutex
	// masked holds the values written, for Redact.
	masked safetext.Secrets
}

// NewMasker returns a Masker writing to w, normally the step's stdout.
func NewMasker(w io.Writer) *Masker {
	return &Masker{w: w}
}

// Mask writes "::add-mask::VALUE\n" for v unless v is empty or was masked
// before. A value with CR or LF is refused with errMultilineSecret. The value
// is escaped the way the runner unescapes command data ("%" → "%25"), so a
// secret containing "%0A" or "%25" is registered verbatim rather than in a
// decoded, wrong form. If the write fails, v is not recorded as masked and the
// error is returned; the error never contains v.
func (m *Masker) Mask(v string) error {
	if v == "" {
		return nil
	}
	if strings.ContainsAny(v, "\r\n") {
		return errMultilineSecret
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.masked.Contains(v) {
		return nil
	}
	// WriteCommand escapes the data as the runner unescapes it ("%" →
	// "%25"), and lets a safetext.Stream pass the line as takos-apply's own.
	if err := safetext.WriteCommand(m.w, safetext.NewCommand("add-mask", nil, v)); err != nil {
		return fmt.Errorf("write add-mask command: %w", err)
	}
	m.masked.Add(v)
	return nil
}

// Redact returns s with every value masked so far replaced by "***", the way
// the runner shows it in logs. It is defence in depth for sinks the runner
// does not mask (the job summary, files); longer values are replaced first
// (safetext.Secrets) so a secret that contains another is not partially
// revealed.
func (m *Masker) Redact(s string) string { return m.masked.Redact(s, "***") }
