package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

const (
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	sarifVersion = "2.1.0"
	toolURI      = "https://github.com/takos-dev/takos-apply"
	// fingerprintKey names our partialFingerprints entry; the "/v1" lets
	// the hash inputs change later without colliding with old alerts.
	fingerprintKey = "takosApplyFinding/v1"
	srcRoot        = "%SRCROOT%"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	Version        string      `json:"version,omitempty"`
	InformationURI string      `json:"informationUri"`
	Rules          []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string       `json:"id"`
	ShortDescription     sarifMessage `json:"shortDescription"`
	DefaultConfiguration sarifConfig  `json:"defaultConfiguration"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifMessage      `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI       string `json:"uri"`
	URIBaseID string `json:"uriBaseId,omitempty"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

// SARIF writes a SARIF 2.1.0 log with one run that GitHub code scanning
// accepts (github/codeql-action/upload-sarif). Rules that appear are listed
// once each, sorted by id, with the highest severity they were reported at
// as the default level; each result names its rule by ruleId and ruleIndex
// and carries a partialFingerprints hash of rule, path, pointer and message,
// which does not change when lines shift. Relative paths are given relative
// to %SRCROOT% with forward slashes; absolute ones become file:// URIs.
// Findings without a line point at line 1, because code scanning needs a
// region. A clean run has "results": [] and "rules": [].
func SARIF(w io.Writer, files []File, opt Options) error {
	ruleLevel := map[string]diag.Severity{}
	for _, f := range files {
		for _, d := range f.Diags {
			if s, ok := ruleLevel[d.Rule]; !ok || d.Severity > s {
				ruleLevel[d.Rule] = d.Severity
			}
		}
	}
	ids := make([]string, 0, len(ruleLevel))
	for id := range ruleLevel {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rules := make([]sarifRule, 0, len(ids))
	index := make(map[string]int, len(ids))
	for i, id := range ids {
		index[id] = i
		rules = append(rules, sarifRule{
			ID:                   id,
			ShortDescription:     sarifMessage{Text: ruleDescription(id)},
			DefaultConfiguration: sarifConfig{Level: sarifLevel(ruleLevel[id])},
		})
	}

	results := []sarifResult{}
	for _, f := range files {
		art := artifact(f.Path)
		for _, d := range f.Diags {
			region := sarifRegion{StartLine: d.Pos.Line, StartColumn: d.Pos.Column}
			if region.StartLine < 1 {
				region = sarifRegion{StartLine: 1}
			}
			if region.StartColumn < 0 {
				region.StartColumn = 0
			}
			results = append(results, sarifResult{
				RuleID:    d.Rule,
				RuleIndex: index[d.Rule],
				Level:     sarifLevel(d.Severity),
				Message:   sarifMessage{Text: nonEmpty(d.Message, d.Rule)},
				Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
					ArtifactLocation: art,
					Region:           region,
				}}},
				PartialFingerprints: map[string]string{fingerprintKey: fingerprint(d.Rule, art.URI, d.Pointer, d.Message)},
			})
		}
	}

	log := sarifLog{
		Schema:  sarifSchema,
		Version: sarifVersion,
		Runs: []sarifRun{{
			Tool: sarifTool{Driver: sarifDriver{
				Name:           toolName,
				Version:        opt.Version,
				InformationURI: toolURI,
				Rules:          rules,
			}},
			Results: results,
		}},
	}
	if err := encodeJSON(w, log, true); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}

func sarifLevel(s diag.Severity) string {
	switch s {
	case diag.Error:
		return "error"
	case diag.Warning:
		return "warning"
	default:
		return "note"
	}
}

// ruleDescription is the rule's short description. Rules carry no catalogue
// text here, so the stable id, which is written to be read ("redirect-uri-
// http"), is turned into words; SARIF requires the text to be non-empty.
func ruleDescription(id string) string {
	if id == "" {
		return "unnamed rule"
	}
	return strings.ReplaceAll(id, "-", " ")
}

func nonEmpty(s, fallback string) string {
	return cmp.Or(s, fallback, "finding")
}

// artifact maps a path as the user gave it to a SARIF artifactLocation.
func artifact(p string) sarifArtifact {
	slashed := filepath.ToSlash(p)
	if filepath.IsAbs(p) || strings.HasPrefix(slashed, "/") {
		if !strings.HasPrefix(slashed, "/") {
			slashed = "/" + slashed // Windows drive: file:///C:/...
		}
		u := url.URL{Scheme: "file", Path: slashed}
		return sarifArtifact{URI: u.String()}
	}
	// path.Clean drops "./" so "./.takos/app.yml" and ".takos/app.yml"
	// fingerprint alike; url.URL escapes spaces and similar and guards a
	// first segment with a colon from reading as a scheme.
	u := url.URL{Path: path.Clean(slashed)}
	return sarifArtifact{URI: u.String(), URIBaseID: srcRoot}
}

// fingerprint hashes what identifies a finding independent of its line.
// NUL separators keep ("a", "bc") and ("ab", "c") apart.
func fingerprint(rule, uri, pointer, message string) string {
	h := sha256.New()
	for _, s := range []string{rule, uri, pointer, message} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
