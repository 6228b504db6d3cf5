package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// Plan and result rendering for plan and apply, as terraform's views do:
// the engine computes values, this file alone decides how they look.
//
// Every field value comes from the manifest or from the control plane.
// Text is written through a safetext.Stream (safetext.Guard), which shows
// every control and invisible character as an escape and neutralises
// workflow commands; displayValue keeps each value on its line; names are
// Go-quoted; client ids are checked where they are decoded.

// WritePlan writes the plan p for the manifest at path as text lines
// ("Manifest: PATH", then the plan) or, with format "json", as one JSON
// document {"manifest","action","client_id","changes"} (and
// "likely_rename" when the plan found one). Text shows the fields by their
// manifest names (redirectUris); JSON keeps its stable field names
// (redirect_uris).
func WritePlan(w io.Writer, format, path string, p reconcile.Plan) error {
	if format == "json" {
		return writeJSONDoc(w, jsonResult{Manifest: path, Action: string(p.Action), ClientID: p.ClientID, Changes: jsonChanges(p.Changes), Rename: jsonRenameOf(p.Rename)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Manifest: %s\n", displayText(path))
	name := safetext.Quote(p.Desired.Name, maxNameRunes)
	switch p.Action {
	case reconcile.ActionCreate:
		fmt.Fprintf(&b, "Plan: create OAuth client %s\n", name)
	case reconcile.ActionUnchanged:
		fmt.Fprintf(&b, "Plan: OAuth client %s (%s) is unchanged\n", name, p.ClientID)
	case reconcile.ActionRotate:
		fmt.Fprintf(&b, "Plan: rotate OAuth client %s: create a replacement with a new secret, then revoke %s\n", name, p.ClientID)
	default:
		fmt.Fprintf(&b, "Plan: update OAuth client %s (%s)\n", name, p.ClientID)
	}
	writeChanges(&b, p.Changes)
	writeRename(&b, p)
	_, err := io.WriteString(safetext.Guard(w), b.String())
	return err
}

// WriteResult writes what apply did with the manifest at path, as text
// lines or one JSON document of the same shape as WritePlan's.
func WriteResult(w io.Writer, format, path string, res reconcile.Result) error {
	if format == "json" {
		return writeJSONDoc(w, jsonResult{Manifest: path, Action: res.Action, ClientID: res.ClientID, Changes: jsonChanges(res.Changes)})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Manifest: %s\n", displayText(path))
	fmt.Fprintf(&b, "Apply: OAuth client %s %s\n", res.ClientID, res.Action)
	writeChanges(&b, res.Changes)
	for _, id := range res.Revoked {
		fmt.Fprintf(&b, "  revoked %s\n", id)
	}
	_, err := io.WriteString(safetext.Guard(w), b.String())
	return err
}

// JobSummary renders the result for the GitHub job summary: a heading with
// the fixed action word and a Markdown table, whose cells
// export.MarkdownTable escapes. The summary is a file, not a Stream: its
// values are shown as the log shows them (safetext.Shown).
func JobSummary(res reconcile.Result, p reconcile.Plan) string {
	rows := [][]string{{"client", safetext.Shown(displayText(p.Desired.Name)), ""}, {"client id", res.ClientID, ""}}
	for _, c := range res.Changes {
		rows = append(rows, []string{fieldName(c.Field), safetext.Shown(displayValue(c.From)), safetext.Shown(displayValue(&c.To))})
	}
	return fmt.Sprintf("### takos-apply: OAuth client %s\n\n", res.Action) +
		export.MarkdownTable([]string{"field", "from / value", "to"}, rows) + renameMarkdown(p)
}

// fieldName is the manifest's name of a field, relative to spec.oauth:
// clientName, redirectUris, metadata.logoUri.
func fieldName(f reconcile.Field) string {
	ptr, ok := fieldPointers[f]
	if !ok {
		return string(f)
	}
	return strings.ReplaceAll(strings.TrimPrefix(ptr, manifest.PtrOAuth+"/"), "/", ".")
}

// fieldPointers maps each managed field to the manifest value it comes from
// (cli builds reconcile.Desired from these pointers).
var fieldPointers = map[reconcile.Field]string{
	reconcile.FieldName:         manifest.PtrClientName,
	reconcile.FieldRedirectURIs: manifest.PtrRedirectURIs,
	reconcile.FieldScopes:       manifest.PtrScopes,
	reconcile.FieldLogoURI:      manifest.PtrLogoURI,
	reconcile.FieldTOSURI:       manifest.PtrTOSURI,
	reconcile.FieldPolicyURI:    manifest.PtrPolicyURI,
}

// maxNameRunes caps a client name in a plan heading; Takos allows 100.
const maxNameRunes = 200

func writeChanges(b *strings.Builder, cs []reconcile.Change) {
	for _, c := range cs {
		if c.From == nil {
			fmt.Fprintf(b, "  + %s: %s\n", fieldName(c.Field), displayValue(&c.To))
			continue
		}
		fmt.Fprintf(b, "  ~ %s: %s -> %s\n", fieldName(c.Field), displayValue(c.From), displayValue(&c.To))
	}
}

// displayValue shows a field value on a line after a fixed prefix: "—" for
// none, `""` for an empty scalar, "[]" for an empty list, list items joined
// by ", ", each by displayText.
func displayValue(v *reconcile.Value) string {
	switch {
	case v == nil:
		return "—"
	case v.IsList && len(v.Items) == 0:
		return "[]"
	case v.IsList:
		items := make([]string, len(v.Items))
		for i, s := range v.Items {
			items[i] = displayText(s)
		}
		return strings.Join(items, ", ")
	case v.Text == "":
		return `""`
	}
	return displayText(v.Text)
}

// displayText is untrusted text in the middle of a line, kept on it and
// capped at maxMessageRunes.
func displayText(s string) string {
	return inline(safetext.Truncate(s, maxMessageRunes))
}

type jsonChange struct {
	Field reconcile.Field `json:"field"`
	From  any             `json:"from"`
	To    any             `json:"to"`
}

type jsonResult struct {
	Manifest string       `json:"manifest"`
	Action   string       `json:"action"`
	ClientID string       `json:"client_id"`
	Changes  []jsonChange `json:"changes"`
	Rename   *jsonRename  `json:"likely_rename,omitempty"`
}

func jsonChanges(cs []reconcile.Change) []jsonChange {
	out := make([]jsonChange, 0, len(cs))
	for _, c := range cs {
		jc := jsonChange{Field: c.Field, To: jsonValue(c.To)}
		if c.From != nil {
			jc.From = jsonValue(*c.From)
		}
		out = append(out, jc)
	}
	return out
}

// jsonValue is a string for a scalar field and an array (never null) for a
// list field. JSON escaping keeps the values exact and on one line.
func jsonValue(v reconcile.Value) any {
	if v.IsList {
		if v.Items == nil {
			return []string{}
		}
		return v.Items
	}
	return v.Text
}

func writeJSONDoc(w io.Writer, v any) error { return encodeJSON(w, v, false) }

// encodeJSON writes v as one JSON document (indented when indent is set)
// that every Stream passes unchanged (safetext.InertJSON), so it means
// exactly what it meant.
func encodeJSON(w io.Writer, v any, indent bool) error {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := io.WriteString(w, safetext.InertJSON(buf.String()))
	return err
}
