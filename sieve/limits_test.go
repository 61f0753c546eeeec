package sieve

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"
)

func evalErr(t *testing.T, src string, lim Limits, env Env) (*Result, error) {
	t.Helper()
	s, err := Compile([]byte(src), lim)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return s.Evaluate(context.Background(), newTestMessage(t, baseMsg), env)
}

func TestLimitsCompile(t *testing.T) {
	cases := []struct {
		name, src string
		lim       Limits
		msg       string
	}{
		{"script size", strings.Repeat("keep;", 100), Limits{MaxScriptSize: 100}, "larger than the limit"},
		{"nesting", strings.Repeat("if true {", 5) + strings.Repeat("}", 5), Limits{MaxNesting: 4}, "nested deeper"},
		{"test nesting", "if " + strings.Repeat("not ", 10) + "true {}", Limits{MaxNesting: 4}, "nested deeper"},
		{"string length", `if header :is "a" "` + strings.Repeat("a", 200) + `" {}`, Limits{MaxStringLength: 100}, "string longer"},
		{"multiline length", "if header :is \"a\" text:\n" + strings.Repeat("a\n", 200) + ".\n{}", Limits{MaxStringLength: 100}, "string longer"},
		{"list length", `if header :is "a" [` + strings.Repeat(`"a",`, 20) + `"a"] {}`, Limits{MaxListLength: 10}, "list longer"},
		{"regex length", `require "regex"; if header :regex "a" "` + strings.Repeat("a", 50) + `" {}`, Limits{MaxRegexLength: 10}, "longer than 10"},
		{"variables", `require "variables"; set "a" "1"; set "b" "1"; set "c" "1";`, Limits{MaxVariables: 2}, "more than 2 variables"},
	}
	for _, c := range cases {
		_, err := Compile([]byte(c.src), c.lim)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.msg)
		}
	}
	// The same scripts compile with the defaults.
	for _, c := range cases[1:] {
		if _, err := Compile([]byte(c.src), Limits{}); err != nil {
			t.Errorf("%s with defaults: %v", c.name, err)
		}
	}
}

func TestLimitsRuntime(t *testing.T) {
	cases := []struct {
		name, src string
		lim       Limits
		msg       string
	}{
		{"actions", `require ["fileinto"]; fileinto "a"; fileinto "b"; fileinto "c";`, Limits{MaxActions: 2}, "more than 2 actions"},
		{"redirects", `redirect "a@x.org"; redirect "b@x.org"; redirect "c@x.org";`, Limits{MaxRedirects: 2}, "more than 2 redirects"},
		{"steps", strings.Repeat(`if header :contains "subject" "x" {}`, 50), Limits{MaxSteps: 60}, "step limit"},
		{"include depth", `require "include"; include "a";`, Limits{MaxIncludeDepth: 2}, "nested deeper than 2"},
		{"header edits", `require "editheader"; addheader "X-A" "1"; addheader "X-A" "2";`, Limits{MaxHeaderEdits: 1}, "header edits"},
		{"invalid redirect", `require "variables"; set "a" "not an address"; redirect "${a}";`, Limits{}, "invalid address"},
	}
	env := testEnv()
	env.Scripts = fakeScripts{"personal/a": `require "include"; include "b";`, "personal/b": `require "include"; include "c";`, "personal/c": `keep;`}
	for _, c := range cases {
		res, err := evalErr(t, c.src, c.lim, env)
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.msg)
		}
		checkActions(t, c.name, res, []Action{implicitKeep()})
	}
	if _, err := evalErr(t, strings.Repeat(`if true {}`, 50), Limits{MaxSteps: 10}, env); !errors.Is(err, ErrStepLimit) {
		t.Errorf("step limit error %v does not wrap ErrStepLimit", err)
	}
}

// Variables never grow past MaxVariableSize, and expanded strings past
// MaxStringLength, however a script doubles them.
func TestVariableGrowthBounded(t *testing.T) {
	src := `require ["variables", "fileinto"]; set "a" "0123456789";` +
		strings.Repeat(`set "a" "${a}${a}${a}${a}";`, 30) + `set :length "n" "${a}"; fileinto "${n}";`
	s, err := Compile([]byte(src), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	msg := newTestMessage(t, baseMsg)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	res, err := s.Evaluate(context.Background(), msg, testEnv())
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	checkActions(t, "growth", res, []Action{FileInto{Mailbox: "4096"}})
	// Unbounded, the value would be 10×4^30 bytes; bounded, 30 sets of at
	// most 4×4096 bytes each.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("evaluation allocated %d bytes, want < 4 MiB", alloc)
	}
}

func TestContextCancelled(t *testing.T) {
	s, err := Compile([]byte(`keep;`), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := s.Evaluate(ctx, newTestMessage(t, baseMsg), testEnv())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	checkActions(t, "cancelled", res, []Action{implicitKeep()})
}

// A :matches over a large body with a pattern that backtracks at every
// position stops at the step budget instead of running len(body)×len(pattern).
func TestGlobStopsAtStepBudget(t *testing.T) {
	body := strings.Repeat("a", 1<<20)
	msg := "From: a@b.c\nSubject: x\n\n" + body + "\n"
	src := `require "body"; if body :raw :matches "` + strings.Repeat("*a", 500) + `b" { discard; }`
	s, err := Compile([]byte(src), Limits{MaxSteps: 10000})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res, err := s.Evaluate(context.Background(), newTestMessage(t, msg), testEnv())
	if !errors.Is(err, ErrStepLimit) {
		t.Fatalf("err = %v, want the step limit", err)
	}
	if res.Steps > 10000+2 {
		t.Errorf("steps %d", res.Steps)
	}
	// Unbounded, the match would take len(body)×len(pattern) steps
	// (hours); a loaded CI machine under -race takes well under this.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
}
