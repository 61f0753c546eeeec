package sieve

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// RuntimeError is a script failure during evaluation; the caller falls
// back to the implicit keep.
type RuntimeError struct {
	Line int
	Msg  string
}

func (e *RuntimeError) Error() string {
	return fmt.Sprintf("line %d: runtime error: %s", e.Line, e.Msg)
}

// ErrStepLimit is wrapped by the error of an evaluation that ran out of
// its step budget (Limits.MaxSteps).
var ErrStepLimit = errors.New("sieve: evaluation step limit exceeded")

type flow int

const (
	flowNext flow = iota
	flowStop
	flowReturn
)

// frame is the variable scope of one script (RFC 6609 §3.4: included
// scripts have their own variables except the global ones).
type frame struct {
	s         *Script
	vars      map[string]string
	globals   map[string]bool
	matchVars []string
}

type runner struct {
	ctx  context.Context
	msg  Message
	env  Env
	lim  Limits
	now  time.Time
	res  *Result
	fr   *frame
	line int

	steps        int
	cancelled    bool // implicit keep cancelled
	rejected     bool
	delivered    bool // keep, fileinto or redirect happened
	vacationDone bool
	redirects    int
	edits        int
	internal     string // RFC 5232 internal flags variable
	globals      map[string]string
	headers      map[string][]string // edited header view, by lower-case name
	regexCache   map[string]*regexp.Regexp
	included     map[string]bool // every script included with :once, by key
	active       map[string]bool // include chain, for cycle detection
	includeCache map[string]*Script
	depth        int
}

// Evaluate runs the script for one message. On error the returned Result
// is FallbackResult() — the implicit keep — so mail is never lost; the
// error says why (log it).
func (s *Script) Evaluate(ctx context.Context, msg Message, env Env) (*Result, error) {
	if env.Now == nil {
		env.Now = time.Now
	}
	if env.SubaddressSeparator == "" {
		env.SubaddressSeparator = "+"
	}
	r := &runner{ctx: ctx, msg: msg, env: env, lim: s.lim, now: env.Now(), res: &Result{},
		globals: map[string]string{}, regexCache: map[string]*regexp.Regexp{},
		included: map[string]bool{}, active: map[string]bool{}, includeCache: map[string]*Script{}}
	r.fr = &frame{s: s, vars: map[string]string{}, globals: map[string]bool{}}
	_, err := r.exec(s.cmds)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		fb := FallbackResult()
		fb.Steps = r.steps
		return fb, err
	}
	if !r.cancelled {
		r.res.Actions = append(r.res.Actions, Keep{Flags: splitFlags(r.internal), Implicit: true})
	}
	r.res.Steps = r.steps
	return r.res, nil
}

func (r *runner) note(format string, args ...any) {
	if len(r.res.Notes) < maxNotes {
		r.res.Notes = append(r.res.Notes, fmt.Sprintf("line %d: ", r.line)+fmt.Sprintf(format, args...))
	}
}

func (r *runner) errf(format string, args ...any) error {
	return &RuntimeError{Line: r.line, Msg: fmt.Sprintf(format, args...)}
}

// step charges n units of the evaluation budget.
func (r *runner) step(n int) error {
	r.steps += n
	if r.steps > r.lim.MaxSteps {
		return fmt.Errorf("line %d: %w (%d)", r.line, ErrStepLimit, r.lim.MaxSteps)
	}
	return nil
}

func (r *runner) exec(cmds []*cmd) (flow, error) {
	for _, c := range cmds {
		r.line = c.line
		if err := r.step(1); err != nil {
			return flowStop, err
		}
		if err := r.ctx.Err(); err != nil {
			return flowStop, err
		}
		f, err := r.command(c)
		if err != nil || f != flowNext {
			return f, err
		}
	}
	return flowNext, nil
}

func (r *runner) command(c *cmd) (flow, error) {
	switch c.name {
	case "if":
		ok, err := r.test(c.tests[0])
		if err != nil {
			return flowStop, err
		}
		if ok {
			return r.exec(c.block)
		}
		for _, e := range c.elifs {
			r.line = e.line
			if e.name == "else" {
				return r.exec(e.block)
			}
			ok, err := r.test(e.tests[0])
			if err != nil {
				return flowStop, err
			}
			if ok {
				return r.exec(e.block)
			}
		}
		return flowNext, nil
	case "stop":
		return flowStop, nil
	case "return":
		return flowReturn, nil
	case "keep":
		flags := r.internal
		if a, ok := c.tags["flags"]; ok {
			flags = r.flagString(a.Strs)
		}
		return flowNext, r.store("INBOX", splitFlags(flags), false, false, true)
	case "fileinto":
		flags := r.internal
		if a, ok := c.tags["flags"]; ok {
			flags = r.flagString(a.Strs)
		}
		_, cp := c.tags["copy"]
		_, create := c.tags["create"]
		mbox := r.expand(c.pos[0].Strs[0])
		if mbox == "" {
			return flowStop, r.errf("fileinto: empty mailbox name")
		}
		return flowNext, r.store(mbox, splitFlags(flags), create, cp, false)
	case "redirect":
		_, cp := c.tags["copy"]
		return flowNext, r.redirect(r.expand(c.pos[0].Strs[0]), cp)
	case "discard":
		r.cancelled = true
		return flowNext, r.add(Discard{})
	case "reject", "ereject":
		if r.rejected || r.delivered || r.vacationDone {
			return flowStop, r.errf("%s action conflicts with an earlier keep, fileinto, redirect, vacation or reject", c.name)
		}
		r.rejected, r.cancelled = true, true
		return flowNext, r.add(Reject{Reason: r.expand(c.pos[0].Strs[0]), Extended: c.name == "ereject"})
	case "setflag", "addflag", "removeflag":
		return flowNext, r.flagCommand(c)
	case "set":
		return flowNext, r.set(c)
	case "vacation":
		return flowNext, r.vacation(c)
	case "addheader":
		return flowNext, r.addHeader(c)
	case "deleteheader":
		return flowNext, r.deleteHeader(c)
	case "include":
		return r.include(c)
	case "global":
		for _, n := range c.pos[0].Strs {
			r.fr.globals[strings.ToLower(n)] = true
		}
		return flowNext, nil
	}
	return flowStop, r.errf("command %s not implemented", c.name)
}

