package export

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// errMultilineSecret is returned by Masker.Mask for a value containing CR or
// LF. The runner matches masks line by line, so a multi-line value registered
// as one mask would leave its lines visible (CVE-2021-32074 class); a client
// secret is single-line, so such a value is refused rather than half-masked.
var errMultilineSecret = errors.New("secret contains a line break and cannot be masked safely")

// Masker is the GitHub Actions side of a run's secret registry
// (safetext.Secrets): it registers each value with the runner by writing
// "::add-mask::VALUE" to the step's stdout, once per value, before the
// registry's Add returns — so before the value can be written anywhere else:
// the runner hides only values it was told about before they were printed
// (https://docs.github.com/actions/reference/workflow-commands-for-github-actions#masking-a-value-in-a-log).
// The registry holds the values; Redact reads them. A Masker is safe for
// concurrent use.
type Masker struct {
	w       io.Writer
	secrets *safetext.Secrets
}

// NewMasker returns a Masker writing to w, normally the step's stdout, with
// a registry of its own.
func NewMasker(w io.Writer) *Masker { return MaskerFor(w, &safetext.Secrets{}) }

// MaskerFor makes secrets mask every value on w, those registered already
// and each new one, and returns the Masker. Call it once per registry.
func MaskerFor(w io.Writer, secrets *safetext.Secrets) *Masker {
	m := &Masker{w: w, secrets: secrets}
	_ = secrets.MaskWith(m.write)
	return m
}

// Mask registers v and makes sure it is masked: "::add-mask::VALUE\n" is
// written unless v is empty or was masked before. A value with CR or LF is
// refused with errMultilineSecret. The value is escaped the way the runner
// unescapes command data ("%" → "%25"), so a secret containing "%0A" or
// "%25" is registered verbatim rather than in a decoded, wrong form. If the
// write fails the error is returned and the next Mask (or Add) of v tries
// again; v is redacted meanwhile. The error never contains v.
func (m *Masker) Mask(v string) error { return m.secrets.Mask(v) }

func (m *Masker) write(v string) error {
	if strings.ContainsAny(v, "\r\n") {
		return errMultilineSecret
	}
	// WriteCommand escapes the data as the runner unescapes it ("%" →
	// "%25"), and lets a safetext.Stream pass the line as takos-apply's own.
	if err := safetext.WriteCommand(m.w, safetext.NewCommand("add-mask", nil, v)); err != nil {
		return fmt.Errorf("write add-mask command: %w", err)
	}
	return nil
}

// Redact returns s with every registered value replaced by "***", the way
// the runner shows it in logs (and every credential-shaped string, see
// safetext.Secrets). It is for the sinks the runner does not mask (the job
// summary, the non-secret outputs).
func (m *Masker) Redact(s string) string { return m.secrets.Redact(s, "***") }

// RedactMarkdown is Redact for Markdown built by MarkdownTable, whose cells
// hold a value with its punctuation escaped: that form is replaced too (by
// an escaped "***").
func (m *Masker) RedactMarkdown(s string) string {
	return m.secrets.RedactEscaped(s, "***", `\*\*\*`, escapeMarkdownPunct)
}
