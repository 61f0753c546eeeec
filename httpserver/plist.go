package httpserver

import (
	"bytes"
	"encoding/xml"
	"strconv"
)

// plist writes an XML property list body with escaped strings.
type plist struct{ b bytes.Buffer }

func (p *plist) open(tag string)  { p.b.WriteString("<" + tag + ">\n") }
func (p *plist) close(tag string) { p.b.WriteString("</" + tag + ">\n") }

func (p *plist) key(k string) {
	p.b.WriteString("<key>")
	xml.EscapeText(&p.b, []byte(k))
	p.b.WriteString("</key>\n")
}

func (p *plist) str(k, v string) {
	p.key(k)
	p.b.WriteString("<string>")
	xml.EscapeText(&p.b, []byte(v))
	p.b.WriteString("</string>\n")
}

func (p *plist) integer(k string, v int) {
	p.key(k)
	p.b.WriteString("<integer>" + strconv.Itoa(v) + "</integer>\n")
}

func (p *plist) boolean(k string, v bool) {
	p.key(k)
	if v {
		p.b.WriteString("<true/>\n")
	} else {
		p.b.WriteString("<false/>\n")
	}
}
