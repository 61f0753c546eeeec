package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// versionString reports the module version and VCS revision recorded by the
// Go toolchain at build time.
func versionString() string {
	version, rev, dirty := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	if rev != "" {
		return fmt.Sprintf("mailroom %s (%s) %s", version, rev, runtime.Version())
	}
	return fmt.Sprintf("mailroom %s %s", version, runtime.Version())
}
