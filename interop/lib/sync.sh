# Shared two-way Maildir sync scenario for mbsync and offlineimap. The
# sourcing scenario defines do_sync (one full sync run) and LOCAL (the local
# Maildir root holding one folder per mailbox: INBOX, Work, Lists, and
# Projects/2026 at $LOCAL/$NESTED).
#
# Asserts: first sync copies several folders down with their flags; flags
# changed locally reach the server and flags changed on the server reach the
# Maildir; deletions propagate both ways; a message added locally is
# uploaded; a second sync changes nothing on either side.

snapshot() {
  local b l
  for b in INBOX Work Lists Projects/2026; do
    l=$b; [ "$b" != Projects/2026 ] || l=$NESTED
    echo "== $b"; mrcheck modseq "$BOB" "$b"; mrcheck flags "$BOB" "$b"
    mrcheck md_list "$LOCAL/$l"
    find "$LOCAL/$l/new" "$LOCAL/$l/cur" -type f -printf '%f\n' | sort
  done
}

run_sync_scenario() {
  mrcheck create "$BOB" Work
  mrcheck create "$BOB" Lists
  mrcheck create "$BOB" Projects/2026
  mrcheck append "$BOB" Projects/2026 "nested one" '\Seen'
  mrcheck deliver "$BOB" "in one"
  mrcheck deliver "$BOB" "in two"
  mrcheck deliver "$BOB" "in three"
  mrcheck append "$BOB" Work "work flagged" '\Flagged'
  mrcheck append "$BOB" Work "work seen" '\Seen'
  mrcheck append "$BOB" Lists "list answered" '\Answered \Seen'

  do_sync
  expect_eq "$(mrcheck md_list "$LOCAL/INBOX" | tr '\n' ,)" "in one,in three,in two," "local INBOX after first sync"
  expect_eq "$(mrcheck md_list "$LOCAL/Work" | tr '\n' ,)" 'work flagged \Flagged,work seen \Seen,' "local Work after first sync"
  expect_eq "$(mrcheck md_list "$LOCAL/Lists" | tr '\n' ,)" 'list answered \Answered \Seen,' "local Lists after first sync"
  # NESTED is where the client keeps the server's Projects/2026.
  expect_eq "$(mrcheck md_list "$LOCAL/$NESTED" | tr '\n' ,)" 'nested one \Seen,' "local Projects/2026 after first sync"

  # Local changes: read, flag, delete, add.
  mrcheck md_flag "$LOCAL/INBOX" "in one" S
  mrcheck md_flag "$LOCAL/Work" "work seen" F
  mrcheck md_delete "$LOCAL/Work" "work flagged"
  mrcheck md_add "$LOCAL/Lists" "list local"
  mrcheck md_add "$LOCAL/$NESTED" "nested local"
  # Server changes: flag one, expunge one.
  mrcheck store "$BOB" INBOX "in two" +FLAGS '\Flagged'
  mrcheck store "$BOB" INBOX "in three" +FLAGS '\Deleted'

  do_sync
  expect_eq "$(mrcheck flags "$BOB" INBOX | tr '\n' ,)" 'in one \Seen,in two \Flagged,' "server INBOX after second sync"
  expect_eq "$(mrcheck flags "$BOB" Work | tr '\n' ,)" 'work seen \Flagged \Seen,' "server Work after second sync"
  expect_eq "$(mrcheck flags "$BOB" Lists | sort | tr '\n' ,)" 'list answered \Answered \Seen,list local,' "server Lists after second sync"
  expect_eq "$(mrcheck md_list "$LOCAL/INBOX" | tr '\n' ,)" 'in one \Seen,in two \Flagged,' "local INBOX after second sync"
  expect_eq "$(mrcheck md_list "$LOCAL/Work" | tr '\n' ,)" 'work seen \Flagged \Seen,' "local Work after second sync"
  expect_eq "$(mrcheck flags "$BOB" Projects/2026 | tr '\n' ,)" 'nested one \Seen,nested local,' "server Projects/2026 after second sync"
  # The uploaded message's bytes arrive intact (Maildir has LF endings;
  # UPLOAD_HEADER names a header the client adds on upload, if any).
  mrcheck raw "$BOB" Lists "list local" | tr -d '\r' | grep -v "^${UPLOAD_HEADER:-X-Never-Added}: " >"$MR_DIR/up.srv"
  grep -l '^Subject: list local' "$LOCAL"/Lists/*/* | head -n1 | xargs cat | tr -d '\r' >"$MR_DIR/up.local"
  cmp "$MR_DIR/up.srv" "$MR_DIR/up.local" || { diff "$MR_DIR/up.srv" "$MR_DIR/up.local"; fail "uploaded message bytes differ"; }

  # A third sync is a no-op on both sides.
  snapshot >"$MR_DIR/before"
  do_sync
  snapshot >"$MR_DIR/after"
  diff -u "$MR_DIR/before" "$MR_DIR/after" || fail "a sync with nothing to do changed something"
}
