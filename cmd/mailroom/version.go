package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/mailroom/mailroom/internal/metrics"
)

// version and commit are set by `make build`:
//
//	go build -ldflags "-X main.version=v1.2.3 -X main.commit=0123456789ab"
//
// Without them (go build, go run, go install) the module version and VCS
// revision the Go toolchain recorded are used, when it recorded any.
var (
	version string
	commit  string
)

// buildInfo labels mailroom_build_info.
func buildInfo() metrics.BuildInfo {
	v, rev := versionParts()
	return metrics.BuildInfo{Version: v, Commit: rev, GoVersion: runtime.Version()}
}

// versionString reports the version and commit this binary was built from.
func versionString() string {
	v, rev := versionParts()
	if rev != "" {
		return fmt.Sprintf("mailroom %s (%s) %s", v, rev, runtime.Version())
	}
	return fmt.Sprintf("mailroom %s %s", v, runtime.Version())
}

// versionParts is the version ("(devel)" when unknown) and the commit
// ("" when unknown, "+dirty" for a modified tree).
func versionParts() (string, string) {
	v, rev, dirty := version, commit, false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.modified":
				dirty = commit == "" && s.Value == "true"
			}
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if commit == "" && len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return v, rev
}
