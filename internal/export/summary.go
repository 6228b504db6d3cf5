package export

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"unicode"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// maxSummaryBytes is the runner's limit for one step's job summary; a larger
// GITHUB_STEP_SUMMARY file is not uploaded at all.
const maxSummaryBytes = 1 << 20

// errSummaryTooLarge is wrapped by appendSummary's error when the file would
// exceed maxSummaryBytes.
var errSummaryTooLarge = errors.New("job summary would exceed 1 MiB")

// appendSummary appends markdown to the GITHUB_STEP_SUMMARY file at path (the
// caller passes getenv("GITHUB_STEP_SUMMARY")), adding a final newline if
// missing so a later append starts a new block. An empty path returns
// *missingEnvError. If the existing file plus markdown would exceed
// maxSummaryBytes, nothing is written and an error saying so is returned:
// the runner would otherwise drop the whole summary, including earlier
// steps' content. The file must exist (the runner creates it). The caller is
// responsible for keeping secrets out of markdown (Multi.Publish redacts them).
func appendSummary(path string, markdown string) error {
	if path == "" {
		return &missingEnvError{Name: envGitHubStepSummary}
	}
	if markdown == "" {
		return nil
	}
	if !strings.HasSuffix(markdown, "\n") {
		markdown += "\n"
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s file: %w", envGitHubStepSummary, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s file %s is not a regular file", envGitHubStepSummary, path)
	}
	if fi.Size()+int64(len(markdown)) > maxSummaryBytes {
		return fmt.Errorf("append %d bytes to %s (%d bytes): %w", len(markdown), envGitHubStepSummary, fi.Size(), errSummaryTooLarge)
	}
	return appendOnce(envGitHubStepSummary, path, markdown)
}

// MarkdownTable renders a GitHub-flavoured Markdown table. Every cell is
// passed through safetext.Line (one line, no controls, at most 512 runes) and
// every ASCII punctuation character is backslash-escaped (CommonMark allows
// escaping any of them), so untrusted cell text cannot close the cell with
// "|", inject HTML, links, images or emphasis. Rows shorter than the header
// are padded with empty cells; longer rows are cut to the header's width.
func MarkdownTable(header []string, rows [][]string) string {
	if len(header) == 0 {
		return ""
	}
	var b strings.Builder
	writeRow := func(cells []string) {
		b.WriteString("|")
		for i := range header {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" ")
			b.WriteString(escapeMarkdownCell(c))
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	writeRow(header)
	b.WriteString("|")
	for range header {
		b.WriteString(" --- |")
	}
	b.WriteString("\n")
	for _, r := range rows {
		writeRow(r)
	}
	return b.String()
}

func escapeMarkdownCell(s string) string {
	return escapeMarkdownPunct(safetext.Line(s, safetext.DefaultMax))
}

// escapeMarkdownPunct backslash-escapes every ASCII punctuation character.
func escapeMarkdownPunct(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (unicode.IsPunct(r) || unicode.IsSymbol(r)) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
