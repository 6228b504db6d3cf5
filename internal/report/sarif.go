package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/takos-dev/takos-apply/internal/safetext"
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
	Tool sarifTool `json:"tool"`
	// ColumnKind says how startColumn counts: the loader counts characters
	// (code points), not UTF-16 units, which SARIF assumes otherwise.
	ColumnKind string `json:"columnKind"`
	// Results is last: NewSARIF streams it after the rest of the log.
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
	ID                   string          `json:"id"`
	ShortDescription     sarifMessage    `json:"shortDescription"`
	HelpURI              string          `json:"helpUri,omitempty"`
	Help                 *sarifHelp      `json:"help,omitempty"`
	DefaultConfiguration sarifConfig     `json:"defaultConfiguration"`
	Properties           *sarifRuleProps `json:"properties,omitempty"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

// sarifRuleProps carries what GitHub code scanning reads from a rule's
// property bag: the "security" tag and a CVSS-style "security-severity"
// string, which it maps to critical/high/medium/low.
type sarifRuleProps struct {
	Tags             []string `json:"tags"`
	SecuritySeverity string   `json:"security-severity"`
}

type sarifConfig struct {
	Level string `json:"level"`
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           *int              `json:"ruleIndex,omitempty"`
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

// sarifInvocation carries what a run did not put into results: the
// findings Cap cut, as tool execution notifications (GitHub code scanning
// shows them on the tool status page).
type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications"`
}

type sarifNotification struct {
	Level          string              `json:"level"`
	Message        sarifMessage        `json:"message"`
	Locations      []sarifFileLocation `json:"locations"`
	AssociatedRule sarifRuleRef        `json:"associatedRule"`
}

type sarifFileLocation struct {
	PhysicalLocation struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
	} `json:"physicalLocation"`
}

type sarifRuleRef struct {
	ID    string `json:"id"`
	Index *int   `json:"index,omitempty"`
}

// SARIF writes a SARIF 2.1.0 log with one run that GitHub code scanning
// accepts (github/codeql-action/upload-sarif). driver.rules lists every rule
// of opt.Rules, sorted by id, with its summary as shortDescription, its
// README section as helpUri and help, its severity in the deploy
// environment as the default level and, for security rules, the "security"
// tag and a security-severity score. Each result names its rule by ruleId
// and ruleIndex (no ruleIndex for a rule outside the catalogue) and carries
// a partialFingerprints hash of rule, path, pointer and message, which does
// not change when lines shift. Paths are given relative to %SRCROOT% with
// forward slashes: relative ones as they are, absolute ones under opt.Root
// relative to it; only absolute paths outside opt.Root become file:// URIs.
// Columns count Unicode code points (columnKind). Findings without a line
// point at line 1, because code scanning needs a region. A clean run has
// "results": []. Findings Cap cut are counted in one warning notification
// per file and rule under invocations[0].toolExecutionNotifications, which
// is present only then.
func SARIF(w io.Writer, files []File, opt Options) error {
	return writeAll(NewSARIF(w, opt), files)
}

// NewSARIF returns the streaming form of SARIF. The rule list comes from
// the catalogue, so it is known before the first result: the log is written
// up to "results", then result by result, and memory does not grow with
// the number of findings. Nothing is written before the first WriteFile or
// Close.
func NewSARIF(w io.Writer, opt Options) Writer {
	s := &sarifWriter{ew: newErrWriter(w), opt: opt, index: map[string]int{}}
	rules := []sarifRule{}
	if opt.Rules != nil {
		for i, r := range opt.Rules.Rules() {
			s.index[r.ID] = i
			rules = append(rules, sarifRuleOf(r, !opt.Development))
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
			ColumnKind: "unicodeCodePoints",
			Results:    []sarifResult{},
		}},
	}
	var b bytes.Buffer
	s.enc = json.NewEncoder(&b)
	s.enc.SetEscapeHTML(false)
	s.enc.SetIndent("", "  ")
	if err := s.enc.Encode(log); err != nil {
		s.ew.err = err
		return s
	}
	// Split the log at its empty results array: what comes before is
	// written now, what follows at Close.
	const marker = `"results": []`
	doc := b.String()
	at := strings.LastIndex(doc, marker)
	lineStart := strings.LastIndex(doc[:at], "\n") + 1
	s.indent = doc[lineStart:at]
	s.tail = doc[at+len(marker):]
	s.head = safetext.InertJSON(doc[:at]) + `"results": [`
	s.buf = &b
	s.enc.SetIndent(s.indent+"  ", "  ")
	return s
}

type sarifWriter struct {
	ew      *errWriter
	opt     Options
	sum     Summary
	index   map[string]int
	enc     *json.Encoder
	buf     *bytes.Buffer
	indent  string // of the "results" key
	head    string // the log up to the results array, written first
	tail    string // the log after the results array
	results int
	// notes are the notifications of cut findings, written at Close: one
	// per file and rule that had more than MaxPerRule findings.
	notes []sarifNotification
}

