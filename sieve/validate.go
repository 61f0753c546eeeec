package sieve

import (
	"fmt"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Capabilities lists the extensions this package implements, in the order
// a ManageSieve CAPABILITY response would print them.
var capabilityList = []string{
	"fileinto", "reject", "ereject", "envelope", "encoded-character",
	"comparator-i;octet", "comparator-i;ascii-casemap", "comparator-i;ascii-numeric",
	"imap4flags", "variables", "vacation", "vacation-seconds", "relational",
	"subaddress", "copy", "body", "date", "index", "editheader", "duplicate",
	"include", "regex", "mailbox", "spamtest", "spamtestplus", "virustest",
}

// Capabilities returns the extension names this package implements.
func Capabilities() []string { return append([]string(nil), capabilityList...) }

type argType int

const (
	tNone argType = iota
	tNumber
	tString
	tStringList
)

func (t argType) String() string {
	switch t {
	case tNumber:
		return "number"
	case tString:
		return "string"
	case tStringList:
		return "string list"
	}
	return "nothing"
}

type tagSpec struct {
	arg   argType
	group string // tags of one group exclude each other
	ext   string // capability that must be required
}

type cmdSpec struct {
	ext      []string // one of these capabilities must be required
	test     bool     // a test, not a command
	pos      []argType
	minPos   int  // positional arguments that must be present
	optFront bool // the optional positional arguments come first (setflag, hasflag)
	tags     map[string]tagSpec
	tests    int  // 0 none, 1 one test, 2 test list
	block    bool // command takes a block
}

var (
	comparatorTags = map[string]tagSpec{"comparator": {tString, "comparator", ""}}
	matchTags      = map[string]tagSpec{
		"is": {tNone, "match", ""}, "contains": {tNone, "match", ""}, "matches": {tNone, "match", ""},
		"regex": {tNone, "match", "regex"},
		"count": {tString, "match", "relational"}, "value": {tString, "match", "relational"},
	}
	addrTags = map[string]tagSpec{
		"all": {tNone, "addrpart", ""}, "localpart": {tNone, "addrpart", ""}, "domain": {tNone, "addrpart", ""},
		"user": {tNone, "addrpart", "subaddress"}, "detail": {tNone, "addrpart", "subaddress"},
	}
	indexTags = map[string]tagSpec{"index": {tNumber, "", "index"}, "last": {tNone, "", "index"}}
	zoneTags  = map[string]tagSpec{"zone": {tString, "zone", ""}, "originalzone": {tNone, "zone", ""}}
)

func tagsOf(sets ...map[string]tagSpec) map[string]tagSpec {
	m := map[string]tagSpec{}
	for _, s := range sets {
		for k, v := range s {
			m[k] = v
		}
	}
	return m
}

// specs returns the command and test table; built per call so there is no
// package-level mutable state.
func specs() (commands, tests map[string]cmdSpec) {
	flagsTag := map[string]tagSpec{"flags": {tStringList, "", "imap4flags"}}
	copyTag := map[string]tagSpec{"copy": {tNone, "", "copy"}}
	commands = map[string]cmdSpec{
		"require":  {pos: []argType{tStringList}, minPos: 1},
		"if":       {tests: 1, block: true},
		"elsif":    {tests: 1, block: true},
		"else":     {block: true},
		"stop":     {},
		"keep":     {tags: flagsTag},
		"discard":  {},
		"redirect": {pos: []argType{tString}, minPos: 1, tags: copyTag},
		"fileinto": {ext: []string{"fileinto"}, pos: []argType{tString}, minPos: 1,
			tags: tagsOf(copyTag, flagsTag, map[string]tagSpec{"create": {tNone, "", "mailbox"}})},
		"reject":     {ext: []string{"reject"}, pos: []argType{tString}, minPos: 1},
		"ereject":    {ext: []string{"ereject"}, pos: []argType{tString}, minPos: 1},
		"setflag":    {ext: []string{"imap4flags"}, pos: []argType{tString, tStringList}, minPos: 1, optFront: true},
		"addflag":    {ext: []string{"imap4flags"}, pos: []argType{tString, tStringList}, minPos: 1, optFront: true},
		"removeflag": {ext: []string{"imap4flags"}, pos: []argType{tString, tStringList}, minPos: 1, optFront: true},
		"set":        {ext: []string{"variables"}, pos: []argType{tString, tString}, minPos: 2, tags: modifierTags()},
		"addheader":  {ext: []string{"editheader"}, pos: []argType{tString, tString}, minPos: 2, tags: map[string]tagSpec{"last": {tNone, "", ""}}},
		"deleteheader": {ext: []string{"editheader"}, pos: []argType{tString, tStringList}, minPos: 1,
			tags: tagsOf(comparatorTags, matchTags, map[string]tagSpec{"index": {tNumber, "", ""}, "last": {tNone, "", ""}})},
		"vacation": {ext: []string{"vacation"}, pos: []argType{tString}, minPos: 1, tags: map[string]tagSpec{
			"days": {tNumber, "period", ""}, "seconds": {tNumber, "period", "vacation-seconds"},
			"subject": {tString, "", ""}, "from": {tString, "", ""}, "addresses": {tStringList, "", ""},
			"mime": {tNone, "", ""}, "handle": {tString, "", ""}}},
		"include": {ext: []string{"include"}, pos: []argType{tString}, minPos: 1, tags: map[string]tagSpec{
			"personal": {tNone, "location", ""}, "global": {tNone, "location", ""},
			"once": {tNone, "", ""}, "optional": {tNone, "", ""}}},
		"return": {ext: []string{"include"}},
		"global": {ext: []string{"include"}, pos: []argType{tStringList}, minPos: 1},
	}
	tests = map[string]cmdSpec{
		"address":  {test: true, pos: []argType{tStringList, tStringList}, minPos: 2, tags: tagsOf(comparatorTags, matchTags, addrTags, indexTags)},
		"envelope": {test: true, ext: []string{"envelope"}, pos: []argType{tStringList, tStringList}, minPos: 2, tags: tagsOf(comparatorTags, matchTags, addrTags)},
		"header":   {test: true, pos: []argType{tStringList, tStringList}, minPos: 2, tags: tagsOf(comparatorTags, matchTags, indexTags)},
		"exists":   {test: true, pos: []argType{tStringList}, minPos: 1},
		"size": {test: true, pos: []argType{tNumber}, minPos: 1, tags: map[string]tagSpec{
			"over": {tNone, "size", ""}, "under": {tNone, "size", ""}}},
		"allof":         {test: true, tests: 2},
		"anyof":         {test: true, tests: 2},
		"not":           {test: true, tests: 1},
		"true":          {test: true},
		"false":         {test: true},
		"mailboxexists": {test: true, ext: []string{"mailbox"}, pos: []argType{tStringList}, minPos: 1},
		"hasflag": {test: true, ext: []string{"imap4flags"}, pos: []argType{tStringList, tStringList}, minPos: 1, optFront: true,
			tags: tagsOf(comparatorTags, matchTags)},
		"string": {test: true, ext: []string{"variables"}, pos: []argType{tStringList, tStringList}, minPos: 2, tags: tagsOf(comparatorTags, matchTags)},
		"body": {test: true, ext: []string{"body"}, pos: []argType{tStringList}, minPos: 1, tags: tagsOf(comparatorTags, matchTags, map[string]tagSpec{
			"raw": {tNone, "transform", ""}, "content": {tStringList, "transform", ""}, "text": {tNone, "transform", ""}})},
		"date": {test: true, ext: []string{"date"}, pos: []argType{tString, tString, tStringList}, minPos: 3,
			tags: tagsOf(comparatorTags, matchTags, zoneTags, indexTags)},
		"currentdate": {test: true, ext: []string{"date"}, pos: []argType{tString, tStringList}, minPos: 2,
			tags: tagsOf(comparatorTags, matchTags, map[string]tagSpec{"zone": {tString, "zone", ""}})},
		"duplicate": {test: true, ext: []string{"duplicate"}, tags: map[string]tagSpec{
			"handle": {tString, "", ""}, "header": {tString, "uniqueid", ""}, "uniqueid": {tString, "uniqueid", ""},
			"seconds": {tNumber, "", ""}, "last": {tNone, "", ""}}},
		"spamtest":  {test: true, ext: []string{"spamtest", "spamtestplus"}, pos: []argType{tString}, minPos: 1, tags: tagsOf(comparatorTags, matchTags, map[string]tagSpec{"percent": {tNone, "", "spamtestplus"}})},
		"virustest": {test: true, ext: []string{"virustest"}, pos: []argType{tString}, minPos: 1, tags: tagsOf(comparatorTags, matchTags)},
	}
	return commands, tests
}

func modifierTags() map[string]tagSpec {
	m := map[string]tagSpec{}
	for _, n := range []string{"lower", "upper", "lowerfirst", "upperfirst", "quotewildcard", "quoteregex", "length", "encodeurl"} {
		m[n] = tagSpec{tNone, "", ""}
	}
	// :quoteregex needs regex (draft-ietf-sieve-regex §4); checked in validate.
	return m
}

// cmd is a validated command or test.
type cmd struct {
	name  string
	line  int
	tags  map[string]Arg
	pos   []Arg // aligned with the spec: pos[i] is nil-kind (Kind==argTag) when an optional argument is absent
	tests []*cmd
	block []*cmd
	elifs []*cmd // for "if": the elsif/else branches that follow it, in order

	m matcher // match type, comparator, relational operator, constant regex
}

type validator struct {
	lim      Limits
	caps     map[string]bool
	commands map[string]cmdSpec
	testsT   map[string]cmdSpec
	nvars    map[string]bool
}

// validate checks the AST against the command table and the required
// capabilities and compiles it.
func validate(nodes []*Node, lim Limits) ([]*cmd, map[string]bool, error) {
	v := &validator{lim: lim, caps: map[string]bool{}, nvars: map[string]bool{}}
	v.commands, v.testsT = specs()
	seenOther := false
	var out []*cmd
	for _, n := range nodes {
		if n.Name == "require" {
			if seenOther {
				return nil, nil, &Error{Line: n.Line, Msg: "require command must appear before all other commands"}
			}
			c, err := v.node(n, false)
			if err != nil {
				return nil, nil, err
			}
			for _, capName := range c.pos[0].Strs {
				if !knownCapability(capName) {
					return nil, nil, &Error{Line: n.Line, Msg: fmt.Sprintf("require command: unknown Sieve capability '%s'", capName)}
				}
				v.caps[capName] = true
			}
			continue
		}
		seenOther = true
	}
	if v.caps["encoded-character"] {
		for _, n := range nodes {
			decodeNode(n)
		}
	}
	var err error
	out, err = v.block(nodes, true)
	return out, v.caps, err
}

func knownCapability(s string) bool {
	for _, c := range capabilityList {
		if c == s {
			return true
		}
	}
	return false
}

func (v *validator) block(nodes []*Node, top bool) ([]*cmd, error) {
	var out []*cmd
	var lastIf *cmd
	for _, n := range nodes {
		if n.Name == "require" {
			if !top {
				return nil, &Error{Line: n.Line, Msg: "require command must appear at the top level"}
			}
			continue
		}
		c, err := v.node(n, false)
		if err != nil {
			return nil, err
		}
		switch n.Name {
		case "if":
			lastIf = c
		case "elsif", "else":
			if lastIf == nil {
				return nil, &Error{Line: n.Line, Msg: fmt.Sprintf("%s command must follow an if or elsif command", n.Name)}
			}
			lastIf.elifs = append(lastIf.elifs, c)
			if n.Name == "else" {
				lastIf = nil
			}
			continue
		default:
			lastIf = nil
		}
		out = append(out, c)
	}
	return out, nil
}

func (v *validator) node(n *Node, isTest bool) (*cmd, error) {
	errf := func(format string, args ...any) error {
		return &Error{Line: n.Line, Msg: fmt.Sprintf(format, args...)}
	}
	table, kind := v.commands, "command"
	if isTest {
		table, kind = v.testsT, "test"
	}
	spec, ok := table[n.Name]
	if !ok {
		if _, other := v.testsT[n.Name]; other && !isTest {
			return nil, errf("'%s' is a test, not a command", n.Name)
		}
		if _, other := v.commands[n.Name]; other && isTest {
			return nil, errf("'%s' is a command, not a test", n.Name)
		}
		return nil, errf("unknown %s '%s' (perhaps it is part of an extension that is not required)", kind, n.Name)
	}
	if len(spec.ext) > 0 && !v.anyCap(spec.ext) {
		return nil, errf("%s %s requires the '%s' extension", n.Name, kind, spec.ext[0])
	}
	c := &cmd{name: n.Name, line: n.Line, tags: map[string]Arg{}}
	groups := map[string]string{}
	var positional []Arg
	for i := 0; i < len(n.Args); i++ {
		a := n.Args[i]
		if a.Kind != argTag {
			positional = append(positional, a)
			continue
		}
		if len(positional) > 0 {
			return nil, errf("%s %s: tag :%s after positional arguments", n.Name, kind, a.Tag)
		}
		ts, ok := spec.tags[a.Tag]
		if !ok || (ts.ext != "" && !v.caps[ts.ext]) {
			return nil, errf("unknown tagged argument ':%s' for the %s %s", a.Tag, n.Name, kind)
		}
		if _, dup := c.tags[a.Tag]; dup {
			return nil, errf("%s %s: tag :%s given twice", n.Name, kind, a.Tag)
		}
		if ts.group != "" {
			if prev, dup := groups[ts.group]; dup {
				return nil, errf("%s %s: tags :%s and :%s cannot be used together", n.Name, kind, prev, a.Tag)
			}
			groups[ts.group] = a.Tag
		}
		val := a
		if ts.arg != tNone {
			if i+1 >= len(n.Args) || !argFits(n.Args[i+1], ts.arg) {
				return nil, errf("%s %s: tag :%s needs a %s argument", n.Name, kind, a.Tag, ts.arg)
			}
			i++
			val = n.Args[i]
		}
		c.tags[a.Tag] = val
	}
	if len(positional) < spec.minPos || len(positional) > len(spec.pos) {
		if spec.minPos == len(spec.pos) {
			return nil, errf("the %s %s takes %d positional arguments, found %d", n.Name, kind, len(spec.pos), len(positional))
		}
		return nil, errf("the %s %s takes %d to %d positional arguments, found %d", n.Name, kind, spec.minPos, len(spec.pos), len(positional))
	}
	c.pos = make([]Arg, len(spec.pos))
	off := 0
	if spec.optFront {
		off = len(spec.pos) - len(positional)
	}
	for i, a := range positional {
		want := spec.pos[off+i]
		if !argFits(a, want) {
			return nil, errf("the %s %s expects a %s as argument %d, found a %s", n.Name, kind, want, i+1, a.Kind)
		}
		c.pos[off+i] = a
	}
	switch spec.tests {
	case 0:
		if len(n.Tests) > 0 {
			return nil, errf("the %s %s takes no tests", n.Name, kind)
		}
	case 1:
		if len(n.Tests) != 1 {
			return nil, errf("the %s %s needs exactly one test", n.Name, kind)
		}
	case 2:
		if len(n.Tests) == 0 {
			return nil, errf("the %s %s needs a test list", n.Name, kind)
		}
	}
	for _, t := range n.Tests {
		tc, err := v.node(t, true)
		if err != nil {
			return nil, err
		}
		c.tests = append(c.tests, tc)
	}
	if !isTest {
		if spec.block && !n.HasBlock {
			return nil, errf("the %s command needs a block", n.Name)
		}
		if !spec.block && n.HasBlock {
			return nil, errf("the %s command takes no block", n.Name)
		}
		if n.HasBlock {
			b, err := v.block(n.Block, false)
			if err != nil {
				return nil, err
			}
			c.block = b
		}
	}
	if err := v.semantic(c, n.Name); err != nil {
		return nil, err
	}
	return c, nil
}

func (v *validator) anyCap(exts []string) bool {
	for _, e := range exts {
		if v.caps[e] {
			return true
		}
	}
	return false
}

func argFits(a Arg, t argType) bool {
	switch t {
	case tNumber:
		return a.Kind == argNumber
	case tString:
		return a.Kind == argString
	case tStringList:
		return a.Kind == argString || a.Kind == argStringList
	}
	return false
}

var relOps = map[string]bool{"gt": true, "ge": true, "lt": true, "le": true, "eq": true, "ne": true}

var dateParts = map[string]bool{"year": true, "month": true, "day": true, "date": true, "julian": true,
	"hour": true, "minute": true, "second": true, "time": true, "iso8601": true, "std11": true,
	"zone": true, "weekday": true}

// semantic checks what the table cannot express.
func (v *validator) semantic(c *cmd, name string) error {
	errf := func(format string, args ...any) error {
		return &Error{Line: c.line, Msg: fmt.Sprintf(format, args...)}
	}
	hasVars := v.caps["variables"]
	constant := func(s string) bool { return !hasVars || !strings.Contains(s, "${") }
	// Match type and comparator.
	m := matcher{typ: "is", comparator: "i;ascii-casemap"}
	for _, t := range []string{"is", "contains", "matches", "regex", "count", "value"} {
		if a, ok := c.tags[t]; ok {
			m.typ = t
			if t == "count" || t == "value" {
				m.rel = strings.ToLower(a.Strs[0])
				if !relOps[m.rel] {
					return errf("invalid relational match operator '%s'", a.Strs[0])
				}
			}
		}
	}
	if a, ok := c.tags["comparator"]; ok {
		m.comparator = a.Strs[0]
		switch m.comparator {
		case "i;octet", "i;ascii-casemap":
		case "i;ascii-numeric":
			if !v.caps["comparator-i;ascii-numeric"] {
				return errf("comparator 'i;ascii-numeric' requires the 'comparator-i;ascii-numeric' extension")
			}
			if m.typ == "contains" || m.typ == "matches" || m.typ == "regex" {
				return errf("the comparator 'i;ascii-numeric' does not support the :%s match type", m.typ)
			}
		default:
			return errf("unknown comparator '%s'", m.comparator)
		}
	}
	if m.typ == "regex" {
		if m.comparator == "i;ascii-numeric" {
			return errf("the :regex match type cannot be used with i;ascii-numeric")
		}
		keys := c.keyArg(name)
		if keys != nil {
			for _, k := range keys.Strs {
				if len(k) > v.lim.MaxRegexLength {
					return errf("regular expression longer than %d bytes", v.lim.MaxRegexLength)
				}
				if constant(k) {
					if _, err := compileRegex(k, m.comparator); err != nil {
						return errf("invalid regular expression '%s': %v", k, err)
					}
				}
			}
		}
	}
	c.m = m
	// Command specific checks.
	switch name {
	case "size":
		if _, over := c.tags["over"]; !over {
			if _, under := c.tags["under"]; !under {
				return errf("the size test needs :over or :under")
			}
		}
	case "envelope":
		for _, p := range c.pos[0].Strs {
			if constant(p) {
				switch strings.ToLower(p) {
				case "from", "to", "auth":
				default:
					return errf("envelope test: unknown envelope part '%s'", p)
				}
			}
		}
	case "address":
		if !hasVars {
			for _, h := range c.pos[0].Strs {
				if !isAddressHeader(h) {
					return errf("address test: header '%s' is not allowed to contain addresses", h)
				}
			}
		}
		if _, ok := c.tags["last"]; ok {
			if _, ok := c.tags["index"]; !ok {
				return errf("%s test: :last needs :index", name)
			}
		}
	case "redirect":
		if a := c.pos[0].Strs[0]; constant(a) && !validRedirect(a) {
			return errf("redirect command: invalid address '%s'", a)
		}
	case "fileinto":
		if !utf8.ValidString(c.pos[0].Strs[0]) || c.pos[0].Strs[0] == "" {
			return errf("fileinto command: invalid mailbox name '%s'", c.pos[0].Strs[0])
		}
	case "set":
		nm := c.pos[0].Strs[0]
		if v.caps["include"] && len(nm) > 7 && strings.EqualFold(nm[:7], "global.") {
			nm = nm[7:] // RFC 6609 §3.5 global namespace
		}
		if !validVarName(nm) {
			return errf("set command: invalid variable name '%s'", nm)
		}
		if _, ok := c.tags["quoteregex"]; ok && !v.caps["regex"] {
			return errf("set command: :quoteregex requires the 'regex' extension")
		}
		v.nvars[strings.ToLower(nm)] = true
		if len(v.nvars) > v.lim.MaxVariables {
			return errf("more than %d variables", v.lim.MaxVariables)
		}
	case "setflag", "addflag", "removeflag", "hasflag":
		if c.pos[0].Kind != argTag && !hasVars {
			return errf("the %s %s takes a variable name only with the variables extension", name, kindOf(c))
		}
		if c.pos[0].Kind != argTag {
			for _, nm := range c.pos[0].Strs {
				if !validVarName(nm) {
					return errf("%s: invalid variable name '%s'", name, nm)
				}
			}
		}
	case "date", "currentdate":
		if _, ok := c.tags["last"]; ok {
			if _, ok := c.tags["index"]; !ok {
				return errf("%s test: :last needs :index", name)
			}
		}
		part := c.pos[len(c.pos)-2].Strs[0]
		if constant(part) && !dateParts[strings.ToLower(part)] {
			return errf("%s test: unknown date part '%s'", name, part)
		}
		if z, ok := c.tags["zone"]; ok && constant(z.Strs[0]) {
			if _, ok := parseZone(z.Strs[0]); !ok {
				return errf("%s test: invalid time zone '%s'", name, z.Strs[0])
			}
		}
	case "deleteheader", "addheader":
		if f := c.pos[0].Strs[0]; constant(f) && !validFieldName(f) {
			return errf("%s command: invalid header field name '%s'", name, f)
		}
		if _, ok := c.tags["last"]; ok && name == "deleteheader" {
			if _, ok := c.tags["index"]; !ok {
				return errf("deleteheader command: :last needs :index")
			}
		}
		if name == "addheader" && !utf8.ValidString(c.pos[1].Strs[0]) {
			return errf("addheader command: value is not valid UTF-8")
		}
	case "header":
		if _, ok := c.tags["last"]; ok {
			if _, ok := c.tags["index"]; !ok {
				return errf("%s test: :last needs :index", name)
			}
		}
	case "vacation":
		if a, ok := c.tags["from"]; ok && constant(a.Strs[0]) {
			if _, err := mail.ParseAddress(a.Strs[0]); err != nil {
				return errf("vacation command: invalid :from address '%s'", a.Strs[0])
			}
		}
	case "include":
		nm := c.pos[0].Strs[0]
		if constant(nm) && (nm == "" || strings.ContainsAny(nm, "/\x00") || nm == "." || nm == "..") {
			return errf("include command: invalid script name '%s'", nm)
		}
	case "global":
		if !hasVars {
			return errf("the global command requires the 'variables' extension")
		}
		for _, nm := range c.pos[0].Strs {
			if !validVarName(nm) {
				return errf("global command: invalid variable name '%s'", nm)
			}
		}
	case "spamtest", "virustest":
		if c.m.comparator == "i;ascii-casemap" {
			if _, ok := c.tags["comparator"]; !ok {
				c.m.comparator = "i;ascii-numeric"
			}
		}
	}
	return nil
}

func kindOf(c *cmd) string {
	if c.name == "hasflag" {
		return "test"
	}
	return "command"
}

// keyArg is the argument holding the match keys of a test.
func (c *cmd) keyArg(name string) *Arg {
	switch name {
	case "address", "envelope", "header", "string", "date", "hasflag":
		return &c.pos[len(c.pos)-1]
	case "currentdate":
		return &c.pos[1]
	case "body":
		return &c.pos[0]
	case "deleteheader":
		if c.pos[1].Kind != argTag {
			return &c.pos[1]
		}
	}
	return nil
}

func isAddressHeader(h string) bool {
	switch strings.ToLower(h) {
	case "from", "sender", "to", "cc", "bcc", "reply-to", "resent-from", "resent-sender",
		"resent-to", "resent-cc", "resent-bcc", "return-path", "delivered-to", "envelope-to",
		"x-original-to", "errors-to", "mail-followup-to", "mail-reply-to", "disposition-notification-to":
		return true
	}
	return false
}

// validRedirect accepts an RFC 5322 mailbox with a domain (RFC 5228 §4.2).
func validRedirect(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && strings.Contains(a.Address, "@") && !strings.HasSuffix(a.Address, "@")
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isAlpha(c) || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return true
}

func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= 32 || s[i] >= 127 || s[i] == ':' {
			return false
		}
	}
	return true
}

