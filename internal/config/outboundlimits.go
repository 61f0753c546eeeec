package config

import "errors"

// OutboundLimits is the [outbound_limits] table: what one account may
// send through submission a day and an hour, against a phished account
// turned spam cannon. Over a limit the message is refused with 451 4.7.1
// (550 5.7.1 with hard = true), logged, and the postmaster gets one
// notice per account and day. 0 disables a limit. The defaults are far
// above what a person sends.
type OutboundLimits struct {
	MessagesPerHour      int64 `toml:"messages_per_hour"`
	MessagesPerDay       int64 `toml:"messages_per_day"`
	RecipientsPerMessage int64 `toml:"recipients_per_message"`
	RecipientsPerDay     int64 `toml:"recipients_per_day"`
	// ExternalRecipientsPerDay counts distinct addresses in other
	// domains (estimated, within a few percent).
	ExternalRecipientsPerDay int64 `toml:"external_recipients_per_day"`
	// FailedRecipientRatio refuses further submissions once more than
	// this share (0 to 1; 0 disables) of the day's recipients failed for
	// good — refused by the next hop or bounced — counted from
	// FailedRecipientMin recipients on.
	FailedRecipientRatio float64 `toml:"failed_recipient_ratio"`
	FailedRecipientMin   int64   `toml:"failed_recipient_min"`
	Hard                 bool    `toml:"hard"`
}

// DefaultOutboundLimits are limits a normal user never meets.
func DefaultOutboundLimits() OutboundLimits {
	return OutboundLimits{
		MessagesPerHour:          500,
		MessagesPerDay:           2000,
		RecipientsPerMessage:     1000,
		RecipientsPerDay:         10000,
		ExternalRecipientsPerDay: 2000,
		FailedRecipientRatio:     0.5,
		FailedRecipientMin:       50,
	}
}

func (o *OutboundLimits) validate() []error {
	if o.FailedRecipientRatio < 0 || o.FailedRecipientRatio > 1 || o.FailedRecipientRatio != o.FailedRecipientRatio {
		return []error{errors.New("outbound_limits.failed_recipient_ratio must be between 0 and 1 (0 is no limit)")}
	}
	if o.MessagesPerHour < 0 || o.MessagesPerDay < 0 || o.RecipientsPerMessage < 0 || o.RecipientsPerDay < 0 || o.ExternalRecipientsPerDay < 0 || o.FailedRecipientMin < 0 {
		return []error{errors.New("outbound_limits: limits must not be negative (0 is no limit)")}
	}
	if o.ExternalRecipientsPerDay > 5000 {
		// The distinct count is a 8192-bit bitmap: beyond a few
		// thousand its estimate grows coarse.
		return []error{errors.New("outbound_limits.external_recipients_per_day must be at most 5000")}
	}
	return nil
}
