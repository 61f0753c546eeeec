// Package sieve is mailroom's interpreter for Sieve mail filtering
// scripts (RFC 5228 and extensions): lexer → parser to an AST → validator
// (required capabilities, argument and tag types, unknown commands and
// tests reported with line numbers like Pigeonhole) → interpreter that
// returns a typed list of actions. It uses only the standard library
// (RE2 regexp for the regex extension) and no reflection.
//
// The package decides; the caller acts. Compile a script once
// (Compile, safe for concurrent Evaluate calls), then for every delivery
// call Script.Evaluate with the message (the Message interface: header
// fields decoded per RFC 2047, size, body parts), the Env (SMTP envelope,
// the user's addresses, mailbox existence, vacation/duplicate State,
// include ScriptLoader, clock, spam/virus verdicts) and get a Result.
// A Message that also implements RawHeaderMessage (undecoded values) has
// its address fields parsed before RFC 2047 decoding, as it should be:
//
//	Keep{Flags, Implicit}        store in INBOX (Implicit: RFC 5228 §2.10.2)
//	FileInto{Mailbox, Flags, Create, Copy}
//	Redirect{Address, Copy}
//	Discard{}
//	Reject{Reason, Extended}     reject / ereject (RFC 5429)
//	Vacation{To, From, Subject, Reason, MIME, Handle, Period, ...}
//	AddHeader / DeleteHeader     editheader, in script order
//
// plus Result.Duplicates, the ids the caller records after a successful
// delivery (RFC 7352), and Result.Notes, why a vacation reply was not
// sent, for the delivery log. A Vacation action is only produced when the RFC
// 3834 / RFC 5230 §4.5 rules allow a reply: not to the null sender,
// MAILER-DAEMON, owner-*, *-request, listserv, majordomo or postmaster,
// not to the user's own addresses, not for Auto-Submitted other than
// "no", Precedence bulk/list/junk or any List-* field, only when one of the
// user's addresses (Env.UserAddresses, the envelope recipient, :addresses)
// is in To/Cc/Bcc/Resent-To/Resent-Cc/Resent-Bcc, and not when
// State.VacationReplied says the sender got this handle's reply within the
// period. The caller sends it from the null sender with
// "Auto-Submitted: auto-replied" and records it.
//
// Action interactions: the implicit keep is cancelled by keep, discard,
// fileinto and redirect without :copy, reject and ereject; the same
// mailbox or address twice is one action (flags merged); reject/ereject
// together with keep, fileinto, redirect, vacation or another reject is a
// runtime error (RFC 5429 §2.1, as Pigeonhole); so is a second vacation.
//
// # Failure
//
// Every failure — limit exceeded, runtime error, cancelled context, a
// failing State/MailboxChecker/ScriptLoader — returns an error together
// with FallbackResult(), the implicit keep, so a broken script never
// loses mail (RFC 5228 §2.10.6). Log the error.
//
// # Supported
//
// RFC 5228 base: require, if/elsif/else, stop, keep, discard, redirect,
// fileinto; tests address, envelope, header, size, exists, allof, anyof,
// not, true, false; comparators i;octet and i;ascii-casemap; match types
// :is, :contains, :matches (* ? and \ escapes); address parts :all,
// :localpart, :domain; quoted and multi-line strings (dot-unstuffed),
// string lists, comments, numbers with K/M/G, encoded-character.
// Extensions: fileinto, envelope, encoded-character, comparator-i;ascii-numeric
// (RFC 4790), copy (RFC 3894), mailbox (RFC 5490: fileinto :create,
// mailboxexists), imap4flags (RFC 5232: setflag, addflag, removeflag,
// hasflag, :flags on keep and fileinto, the internal flags variable
// applied to the implicit keep), variables (RFC 5229: set with :lower
// :upper :lowerfirst :upperfirst :quotewildcard :length, plus :quoteregex
// and :encodeurl; ${0}..${9} match variables; string test), relational
// (RFC 5231: :count, :value), subaddress (RFC 5233, Env.SubaddressSeparator,
// default "+"), reject and ereject (RFC 5429), body (RFC 5173: :raw, :text,
// :content), date and currentdate with :zone/:originalzone (RFC 5260),
// index (RFC 5260 §6), editheader (RFC 5293; Received and Auto-Submitted
// are protected: edits of them are ignored), vacation (RFC 5230) and
// vacation-seconds (RFC 6131), duplicate (RFC 7352), include with
// :personal/:global/:once/:optional, return and global (RFC 6609),
// regex (draft-ietf-sieve-regex, RE2 syntax), spamtest, spamtestplus and
// virustest (RFC 5235, from Env.Spam/Env.Virus; untested is "0").
// Not supported: enotify, environment, ihave, mime/foreverypart,
// extracttext, notify.
//
// # Limits
//
// Limits (zero fields take DefaultLimits) bound every input before memory
// is spent: script size (1 MiB), block and test nesting (32), one string
// literal (64 KiB), string literals per script (10000), list length
// (1024), actions per evaluation (32), redirects per message (4),
// variables per script (255) and their size (4096 bytes, longer values
// are truncated, as RFC 5229 §6 allows), regex length (1024), evaluation
// steps (100000: every command, test and comparison, every KiB scanned,
// every 64 wildcard-match iterations), include depth (10) and distinct
// included scripts (255), header edits (64), the vacation period
// (:days/:seconds clamped to 1 day .. 90 days, default 7 days) and the
// duplicate period (default 12 hours, at most 7 days).
//
// # Differences from Pigeonhole
//
// The differential test (TestDifferentialPigeonhole, run when Debian's
// dovecot-sieve sieve-test is installed, required when
// MAILROOM_REQUIRE_SIEVE_TEST is set) compares decisions over
// testdata/diff; its diffExceptions list the documented differences with
// their RFC text.
package sieve