var encodedRe = regexp.MustCompile(`(?i)\$\{(hex|unicode):([ \t\r\n]*[0-9a-f]+(?:[ \t\r\n]+[0-9a-f]+)*[ \t\r\n]*)\}`)

// decodeEncoded applies RFC 5228 §2.4.2.4; invalid sequences stay as written.
func decodeEncoded(s string) string {
	if !strings.Contains(s, "${") {
		return s
	}
	return encodedRe.ReplaceAllStringFunc(s, func(m string) string {
		sub := encodedRe.FindStringSubmatch(m)
		var b strings.Builder
		for _, f := range strings.Fields(sub[2]) {
			if strings.EqualFold(sub[1], "hex") {
				n, err := strconv.ParseUint(f, 16, 8)
				if err != nil {
					return m
				}
				b.WriteByte(byte(n))
			} else {
				n, err := strconv.ParseUint(f, 16, 32)
				if err != nil || n > utf8.MaxRune || (n >= 0xD800 && n <= 0xDFFF) {
					return m
				}
				b.WriteRune(rune(n))
			}
		}
		return b.String()
	})
}

func decodeNode(n *Node) {
	for i := range n.Args {
		for j := range n.Args[i].Strs {
			n.Args[i].Strs[j] = decodeEncoded(n.Args[i].Strs[j])
		}
	}
	for _, t := range n.Tests {
		decodeNode(t)
	}
	for _, b := range n.Block {
		decodeNode(b)
	}
}
