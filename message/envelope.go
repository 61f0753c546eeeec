package message

// parseEnvelope builds the ENVELOPE fields from a message header. Each field
// comes from the first occurrence of its header field. Sender and Reply-To
// are left empty when absent: the IMAP layer defaults them to From
// (RFC 9051 §7.5.2).
func parseEnvelope(fs []field) *Envelope {
	env := &Envelope{}
	env.Date, _ = firstValue(fs, "Date")
	env.Subject, _ = firstValue(fs, "Subject")
	env.InReplyTo, _ = firstValue(fs, "In-Reply-To")
	env.MessageID, _ = firstValue(fs, "Message-ID")
	addrs := func(name string) []Address {
		v, _ := firstValue(fs, name)
		return ParseAddressList(v)
	}
	env.From = addrs("From")
	env.Sender = addrs("Sender")
	env.ReplyTo = addrs("Reply-To")
	env.To = addrs("To")
	env.Cc = addrs("Cc")
	env.Bcc = addrs("Bcc")
	return env
}
