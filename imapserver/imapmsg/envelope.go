package imapmsg

import "github.com/mailroom/mailroom/message"

// AppendEnvelope appends the ENVELOPE of env (RFC 9051 §7.5.2):
//
//	(date subject from sender reply-to to cc bcc in-reply-to message-id)
//
// Sender and Reply-To default to From when absent (RFC 3501 §7.4.2); empty
// strings and address lists are NIL. A nil env renders as an envelope of NILs.
func AppendEnvelope(dst []byte, env *message.Envelope) []byte {
	if env == nil {
		env = &message.Envelope{}
	}
	sender, replyTo := env.Sender, env.ReplyTo
	if len(sender) == 0 {
		sender = env.From
	}
	if len(replyTo) == 0 {
		replyTo = env.From
	}
	dst = append(dst, '(')
	dst = AppendNString(dst, env.Date)
	dst = append(dst, ' ')
	dst = AppendNString(dst, env.Subject)
	for _, list := range [][]message.Address{env.From, sender, replyTo, env.To, env.Cc, env.Bcc} {
		dst = append(dst, ' ')
		dst = appendAddressList(dst, list)
	}
	dst = append(dst, ' ')
	dst = AppendNString(dst, env.InReplyTo)
	dst = append(dst, ' ')
	dst = AppendNString(dst, env.MessageID)
	return append(dst, ')')
}

// appendAddressList appends "(" 1*address ")" or NIL. Group syntax (RFC
// 9051 §7.5.2): a group start is (NIL NIL "name" NIL), its end
// (NIL NIL NIL NIL).
func appendAddressList(dst []byte, list []message.Address) []byte {
	if len(list) == 0 {
		return append(dst, "NIL"...)
	}
	dst = append(dst, '(')
	for _, a := range list {
		switch {
		case a.GroupEnd:
			dst = append(dst, "(NIL NIL NIL NIL)"...)
		case a.GroupStart:
			dst = append(dst, "(NIL NIL "...)
			dst = AppendNString(dst, a.Mailbox)
			dst = append(dst, " NIL)"...)
		default:
			dst = append(dst, '(')
			dst = AppendNString(dst, a.Name)
			dst = append(dst, ' ')
			dst = AppendNString(dst, a.Adl)
			dst = append(dst, ' ')
			dst = AppendNString(dst, a.Mailbox)
			dst = append(dst, ' ')
			dst = AppendNString(dst, a.Host)
			dst = append(dst, ')')
		}
	}
	return append(dst, ')')
}
