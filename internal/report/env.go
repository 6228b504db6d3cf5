package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/takos-dev/takos-apply/internal/appenv"
	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// The control-plane env part of a plan or result (spec.oauth.autoEnv):
// where the credentials are stored, which workers receive them and their
// rollout state. JSON adds it under "env"; the document keeps its shape
// otherwise.

type jsonEnvWorker struct {
	Name      string   `json:"name"`
	ServiceID string   `json:"service_id,omitempty"`
	Hostname  string   `json:"hostname,omitempty"`
	Create    bool     `json:"create_service,omitempty"`
	Created   bool     `json:"created_service,omitempty"`
	Link      []string `json:"link,omitempty"`
	Linked    []string `json:"linked,omitempty"`
	State     string   `json:"state"`
}

type jsonRetiring struct {
	ClientID   string   `json:"client_id"`
	ReplacedBy string   `json:"replaced_by,omitempty"`
	WaitsFor   []string `json:"waits_for"`
}

type jsonEnv struct {
	SpaceID     string          `json:"space_id"`
	Names       []string        `json:"names"`
	Link        bool            `json:"link"`
	CreateGroup bool            `json:"create_group,omitempty"`
	Workers     []jsonEnvWorker `json:"workers"`
	Unlinked    []string        `json:"receive_nothing"`
	Rollout     string          `json:"rollout,omitempty"`
	Retiring    []jsonRetiring  `json:"retiring"`
	Revoked     []string        `json:"revoked_retiring,omitempty"`
	Steps       []string        `json:"steps,omitempty"`
}

type jsonResultEnv struct {
	jsonResult
	Env *jsonEnv `json:"env,omitempty"`
}

// planClientID is the client id the plan's env steps are computed for: the
// current client, or "" when the plan issues a new one.
func planClientID(p reconcile.Plan) string {
	if p.Action == reconcile.ActionCreate || p.Action == reconcile.ActionRotate {
		return ""
	}
	return p.ClientID
}

// WritePlanEnv is WritePlan with the env part of env (nil: none).
func WritePlanEnv(w io.Writer, format, path string, p reconcile.Plan, env *appenv.Plan) error {
	if env == nil {
		return WritePlan(w, format, path, p)
	}
	id := planClientID(p)
	issues := id == ""
	if format == "json" {
		j := &jsonEnv{SpaceID: env.Space.ID, Names: []string{env.Options.Names.ID, env.Options.Names.Secret}, Link: env.App.Link,
			CreateGroup: env.App.Link && len(env.Workers) > 0 && env.Group == nil, Workers: []jsonEnvWorker{}, Unlinked: unlinked(env.App),
			Retiring: []jsonRetiring{}, Steps: env.Describe(id, issues)}
		for _, wk := range env.Workers {
			jw := jsonEnvWorker{Name: wk.Name, Create: wk.Service == nil, Link: wk.Missing, State: appenv.StateNotDeployed}
			if wk.Service != nil {
				jw.ServiceID, jw.Hostname = wk.Service.ID, wk.Service.Hostname
			}
			if !issues {
				jw.State = wk.State(id)
			}
			j.Workers = append(j.Workers, jw)
		}
		for _, r := range env.Retiring {
			j.Retiring = append(j.Retiring, jsonRetiring{ClientID: r.ID, ReplacedBy: r.ReplacedBy, WaitsFor: pendingFor(env, id)})
		}
		return writeJSONDoc(w, jsonResultEnv{jsonResult{Manifest: path, Action: string(p.Action), ClientID: p.ClientID, Changes: jsonChanges(p.Changes)}, j})
	}
	if err := WritePlan(w, format, path, p); err != nil {
		return err
	}
	return writeEnvLines(w, "Env", env.Describe(id, issues))
}

func pendingFor(env *appenv.Plan, id string) []string {
	out := []string{}
	for _, wk := range env.Workers {
		if id == "" || wk.State(id) == appenv.StatePending {
			if wk.DeploymentID != "" {
				out = append(out, wk.Name)
			}
		}
	}
	return out
}

func unlinked(app appenv.App) []string {
	out := []string{}
	for _, c := range app.Containers {
		out = append(out, "container "+c)
	}
	for _, s := range app.Services {
		out = append(out, "service "+s)
	}
	return out
}

