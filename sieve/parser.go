package sieve

import "fmt"

// parser builds the AST (RFC 5228 §8.2 grammar) with bounded nesting.
type parser struct {
	lx       lexer
	tok      token
	lim      Limits
	strCount int
}

func parse(src []byte, lim Limits) ([]*Node, error) {
	if len(src) > lim.MaxScriptSize {
		return nil, &Error{Line: 1, Msg: fmt.Sprintf("script is %d bytes, larger than the limit of %d", len(src), lim.MaxScriptSize)}
	}
	p := &parser{lx: lexer{src: string(src), line: 1, maxString: lim.MaxStringLength}, lim: lim}
	if err := p.advance(); err != nil {
		return nil, err
	}
	cmds, err := p.commands(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.errf("unexpected %s", p.tok.kind)
	}
	return cmds, nil
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{Line: p.tok.line, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) advance() error {
	t, err := p.lx.next()
	if err != nil {
		return err
	}
	p.tok = t
	return nil
}

func (p *parser) commands(depth int) ([]*Node, error) {
	var out []*Node
	for p.tok.kind == tokIdent {
		c, err := p.command(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func (p *parser) command(depth int) (*Node, error) {
	n := &Node{Name: p.tok.text, Line: p.tok.line}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.arguments(n, depth); err != nil {
		return nil, err
	}
	switch p.tok.kind {
	case tokSemicolon:
		return n, p.advance()
	case tokLBrace:
		if depth+1 > p.lim.MaxNesting {
			return nil, p.errf("blocks nested deeper than %d", p.lim.MaxNesting)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		block, err := p.commands(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRBrace {
			return nil, p.errf("expected '}' to end the block of %s, found %s", n.Name, p.tok.kind)
		}
		n.Block, n.HasBlock = block, true
		return n, p.advance()
	}
	return nil, p.errf("expected ';' or '{' after %s command, found %s", n.Name, p.tok.kind)
}

// arguments reads *argument [test / test-list].
func (p *parser) arguments(n *Node, depth int) error {
	for {
		switch p.tok.kind {
		case tokTag:
			n.Args = append(n.Args, Arg{Kind: argTag, Line: p.tok.line, Tag: lower(p.tok.text)})
		case tokNumber:
			n.Args = append(n.Args, Arg{Kind: argNumber, Line: p.tok.line, Num: p.tok.num})
		case tokString:
			if err := p.countString(); err != nil {
				return err
			}
			n.Args = append(n.Args, Arg{Kind: argString, Line: p.tok.line, Strs: []string{p.tok.text}})
		case tokLBracket:
			a, err := p.stringList()
			if err != nil {
				return err
			}
			n.Args = append(n.Args, a)
			continue
		default:
			goto tests
		}
		if len(n.Args) > p.lim.MaxListLength {
			return p.errf("too many arguments")
		}
		if err := p.advance(); err != nil {
			return err
		}
	}
tests:
	switch p.tok.kind {
	case tokIdent:
		if depth+1 > p.lim.MaxNesting {
			return p.errf("tests nested deeper than %d", p.lim.MaxNesting)
		}
		t, err := p.test(depth + 1)
		if err != nil {
			return err
		}
		n.Tests = []*Node{t}
	case tokLParen:
		if depth+1 > p.lim.MaxNesting {
			return p.errf("tests nested deeper than %d", p.lim.MaxNesting)
		}
		if err := p.advance(); err != nil {
			return err
		}
		for {
			if p.tok.kind != tokIdent {
				return p.errf("expected a test in the test list, found %s", p.tok.kind)
			}
			t, err := p.test(depth + 1)
			if err != nil {
				return err
			}
			n.Tests = append(n.Tests, t)
			if len(n.Tests) > p.lim.MaxListLength {
				return p.errf("test list longer than %d", p.lim.MaxListLength)
			}
			if p.tok.kind == tokRParen {
				break
			}
			if p.tok.kind != tokComma {
				return p.errf("expected ',' or ')' in the test list, found %s", p.tok.kind)
			}
			if err := p.advance(); err != nil {
				return err
			}
		}
		return p.advance()
	}
	return nil
}

func (p *parser) test(depth int) (*Node, error) {
	n := &Node{Name: p.tok.text, Line: p.tok.line}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if err := p.arguments(n, depth); err != nil {
		return nil, err
	}
	return n, nil
}

func (p *parser) countString() error {
	p.strCount++
	if p.strCount > p.lim.MaxStrings {
		return p.errf("more than %d strings in the script", p.lim.MaxStrings)
	}
	return nil
}

func (p *parser) stringList() (Arg, error) {
	a := Arg{Kind: argStringList, Line: p.tok.line}
	if err := p.advance(); err != nil {
		return a, err
	}
	for {
		if p.tok.kind != tokString {
			return a, p.errf("expected a string in the string list, found %s", p.tok.kind)
		}
		if err := p.countString(); err != nil {
			return a, err
		}
		a.Strs = append(a.Strs, p.tok.text)
		if len(a.Strs) > p.lim.MaxListLength {
			return a, p.errf("string list longer than %d", p.lim.MaxListLength)
		}
		if err := p.advance(); err != nil {
			return a, err
		}
		if p.tok.kind == tokRBracket {
			return a, p.advance()
		}
		if p.tok.kind != tokComma {
			return a, p.errf("expected ',' or ']' in the string list, found %s", p.tok.kind)
		}
		if err := p.advance(); err != nil {
			return a, err
		}
	}
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}
