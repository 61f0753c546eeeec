package imapmsg

import (
	"strconv"

	"github.com/mailroom/mailroom/message"
)

// AppendBodyStructure appends the BODY (extended false) or BODYSTRUCTURE
// (extended true) of p per RFC 9051 §7.5.2, rendered as Dovecot does: media
// types, subtypes, encodings, disposition types and parameter names in upper
// case, parameter values as given; size in octets of the (encoded) body;
// line counts for TEXT/* and MESSAGE/RFC822 (and MESSAGE/GLOBAL), whose
// envelope and body structure are nested. Extension data is, for multiparts,
// (params disposition language location) and for single parts (md5
// disposition language location).
func AppendBodyStructure(dst []byte, p *message.Part, extended bool) []byte {
	if p == nil {
		p = &message.Part{MediaType: "text", MediaSubtype: "plain"}
	}
	if p.MediaType == "multipart" {
		return appendMultipart(dst, p, extended)
	}
	dst = append(dst, '(')
	dst = appendUpperString(dst, orDefault(p.MediaType, "text"))
	dst = append(dst, ' ')
	dst = appendUpperString(dst, orDefault(p.MediaSubtype, "plain"))
	dst = append(dst, ' ')
	dst = appendParams(dst, p.Params)
	dst = append(dst, ' ')
	dst = AppendNString(dst, p.ContentID)
	dst = append(dst, ' ')
	dst = AppendNString(dst, p.Description)
	dst = append(dst, ' ')
	dst = appendUpperString(dst, orDefault(p.Encoding, "7bit"))
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, max(p.BodyEnd-p.BodyStart, 0), 10)
	switch {
	case p.MediaType == "message" && (p.MediaSubtype == "rfc822" || p.MediaSubtype == "global") && p.Message != nil:
		dst = append(dst, ' ')
		dst = AppendEnvelope(dst, p.Message.Envelope)
		dst = append(dst, ' ')
		dst = AppendBodyStructure(dst, p.Message, extended)
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, p.BodyLines, 10)
	case p.MediaType == "text" || p.MediaType == "":
		dst = append(dst, ' ')
		dst = strconv.AppendInt(dst, p.BodyLines, 10)
	}
	if extended {
		dst = append(dst, ' ')
		dst = AppendNString(dst, p.MD5)
		dst = appendExtension(dst, p)
	}
	return append(dst, ')')
}

func appendMultipart(dst []byte, p *message.Part, extended bool) []byte {
	dst = append(dst, '(')
	if len(p.Parts) == 0 {
		// body-type-mpart needs at least one body; a well-formed tree
		// never gets here, but a hand-built or damaged one must still
		// render as valid syntax.
		dst = AppendBodyStructure(dst, &message.Part{MediaType: "text", MediaSubtype: "plain"}, extended)
	}
	for _, c := range p.Parts {
		dst = AppendBodyStructure(dst, c, extended)
	}
	dst = append(dst, ' ')
	dst = appendUpperString(dst, orDefault(p.MediaSubtype, "mixed"))
	if extended {
		dst = append(dst, ' ')
		dst = appendParams(dst, p.Params)
		dst = appendExtension(dst, p)
	}
	return append(dst, ')')
}

// appendExtension appends " disposition language location".
func appendExtension(dst []byte, p *message.Part) []byte {
	dst = append(dst, ' ')
	if p.Disposition == "" {
		dst = append(dst, "NIL"...)
	} else {
		dst = append(dst, '(')
		dst = appendUpperString(dst, p.Disposition)
		dst = append(dst, ' ')
		dst = appendParams(dst, p.DispositionParams)
		dst = append(dst, ')')
	}
	dst = append(dst, ' ')
	if len(p.Language) == 0 {
		dst = append(dst, "NIL"...)
	} else {
		dst = append(dst, '(')
		for i, l := range p.Language {
			if i > 0 {
				dst = append(dst, ' ')
			}
			dst = AppendString(dst, l)
		}
		dst = append(dst, ')')
	}
	dst = append(dst, ' ')
	return AppendNString(dst, p.Location)
}

// appendParams appends body-fld-param: ("NAME" "value" ...) or NIL.
func appendParams(dst []byte, ps []message.Param) []byte {
	if len(ps) == 0 {
		return append(dst, "NIL"...)
	}
	dst = append(dst, '(')
	for i, p := range ps {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = appendUpperString(dst, p.Name)
		dst = append(dst, ' ')
		dst = AppendString(dst, p.Value)
	}
	return append(dst, ')')
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
