package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// `takos-apply rules` and `takos-apply explain RULE` print the rule
// catalogue that lint, SARIF and the README's rule tables read
// (lint.Catalog): nothing here describes a rule of its own.

var rulesCommand = &command{
	name:    "rules",
	usage:   "rules [--format text|json]",
	short:   "rules [--format F]",
	summary: "list every lint rule with its severity",
	help: help{
		description: `List every rule a lint can report: its ID, its severity in production and in
development (--env), and what it finds. "takos-apply explain RULE" describes
one rule; "--disable RULE" and "# takos-apply:ignore RULE" silence one.
`,
		exitCodes: "Exit codes: 0 printed, 2 usage error.\n",
	},
	signals: signalAbandon,
	setup: func(e *env, fs *flag.FlagSet) action {
		format := catalogFlags(fs)
		return action{run: func(context.Context, []string) int {
			if !checkCatalogFormat(e, "rules", *format) {
				return ExitUsage
			}
			return writeRules(e, "rules", *format, lint.Catalog().Rules(), true)
		}}
	},
}

var explainCommand = &command{
	name:    "explain",
	usage:   "explain [--format text|json] RULE...",
	short:   "explain RULE...",
	summary: "describe a rule: severity, what it finds, docs",
	help: help{
		description: `Describe a rule: its severity in production and in development (--env),
what it finds, the public source it follows, its security score and where the
README documents it. "takos-apply rules" lists every rule ID.
`,
		exitCodes: "Exit codes: 0 printed, 2 usage error or an unknown rule (with the closest rule ID).\n",
	},
	args:    anyPaths, // rule IDs
	signals: signalAbandon,
	setup: func(e *env, fs *flag.FlagSet) action {
		format := catalogFlags(fs)
		return action{run: func(_ context.Context, ids []string) int { return runExplain(e, *format, ids) }}
	},
}

// catalogFormats are the values of --format for rules and explain.
var catalogFormats = []string{"text", "json"}

// catalogFlags registers --format on fs.
func catalogFlags(fs *flag.FlagSet) *string {
	return fs.String("format", "text", "output format: "+strings.Join(catalogFormats, "|"))
}

// checkCatalogFormat reports an unknown --format as a usage error.
func checkCatalogFormat(e *env, cmd, format string) bool {
	if !slices.Contains(catalogFormats, format) {
		e.errorf(cmd, "unknown --format %q%s; use %s", format, didYouMean(format, catalogFormats), strings.Join(catalogFormats, ", "))
		return false
	}
	return true
}

// runExplain prints the rules named on the command line, in that order.
// An unknown ID is a usage error that names the closest rule, and nothing
// is printed then.
func runExplain(e *env, format string, ids []string) int {
	if !checkCatalogFormat(e, "explain", format) {
		return ExitUsage
	}
	if len(ids) == 0 {
		e.errorf("explain", "name a rule, for example: takos-apply explain redirect-uri-loopback\nRun 'takos-apply rules' for the list.")
		return ExitUsage
	}
	cat := lint.Catalog()
	rules := make([]diag.Rule, 0, len(ids))
	for _, id := range ids {
		r, ok := cat.Lookup(id)
		if !ok {
			msg := fmt.Sprintf("unknown rule %q", id)
			if best := lint.ClosestRule(id); best != "" {
				msg += fmt.Sprintf("; did you mean %q?", best)
			}
			e.errorf("explain", "%s\nRun 'takos-apply rules' for the list.", msg)
			return ExitUsage
		}
		rules = append(rules, r)
	}
	return writeRules(e, "explain", format, rules, false)
}

// ruleJSON is one rule in --format json. Summary keeps its Markdown code
// spans, as SARIF's help.markdown does.
type ruleJSON struct {
	ID               string  `json:"id"`
	Production       string  `json:"production"`
	Development      string  `json:"development"`
	Summary          string  `json:"summary"`
	HelpURI          string  `json:"helpUri"`
	Ref              string  `json:"ref,omitempty"`
	SecuritySeverity float64 `json:"securitySeverity,omitempty"`
}

// writeRules prints rules as a table (list) or one block per rule
// (explain), or as {"rules": [...]} in JSON.
func writeRules(e *env, cmd, format string, rules []diag.Rule, list bool) int {
	var b strings.Builder
	switch {
	case format == "json":
		out := struct {
			Rules []ruleJSON `json:"rules"`
		}{Rules: make([]ruleJSON, 0, len(rules))}
		for _, r := range rules {
			out.Rules = append(out.Rules, ruleJSON{ID: r.ID, Production: r.Production.String(), Development: r.Development.String(),
				Summary: r.Summary, HelpURI: r.HelpURL, Ref: r.Ref, SecuritySeverity: r.SecuritySeverity})
		}
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			e.errorf(cmd, "%v", err)
			return ExitFailure
		}
	case list:
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RULE\tPRODUCTION\tDEVELOPMENT\tFINDS")
		for _, r := range rules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Production, r.Development, plainSummary(r.Summary))
		}
		tw.Flush()
		fmt.Fprintf(&b, "\n%d rules. 'takos-apply explain RULE' describes one.\n", len(rules))
	default:
		for i, r := range rules {
			if i > 0 {
				b.WriteByte('\n')
			}
			explainRule(&b, r)
		}
	}
	if _, err := io.WriteString(e.stdout, b.String()); err != nil {
		e.errorf(cmd, "%v", err)
		return ExitFailure
	}
	return ExitOK
}

// explainRule writes one rule as explain prints it.
func explainRule(w io.Writer, r diag.Rule) {
	fmt.Fprintf(w, "%s: %s\n", r.ID, plainSummary(r.Summary))
	sev := r.Production.String() + " in production and development"
	if r.Production != r.Development {
		sev = fmt.Sprintf("%s in production, %s in development (--env)", r.Production, r.Development)
	}
	fmt.Fprintf(w, "  severity:  %s\n", sev)
	if r.Ref != "" {
		fmt.Fprintf(w, "  source:    %s\n", r.Ref)
	}
	if r.SecuritySeverity > 0 {
		fmt.Fprintf(w, "  security:  %s of 10 (SARIF security-severity; code scanning ranks alerts by it)\n",
			strconv.FormatFloat(r.SecuritySeverity, 'f', 1, 64))
	}
	fmt.Fprintf(w, "  docs:      %s\n", r.HelpURL)
	fmt.Fprintf(w, "  silence:   --disable %s, or a comment: # takos-apply:ignore %s\n", r.ID, r.ID)
}

// plainSummary drops the Markdown code-span backticks of a summary for a
// terminal.
func plainSummary(s string) string { return strings.ReplaceAll(s, "`", "") }
