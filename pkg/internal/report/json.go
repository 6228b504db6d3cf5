package report

import (
	"fmt"
	"io"
)

type jsonReport struct {
	Files   []jsonFile  `json:"files"`
	Summary jsonSummary `json:"summary"`
}

type jsonFile struct {
	Path        string     `json:"path"`
	Diagnostics []jsonDiag `json:"diagnostics"`
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
// list is ever null. Line and column are 0 for findings without a position.
// The shape is a compatibility promise to scripts: add keys, never rename.
func JSON(w io.Writer, files []File) error {
	rep := jsonReport{Files: make([]jsonFile, 0, len(files))}
	for _, f := range files {
		jf := jsonFile{Path: f.Path, Diagnostics: make([]jsonDiag, 0, len(f.Diags))}
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
		rep.Files = append(rep.Files, jf)
	}
	s := Summarize(files)
	rep.Summary = jsonSummary{Files: s.Files, Errors: s.Errors, Warnings: s.Warnings}
	if err := encodeJSON(w, rep, false); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
