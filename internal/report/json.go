package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

type jsonFile struct {
	Path        string     `json:"path"`
	Diagnostics []jsonDiag `json:"diagnostics"`
	// Omitted is present only when findings were cut (see Cap).
	Omitted []jsonOmitted `json:"omitted,omitempty"`
}

type jsonOmitted struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Count    int    `json:"count"`
}

type jsonDiag struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Line     int    `json:"line"`
	Column   int    `json:"column"`
	Pointer  string `json:"pointer"`
}

type jsonSummary struct {
	Files    int `json:"files"`
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
}

// JSON writes one JSON document and a newline:
//
//	{"files":[{"path":…,"diagnostics":[{"rule","severity","message","line","column","pointer"}]}],
//	 "summary":{"files","errors","warnings"}}
//
// Every file appears, in order; a clean file has "diagnostics":[] and no
// list is ever null. A file with more than MaxPerRule findings of one rule
// lists the first ones and adds "omitted":[{"rule","severity","count"}];
// the summary counts every finding. Line and column are 0 for findings without a position.
// The shape is a compatibility promise to scripts: add keys, never rename.
func JSON(w io.Writer, files []File) error {
	return writeAll(NewJSON(w), files)
}

// NewJSON returns the streaming form of JSON: the document is written file
// by file, so memory does not grow with the number of files. Nothing is
// written before the first WriteFile or Close.
func NewJSON(w io.Writer) Writer {
	j := &jsonWriter{ew: newErrWriter(w)}
	j.enc = json.NewEncoder(&j.buf)
	j.enc.SetEscapeHTML(false)
	return j
}

type jsonWriter struct {
	ew  *errWriter
	buf bytes.Buffer
	enc *json.Encoder
	sum Summary
}

func (j *jsonWriter) Summary() Summary { return j.sum }

func (j *jsonWriter) WriteFile(f File) error {
	if j.sum.Files > 0 {
		j.ew.str(",")
	} else {
		j.ew.str(`{"files":[`)
	}
	f = Cap(f)
	j.sum.add(f)
	jf := jsonFile{Path: f.Path, Diagnostics: make([]jsonDiag, 0, len(f.Diags))}
	for _, o := range f.Omitted {
		jf.Omitted = append(jf.Omitted, jsonOmitted{Rule: o.Rule, Severity: o.Severity.String(), Count: o.Count})
	}
	for _, d := range f.Diags {
		jf.Diagnostics = append(jf.Diagnostics, jsonDiag{
			Rule:     d.Rule,
			Severity: d.Severity.String(),
			Message:  d.Message,
			Line:     d.Pos.Line,
			Column:   d.Pos.Column,
			Pointer:  d.Pointer,
		})
	}
	return j.encode(jf)
}

// encode writes v without the newline json.Encoder appends.
func (j *jsonWriter) encode(v any) error {
	j.buf.Reset()
	if err := j.enc.Encode(v); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	// InertJSON escapes C1, invisible characters and "##[" inside strings;
	// a fragment never ends inside a string, so escaping piecewise is
	// escaping the whole document.
	j.ew.str(safetext.InertJSON(string(bytes.TrimSuffix(j.buf.Bytes(), []byte("\n")))))
	return j.wrap(j.ew.err)
}

func (j *jsonWriter) Close() error {
	if j.sum.Files == 0 {
		j.ew.str(`{"files":[`)
	}
	j.ew.str(`],"summary":`)
	if err := j.encode(jsonSummary{Files: j.sum.Files, Errors: j.sum.Errors, Warnings: j.sum.Warnings}); err != nil {
		return err
	}
	j.ew.str("}\n")
	return j.wrap(j.ew.flush())
}

func (j *jsonWriter) wrap(err error) error {
	if err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