func writeEnvLines(w io.Writer, head string, lines []string) error {
	var b strings.Builder
	for i, l := range lines {
		if i == 0 {
			fmt.Fprintf(&b, "%s: %s\n", head, displayText(l))
			continue
		}
		fmt.Fprintf(&b, "  %s\n", displayText(l))
	}
	_, err := io.WriteString(safetext.Guard(w), b.String())
	return err
}

// WriteResultEnv is WriteResult with what the env part of the run did.
func WriteResultEnv(w io.Writer, format, path string, res reconcile.Result, env *appenv.Result, link bool) error {
	if env == nil {
		return WriteResult(w, format, path, res)
	}
	if format == "json" {
		j := &jsonEnv{SpaceID: env.Space.ID, Names: []string{env.Names.ID, env.Names.Secret}, Link: link, Workers: []jsonEnvWorker{},
			Unlinked: append([]string{}, env.Unlinked...), Rollout: env.Rollout(link), Retiring: []jsonRetiring{}, Revoked: env.Revoked}
		for _, wk := range env.Workers {
			j.Workers = append(j.Workers, jsonEnvWorker{Name: wk.Name, ServiceID: wk.ServiceID, Hostname: wk.Hostname, Created: wk.Created, Linked: wk.Linked, State: wk.State})
		}
		for _, wt := range env.Waiting {
			j.Retiring = append(j.Retiring, jsonRetiring{ClientID: wt.ClientID, ReplacedBy: env.ClientID, WaitsFor: wt.Workers})
		}
		return writeJSONDoc(w, jsonResultEnv{jsonResult{Manifest: path, Action: res.Action, ClientID: res.ClientID, Changes: jsonChanges(res.Changes)}, j})
	}
	if err := WriteResult(w, format, path, res); err != nil {
		return err
	}
	return writeEnvLines(w, "Env", EnvResultLines(env, link))
}

// EnvResultLines describes what the env part of a run did, one fact a
// line; the first names the space.
func EnvResultLines(env *appenv.Result, link bool) []string {
	n := env.Names
	lines := []string{fmt.Sprintf("Takos space %s holds %s = %s and %s", env.Space.ID, n.ID, env.ClientID, n.Secret)}
	switch {
	case !link:
		lines = append(lines, "autoEnv is false: nothing linked; link the names to the app's workers in Takos")
	case len(env.Workers) == 0:
		lines = append(lines, "no worker receives them (spec.workers is empty)")
	}
	if env.GroupCreated {
		lines = append(lines, fmt.Sprintf("created group %s for the first deploy to adopt", env.GroupID))
	}
	for _, wk := range env.Workers {
		var parts []string
		if wk.Created {
			parts = append(parts, "created service "+wk.ServiceID+" ("+wk.Hostname+")")
		}
		if len(wk.Linked) > 0 {
			parts = append(parts, "linked "+strings.Join(wk.Linked, ", "))
		}
		parts = append(parts, appenv.StateLabel(wk.State))
		lines = append(lines, fmt.Sprintf("worker %s: %s", wk.Name, strings.Join(parts, "; ")))
	}
	if len(env.Unlinked) > 0 {
		lines = append(lines, strings.Join(env.Unlinked, ", ")+": receive nothing (Takos gives containers and services no environment)")
	}
	for _, id := range env.Revoked {
		lines = append(lines, "revoked retiring client "+id+": no worker runs it any more")
	}
	for _, wt := range env.Waiting {
		lines = append(lines, fmt.Sprintf("retiring client %s stays active until %s: redeploy, then run takos-apply again", wt.ClientID, appenv.WorkersRun(wt.Workers, env.ClientID)))
	}
	return append(lines, env.Notes...)
}

// JobSummaryEnv adds the env part to JobSummary.
func JobSummaryEnv(res reconcile.Result, p reconcile.Plan, env *appenv.Result, link bool) string {
	s := JobSummary(res, p)
	if env == nil {
		return s
	}
	rows := [][]string{{"space", env.Space.ID, ""}, {"rollout", env.Rollout(link), ""}}
	for _, wk := range env.Workers {
		rows = append(rows, []string{"worker " + safetext.Compact(wk.Name, 80), appenv.StateLabel(wk.State), wk.Hostname})
	}
	for _, u := range env.Unlinked {
		rows = append(rows, []string{safetext.Compact(u, 80), "receives nothing", ""})
	}
	return s + "\n" + export.MarkdownTable([]string{"credentials", "state", "hostname"}, rows)
}
