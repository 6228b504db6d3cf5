package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// A likely rename (reconcile.Rename) is shown wherever the plan is: a block
// after the text plan, "likely_rename" in its JSON, a section of the job
// summary and, in Actions, an annotation on clientName. Each says what was
// found and the two ways on: keep managing the old client by id (an update
// renames it) or create a new one on purpose.

type jsonRename struct {
	// FoundBy is "redirect_uris" or "client_id" (the id stored for the app).
	FoundBy   string          `json:"found_by"`
	Clients   []jsonClientRef `json:"clients"`
	CreateNew bool            `json:"create_new"`
}

type jsonClientRef struct {
	ClientID string `json:"client_id"`
	Name     string `json:"name"`
}

func jsonRenameOf(r *reconcile.Rename) *jsonRename {
	if r == nil {
		return nil
	}
	out := &jsonRename{FoundBy: "redirect_uris", Clients: make([]jsonClientRef, len(r.Clients)), CreateNew: r.CreateNew}
	if r.ByKnownID {
		out.FoundBy = "client_id"
	}
	for i, c := range r.Clients {
		out.Clients[i] = jsonClientRef{ClientID: c.ID, Name: c.Name}
	}
	return out
}

// renameFinding is one sentence: no client is named like the manifest, but
// this one looks like the app's. Names are quoted by safetext.Quote.
func renameFinding(p reconcile.Plan) string {
	r := p.Rename
	named := make([]string, len(r.Clients))
	for i, c := range r.Clients {
		named[i] = fmt.Sprintf("%s (named %s)", c.ID, safetext.Quote(c.Name, maxNameRunes))
	}
	var why string
	switch {
	case r.ByKnownID:
		why = "client " + named[0] + " is the one stored for this app"
	case len(named) == 1:
		why = "active client " + named[0] + " has the same " + fieldName(reconcile.FieldRedirectURIs)
	default:
		why = "active clients " + strings.Join(named, ", ") + " have the same " + fieldName(reconcile.FieldRedirectURIs)
	}
	return fmt.Sprintf("no OAuth client is named %s, but %s", safetext.Quote(p.Desired.Name, maxNameRunes), why)
}

// pinHint is the --client-id to suggest: the one candidate's id, or a
// placeholder when there are several.
func pinHint(r *reconcile.Rename) (flag, which string) {
	if len(r.Clients) == 1 {
		return "--client-id " + r.Clients[0].ID, r.Clients[0].ID
	}
	return "--client-id ID", "the one you pin"
}

// writeRename appends the likely-rename block of a text plan.
func writeRename(b *strings.Builder, p reconcile.Plan) {
	r := p.Rename
	if r == nil || p.Action != reconcile.ActionCreate {
		return
	}
	pin, which := pinHint(r)
	fmt.Fprintf(b, "Likely rename: %s.\n", renameFinding(p))
	if r.CreateNew {
		fmt.Fprintf(b, "--create-new: apply creates a new client with a new id and secret; %s stays active until you revoke it.\n", strings.Join(r.IDs(), ", "))
		return
	}
	fmt.Fprintf(b, "Creating a new client would leave %s active and give the app a new client id and secret. Choose one:\n", strings.Join(r.IDs(), ", "))
	// One column for both choices, wide enough for a real client id.
	w := max(22, len(pin))
	fmt.Fprintf(b, "  %-*s keep managing %s: apply renames it to %s, and its id and secret stay\n", w, pin, which, safetext.Quote(p.Desired.Name, maxNameRunes))
	fmt.Fprintf(b, "  %-*s create a new client on purpose; the old one stays active until you revoke it\n", w, "--create-new")
	b.WriteString("apply refuses to create until one of them is given.\n")
}

// renameMarkdown is the job summary's likely-rename section after a
// result, "" without one.
func renameMarkdown(p reconcile.Plan) string {
	if body := renameBody(p); body != "" {
		return "\n#### Likely rename\n\n" + body
	}
	return ""
}

// RenameSummary is the job summary of a plan, or of an apply that refused
// to create, with a likely rename; "" without one.
func RenameSummary(p reconcile.Plan) string {
	if body := renameBody(p); body != "" {
		return "### takos-apply: likely rename of the OAuth client\n\n" + body
	}
	return ""
}

func renameBody(p reconcile.Plan) string {
	r := p.Rename
	if r == nil || p.Action != reconcile.ActionCreate {
		return ""
	}
	var b strings.Builder
	b.WriteString("No OAuth client is named like the manifest's `clientName`, but ")
	switch {
	case r.ByKnownID:
		b.WriteString("this client is the one stored for this app:\n\n")
	case len(r.Clients) == 1:
		b.WriteString("an active client of yours has the same `redirectUris`:\n\n")
	default:
		b.WriteString("active clients of yours have the same `redirectUris`:\n\n")
	}
	rows := make([][]string, len(r.Clients))
	for i, c := range r.Clients {
		rows[i] = []string{c.ID, safetext.Shown(displayText(c.Name))}
	}
	b.WriteString(export.MarkdownTable([]string{"client id", "name"}, rows))
	b.WriteString("\n")
	if r.CreateNew {
		b.WriteString("With `--create-new` a new client is created on purpose; the client above stays active until you revoke it.\n")
		return b.String()
	}
	b.WriteString("Creating a new client would leave it active and give the app a new client id and secret. Choose one:\n\n" +
		"- `--client-id` with its id (Action input `client-id`): keep managing it; apply renames it, and its id and secret stay.\n" +
		"- `--create-new` (Action input `create-new: true`): create a new client on purpose; the old one stays active until you revoke it.\n\n" +
		"apply refuses to create until one of them is given.\n")
	return b.String()
}

// RenameAnnotation is the Actions annotation of a likely rename, on the
// manifest's clientName at pos: a warning, or a notice once --create-new
// was given. ok is false without one.
func RenameAnnotation(path string, pos diag.Pos, p reconcile.Plan) (c safetext.Command, ok bool) {
	r := p.Rename
	if r == nil || p.Action != reconcile.ActionCreate {
		return safetext.Command{}, false
	}
	pin, which := pinHint(r)
	msg := renameFinding(p)
	level := "warning"
	if r.CreateNew {
		level = "notice"
		msg += "; --create-new creates a new client and leaves " + strings.Join(r.IDs(), ", ") + " active"
	} else {
		msg += fmt.Sprintf(": keep managing %s with %s (the action's client-id input; apply renames it), or pass --create-new (create-new: true) to create a new client; apply refuses to create until one is given", which, pin)
	}
	props := []safetext.Prop{{Key: "file", Value: path}}
	if pos.Line > 0 {
		props = append(props, safetext.Prop{Key: "line", Value: strconv.Itoa(pos.Line)})
		if pos.Column > 0 {
			props = append(props, safetext.Prop{Key: "col", Value: strconv.Itoa(pos.Column)})
		}
	}
	props = append(props, safetext.Prop{Key: "title", Value: toolName + ": likely rename"})
	return safetext.NewCommand(level, props, msg), true
}
