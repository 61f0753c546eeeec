package message

// ParseTop parses only the top-level header of raw: the Part it returns has
// the header and body offsets and the Envelope that Parse would give the
// root, but no Content-* fields and no children. It is enough for the
// root's BODY[], BODY[HEADER], BODY[HEADER.FIELDS ...], BODY[TEXT] and
// ENVELOPE, and costs a scan of the header instead of the whole message
// (a client listing headers of messages with large attachments).
func ParseTop(raw []byte) *Part {
	end := len(raw)
	bs := 0
	if startsWithField(raw) {
		bs = headerEnd(raw, 0, end)
	} else if ce, next := nextLine(raw, 0, end); ce == 0 && next > 0 {
		bs = next // empty header: the message starts with the blank line
	}
	return &Part{
		BodyStart: int64(bs),
		BodyEnd:   int64(end),
		Envelope:  parseEnvelope(scanFields(raw[:bs])),
	}
}
