package cli

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at build time by scripts/build.sh with
// -ldflags "-X github.com/takos-dev/takos-apply/internal/cli.version=1.2.3 ...".
// A plain `go install` sets none of them; Version and buildInfo then fall
// back to what the Go toolchain recorded (runtime/debug.ReadBuildInfo).
var (
	version   = ""
	commit    = "" // the source commit; see scripts/build.sh for which one
	installer = "" // how the binary was built: release, source, action-source or docker
)

// installers names each value of installer for a person reading `version`.
var installers = map[string]string{
	"release":       "release archive (scripts/release.sh)",
	"source":        "built from source (scripts/build.sh)",
	"action-source": "built from source by the GitHub Action (install: source)",
	"docker":        "Docker image (Dockerfile)",
}

// Version returns the build's version: the ldflags value, else the module
// version recorded by go install, else "devel".
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// build describes the running binary for `takos-apply version`.
type build struct {
	Version, Commit, GoVersion, Platform, Installed string
}

// buildInfo gathers what the binary knows about itself: the ldflags values
// scripts/build.sh sets, else the module version and VCS stamp that go
// build/go install record.
func buildInfo() build {
	b := build{Version: Version(), Commit: commit, GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, Installed: installers[installer]}
	bi, ok := debug.ReadBuildInfo()
	if ok {
		b.GoVersion = bi.GoVersion
	}
	if b.Commit == "" && ok {
		var rev, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" && modified == "true" {
			rev += "-dirty"
		}
		b.Commit = rev
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	if b.Installed == "" {
		switch {
		case installer != "":
			b.Installed = installer
		case ok && bi.Main.Version != "" && bi.Main.Version != "(devel)":
			b.Installed = "go install " + bi.Main.Path + "@" + bi.Main.Version
		default:
			b.Installed = "go build or go run (no release stamp)"
		}
	}
	return b
}

var versionCommand = &command{
	name:    "version",
	usage:   "version",
	summary: "print the version (also -v, --version)",
	help:    versionHelp,
	signals: signalAbandon,
	setup: func(e *env, _ *flag.FlagSet) action {
		return action{run: func(context.Context, []string) int { return runVersion(e) }}
	},
}

// runVersion prints the version on the first line (what scripts compare)
// and then how this binary came to be, as `actionlint -version` does: a
// bug report then says which source and toolchain it is about.
func runVersion(e *env) int {
	b := buildInfo()
	fmt.Fprintf(e.stdout, "takos-apply %s\ncommit: %s\nbuilt with: %s %s\ninstalled: %s\n",
		b.Version, b.Commit, b.GoVersion, b.Platform, b.Installed)
	return ExitOK
}
