package sieve

import "fmt"

// Error is a script error with the line it was found on, formatted like
// Pigeonhole's messages ("line 3: unknown command 'foo'").
type Error struct {
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// argKind is the kind of a command or test argument.
type argKind int

const (
	argTag argKind = iota
	argNumber
	argString     // a single quoted string or multi-line text
	argStringList // a bracketed list
)

func (k argKind) String() string {
	switch k {
	case argTag:
		return "tag"
	case argNumber:
		return "number"
	case argString:
		return "string"
	}
	return "string list"
}

// Arg is one argument as written in the script.
type Arg struct {
	Kind argKind
	Line int
	Tag  string   // without ':'; lower case
	Num  uint64   // argNumber
	Strs []string // argString (one element) and argStringList
}

// Node is a command or a test as parsed, before validation.
type Node struct {
	Name  string
	Line  int
	Args  []Arg
	Tests []*Node // the test of if/elsif, the test list of allof/anyof, the test of not
	Block []*Node // commands inside { }; nil when the command ends in ';'
	// HasBlock tells "if x {}" (empty block) from "keep;".
	HasBlock bool
}
