package sieve

import "time"

// Limits bound what a script may cost. The zero value of a field means
// "use the default"; see DefaultLimits.
type Limits struct {
	MaxScriptSize   int // bytes of script source (Pigeonhole: sieve_max_script_size 1M)
	MaxNesting      int // depth of nested blocks and tests
	MaxStringLength int // bytes of one string literal
	MaxStrings      int // string literals in one script
	MaxListLength   int // elements of one string list, arguments, tests in a list
	MaxActions      int // actions one evaluation may produce (Pigeonhole: sieve_max_actions 32)
	MaxRedirects    int // redirect actions per message (Pigeonhole: sieve_max_redirects 4)
	MaxVariables    int // distinct variables per script (RFC 5229 §6)
	MaxVariableSize int // bytes of one variable value; longer values are truncated (RFC 5229 §6)
	MaxRegexLength  int // bytes of one regular expression
	MaxSteps        int // evaluation steps (commands, tests, comparisons, scanned KiB)
	MaxIncludeDepth int // nesting of include (RFC 6609 §3.2)
	MaxIncludes     int // distinct scripts included per evaluation
	MaxHeaderEdits  int // addheader/deleteheader per evaluation

	// Vacation periods (RFC 5230 §4.1, RFC 6131): :days/:seconds below
	// the minimum are raised to it, above the maximum lowered to it.
	VacationMinPeriod     time.Duration
	VacationMaxPeriod     time.Duration
	VacationDefaultPeriod time.Duration
	// DuplicateMaxPeriod caps duplicate :seconds (RFC 7352 §3.3).
	DuplicateMaxPeriod     time.Duration
	DuplicateDefaultPeriod time.Duration
}

// DefaultLimits returns the limits used for every zero field of Limits.
func DefaultLimits() Limits {
	return Limits{
		MaxScriptSize:          1 << 20,
		MaxNesting:             32,
		MaxStringLength:        64 << 10,
		MaxStrings:             10000,
		MaxListLength:          1024,
		MaxActions:             32,
		MaxRedirects:           4,
		MaxVariables:           255,
		MaxVariableSize:        4096,
		MaxRegexLength:         1024,
		MaxSteps:               100000,
		MaxIncludeDepth:        10,
		MaxIncludes:            255,
		MaxHeaderEdits:         64,
		VacationMinPeriod:      24 * time.Hour,
		VacationMaxPeriod:      90 * 24 * time.Hour,
		VacationDefaultPeriod:  7 * 24 * time.Hour,
		DuplicateMaxPeriod:     7 * 24 * time.Hour,
		DuplicateDefaultPeriod: 12 * time.Hour,
	}
}

// withDefaults fills zero fields from the defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	set := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&l.MaxScriptSize, d.MaxScriptSize)
	set(&l.MaxNesting, d.MaxNesting)
	set(&l.MaxStringLength, d.MaxStringLength)
	set(&l.MaxStrings, d.MaxStrings)
	set(&l.MaxListLength, d.MaxListLength)
	set(&l.MaxActions, d.MaxActions)
	set(&l.MaxRedirects, d.MaxRedirects)
	set(&l.MaxVariables, d.MaxVariables)
	set(&l.MaxVariableSize, d.MaxVariableSize)
	set(&l.MaxRegexLength, d.MaxRegexLength)
	set(&l.MaxSteps, d.MaxSteps)
	set(&l.MaxIncludeDepth, d.MaxIncludeDepth)
	set(&l.MaxIncludes, d.MaxIncludes)
	set(&l.MaxHeaderEdits, d.MaxHeaderEdits)
	setD(&l.VacationMinPeriod, d.VacationMinPeriod)
	setD(&l.VacationMaxPeriod, d.VacationMaxPeriod)
	setD(&l.VacationDefaultPeriod, d.VacationDefaultPeriod)
	setD(&l.DuplicateMaxPeriod, d.DuplicateMaxPeriod)
	setD(&l.DuplicateDefaultPeriod, d.DuplicateDefaultPeriod)
	return l
}