func (r *runner) add(a Action) error {
	n := 0
	for _, x := range r.res.Actions {
		switch x.(type) {
		case AddHeader, DeleteHeader:
		default:
			n++
		}
	}
	if n >= r.lim.MaxActions {
		return r.errf("more than %d actions", r.lim.MaxActions)
	}
	r.res.Actions = append(r.res.Actions, a)
	return nil
}

// store handles keep and fileinto, merging duplicates (RFC 5228 §2.10.3):
// the same mailbox twice is one delivery with the union of the flags.
func (r *runner) store(mbox string, flags []string, create, cp, isKeep bool) error {
	if r.rejected {
		return r.errf("%s conflicts with an earlier reject", map[bool]string{true: "keep", false: "fileinto"}[isKeep])
	}
	if !cp {
		r.cancelled = true
	}
	r.delivered = true
	for i, a := range r.res.Actions {
		switch x := a.(type) {
		case Keep:
			if isKeep || strings.EqualFold(mbox, "INBOX") {
				x.Flags = unionFlags(x.Flags, flags)
				r.res.Actions[i] = x
				return nil
			}
		case FileInto:
			if x.Mailbox == mbox || (strings.EqualFold(mbox, "INBOX") && strings.EqualFold(x.Mailbox, "INBOX")) {
				x.Flags = unionFlags(x.Flags, flags)
				x.Create = x.Create || create
				x.Copy = x.Copy && cp
				r.res.Actions[i] = x
				return nil
			}
		}
	}
	if isKeep {
		return r.add(Keep{Flags: flags})
	}
	return r.add(FileInto{Mailbox: mbox, Flags: flags, Create: create, Copy: cp})
}

func (r *runner) redirect(addr string, cp bool) error {
	if r.rejected {
		return r.errf("redirect conflicts with an earlier reject")
	}
	if !validRedirect(addr) {
		return r.errf("redirect: invalid address '%s'", addr)
	}
	a, _ := mail.ParseAddress(addr)
	if !cp {
		r.cancelled = true
	}
	r.delivered = true
	for i, x := range r.res.Actions {
		if rd, ok := x.(Redirect); ok && strings.EqualFold(rd.Address, a.Address) {
			rd.Copy = rd.Copy && cp
			r.res.Actions[i] = rd
			return nil
		}
	}
	r.redirects++
	if r.redirects > r.lim.MaxRedirects {
		return r.errf("more than %d redirects", r.lim.MaxRedirects)
	}
	return r.add(Redirect{Address: a.Address, Copy: cp})
}

// header returns the (possibly edited) values of a header field.
func (r *runner) header(name string) []string {
	if v, ok := r.headers[strings.ToLower(name)]; ok {
		return v
	}
	return r.msg.Header(name)
}

// addressHeader returns the values the address test parses: the edited
// values when editheader touched the field, else the raw values when the
// message offers them.
func (r *runner) addressHeader(name string) []string {
	if v, ok := r.headers[strings.ToLower(name)]; ok {
		return v
	}
	if rh, ok := r.msg.(RawHeaderMessage); ok {
		return rh.RawHeader(name)
	}
	return r.msg.Header(name)
}

func (r *runner) include(c *cmd) (flow, error) {
	name := r.expand(c.pos[0].Strs[0])
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return flowStop, r.errf("include: invalid script name '%s'", name)
	}
	_, global := c.tags["global"]
	_, once := c.tags["once"]
	_, optional := c.tags["optional"]
	key := "personal/" + name
	if global {
		key = "global/" + name
	}
	if once && r.included[key] {
		return flowNext, nil
	}
	if r.active[key] {
		return flowStop, r.errf("include: script '%s' includes itself", name)
	}
	if r.depth+1 > r.lim.MaxIncludeDepth {
		return flowStop, r.errf("include nested deeper than %d", r.lim.MaxIncludeDepth)
	}
	s := r.includeCache[key]
	if s == nil {
		if len(r.includeCache) >= r.lim.MaxIncludes {
			return flowStop, r.errf("more than %d included scripts", r.lim.MaxIncludes)
		}
		var src []byte
		var err error
		if r.env.Scripts == nil {
			err = ErrScriptNotFound
		} else {
			src, err = r.env.Scripts.LoadScript(r.ctx, name, global)
		}
		if errors.Is(err, ErrScriptNotFound) && optional {
			return flowNext, nil
		}
		if err != nil {
			return flowStop, r.errf("include: cannot load script '%s': %v", name, err)
		}
		s, err = Compile(src, r.lim)
		if err != nil {
			return flowStop, r.errf("include: script '%s': %v", name, err)
		}
		r.includeCache[key] = s
	}
	if once {
		r.included[key] = true
	}
	outer, line := r.fr, r.line
	r.fr = &frame{s: s, vars: map[string]string{}, globals: map[string]bool{}}
	r.active[key] = true
	r.depth++
	f, err := r.exec(s.cmds)
	r.depth--
	delete(r.active, key)
	r.fr, r.line = outer, line
	if f == flowReturn {
		f = flowNext
	}
	return f, err
}
