package message

// ParseTop parses only the top-level header of raw: the Part it returns has
// the header and body offsets and the Envelope that Parse would give the
// root, but no Content-* fields and no children. It is enough for the
// root's BODY[], BODY[HEADER], BODY[HEADER.FIELDS ...], BODY[TEXT] and
// ENVELOPE, and costs a scan of the header instead of the whole message
// (a client listing headers of messages with large attachments).
func ParseTop(raw []byte) *Part {
	bs := BodyStart(raw)
	return &Part{
		BodyStart: int64(bs),
		BodyEnd:   int64(len(raw)),
		Envelope:  parseEnvelope(scanFields(raw[:bs])),
	}
}

// BodyStart returns where the body of the message in raw starts, just
// after the blank line that ends its top-level header (Parse(raw).BodyStart,
// without parsing anything else). raw may be the header alone.
func BodyStart(raw []byte) int {
	end := len(raw)
	if startsWithField(raw) {
		return headerEnd(raw, 0, end)
	}
	if ce, next := nextLine(raw, 0, end); ce == 0 && next > 0 {
		return next // empty header: the message starts with the blank line
	}
	return 0
}
