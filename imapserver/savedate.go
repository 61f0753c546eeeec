package imapserver

import (
	"time"

	"github.com/mailroom/mailroom/imapserver/imapmsg"
	"github.com/mailroom/mailroom/store"
)

// SAVEDATE (RFC 8514): when a message was put into the mailbox it is in
// (APPEND, delivery, COPY, MOVE, REPLACE each set it anew), from
// store.Store.SaveDates, which gives the internal date for messages saved
// before save dates were kept (RFC 8514 §3: a server SHOULD use it then).
// Every mailbox keeps them, so FETCH SAVEDATE is never NIL and
// SAVEDATESUPPORTED matches every message.

// saveDate renders FETCH SAVEDATE of one message from the dates loaded
// for the chunk (loadRowExtras).
func (x *rowExtras) saveDate(uid uint32) ([]byte, error) {
	t, ok := x.saveDates[uid]
	if !ok {
		return nil, store.ErrNotFound // expunged meanwhile
	}
	return imapmsg.AppendString(nil, imapmsg.FormatInternalDate(t.In(time.Local))), nil
}

// SaveDate implements imapmsg.SaveDater for SAVEDBEFORE, SAVEDON and
// SAVEDSINCE; searchMatching loads the dates of a whole batch at once.
func (m *searchMsg) SaveDate() (time.Time, error) {
	if m.saved.IsZero() {
		return m.meta.InternalDate, nil
	}
	return m.saved, nil
}