// start writes the head once, before the first result or at Close.
func (s *sarifWriter) start() {
	s.ew.str(s.head)
	s.head = ""
}

func (s *sarifWriter) Summary() Summary { return s.sum }

func (s *sarifWriter) WriteFile(f File) error {
	f = Cap(f)
	s.sum.add(f)
	s.start()
	art := artifact(f.Path, s.opt.Root)
	for _, o := range f.Omitted {
		n := sarifNotification{
			Level: "warning",
			Message: sarifMessage{Text: fmt.Sprintf("%d more %s findings of rule %s are not listed for this file: a report lists the first %d findings of each rule in a file",
				o.Count, o.Severity, o.Rule, MaxPerRule)},
			AssociatedRule: sarifRuleRef{ID: o.Rule},
		}
		var loc sarifFileLocation
		loc.PhysicalLocation.ArtifactLocation = art
		n.Locations = []sarifFileLocation{loc}
		if i, ok := s.index[o.Rule]; ok {
			n.AssociatedRule.Index = &i
		}
		s.notes = append(s.notes, n)
	}
	for _, d := range f.Diags {
		region := sarifRegion{StartLine: d.Pos.Line, StartColumn: d.Pos.Column}
		if region.StartLine < 1 {
			region = sarifRegion{StartLine: 1}
		}
		if region.StartColumn < 0 {
			region.StartColumn = 0
		}
		res := sarifResult{
			RuleID:  d.Rule,
			Level:   sarifLevel(d.Severity),
			Message: sarifMessage{Text: nonEmpty(d.Message, d.Rule)},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: art,
				Region:           region,
			}}},
			PartialFingerprints: map[string]string{fingerprintKey: fingerprint(d.Rule, art.URI, d.Pointer, d.Message)},
		}
		if i, ok := s.index[d.Rule]; ok {
			res.RuleIndex = &i
		}
		if s.ew.err != nil {
			break
		}
		s.buf.Reset()
		if err := s.enc.Encode(res); err != nil {
			s.ew.err = err
			break
		}
		if s.results > 0 {
			s.ew.str(",")
		}
		s.results++
		s.ew.str("\n" + s.indent + "  ")
		s.ew.str(safetext.InertJSON(string(bytes.TrimSuffix(s.buf.Bytes(), []byte("\n")))))
	}
	return s.wrap(s.ew.err)
}

func (s *sarifWriter) Close() error {
	s.start()
	if s.results > 0 {
		s.ew.str("\n" + s.indent)
	}
	s.ew.str("]")
	if len(s.notes) > 0 && s.ew.err == nil {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		enc.SetIndent(s.indent, "  ")
		if err := enc.Encode([]sarifInvocation{{ExecutionSuccessful: true, ToolExecutionNotifications: s.notes}}); err != nil {
			return s.wrap(err)
		}
		s.ew.str(",\n" + s.indent + `"invocations": ` + safetext.InertJSON(string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))))
	}
	s.ew.str(s.tail)
	return s.wrap(s.ew.flush())
}

func (s *sarifWriter) wrap(err error) error {
	if err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}

// sarifRuleOf is the driver.rules entry of a catalogue rule.
func sarifRuleOf(r diag.Rule, production bool) sarifRule {
	sr := sarifRule{
		ID:                   r.ID,
		ShortDescription:     sarifMessage{Text: nonEmpty(plainText(r.Summary), r.ID)},
		DefaultConfiguration: sarifConfig{Level: sarifLevel(r.Severity(production))},
	}
	if r.HelpURL != "" {
		sr.HelpURI = r.HelpURL
		sr.Help = &sarifHelp{
			Text:     nonEmpty(plainText(r.Summary), r.ID) + ". See " + r.HelpURL,
			Markdown: r.Summary + ".\n\nSee [the rule table](" + r.HelpURL + ").",
		}
	}
	if r.SecuritySeverity > 0 {
		sr.Properties = &sarifRuleProps{
			Tags:             []string{"security"},
			SecuritySeverity: strconv.FormatFloat(r.SecuritySeverity, 'f', 1, 64),
		}
	}
	return sr
}

// plainText drops the Markdown code-span backticks of a summary for the
// plain-text fields.
func plainText(s string) string { return strings.ReplaceAll(s, "`", "") }

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

func nonEmpty(s, fallback string) string {
	return cmp.Or(s, fallback, "finding")
}

// artifact maps a path as the user gave it to a SARIF artifactLocation.
// An absolute path under root is made relative to it first, so that code
// scanning, which resolves URIs against the repository, finds the file.
func artifact(p, root string) sarifArtifact {
	if filepath.IsAbs(p) && root != "" {
		if rel, err := filepath.Rel(root, p); err == nil && filepath.IsLocal(rel) {
			p = rel
		}
	}
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
