#!/usr/bin/env python3
"""Server-side checks for interop scenarios.

The client under test does the work; this helper seeds mail over plain SMTP
(the MX port) and reads back what the server holds over IMAP, so a scenario
asserts on the server's state rather than on the client's own report.
Ports and password come from the environment set by interop/lib.sh.
"""
import email.utils
import imaplib
import os
import re
import smtplib
import sys
import time

PASS = os.environ["PASS"]


def imap(user):
    c = imaplib.IMAP4("127.0.0.1", int(os.environ["IMAP_PORT"]))
    c.login(user, PASS)
    return c


def ok(typ, data):
    if typ != "OK":
        raise SystemExit("IMAP: %s %r" % (typ, data))
    return data


def mkmsg(frm, to, subject, body="hello\r\n", size=0):
    lines = [
        "From: <%s>" % frm,
        "To: <%s>" % to,
        "Subject: %s" % subject,
        "Date: %s" % email.utils.formatdate(),
        "Message-ID: <%s>" % email.utils.make_msgid(domain="example.test")[1:-1],
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=us-ascii",
        "",
    ]
    text = "\r\n".join(lines) + "\r\n" + body
    filler = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789\r\n"
    while len(text) < size:
        text += filler
    return text.encode()


def cmd_mkmsg(frm, to, subject, size="0"):
    sys.stdout.buffer.write(mkmsg(frm, to, subject, size=int(size)))


def cmd_deliver(to, subject, frm="sender@remote.test"):
    """Deliver a fresh message over the MX port; print its bytes' length."""
    raw = mkmsg(frm, to, subject)
    with smtplib.SMTP("127.0.0.1", int(os.environ["SMTP_PORT"])) as s:
        s.sendmail(frm, [to], raw)


def cmd_count(user, mailbox="INBOX"):
    c = imap(user)
    data = ok(*c.status('"%s"' % mailbox, "(MESSAGES)"))
    print(int(re.search(rb"MESSAGES (\d+)", data[0]).group(1)))
    c.logout()


def _select(c, mailbox):
    ok(*c.select('"%s"' % mailbox, readonly=True))


def cmd_flags(user, mailbox="INBOX"):
    """One line per message in UID order: the Subject, then sorted flags."""
    c = imap(user)
    _select(c, mailbox)
    data = ok(*c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta, hdr = item
        flags = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).decode().split()
        flags = sorted(f for f in flags if f != "\\Recent")
        subj = hdr.decode().split(":", 1)[1].strip() if b":" in hdr else ""
        print(" ".join([subj] + flags))
    c.logout()


def cmd_subjects(user, mailbox="INBOX"):
    c = imap(user)
    _select(c, mailbox)
    data = ok(*c.uid("FETCH", "1:*", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
    for item in data:
        if isinstance(item, tuple):
            print(item[1].decode().split(":", 1)[1].strip())
    c.logout()


def cmd_raw(user, mailbox, subject):
    """Write the stored bytes of the message with this Subject to stdout."""
    c = imap(user)
    _select(c, mailbox)
    uids = ok(*c.uid("SEARCH", "SUBJECT", '"%s"' % subject))[0].split()
    if len(uids) != 1:
        raise SystemExit("want 1 message with subject %r, got %d" % (subject, len(uids)))
    data = ok(*c.uid("FETCH", uids[0], "(BODY.PEEK[])"))
    sys.stdout.buffer.write(data[0][1])
    c.logout()


def cmd_store(user, mailbox, subject, op, flags):
    c = imap(user)
    ok(*c.select('"%s"' % mailbox))
    uids = ok(*c.uid("SEARCH", "SUBJECT", '"%s"' % subject))[0].split()
    if len(uids) != 1:
        raise SystemExit("want 1 message with subject %r, got %d" % (subject, len(uids)))
    ok(*c.uid("STORE", uids[0], op, "(%s)" % flags))
    if "\\Deleted" in flags and op.startswith("+"):
        ok(*c.expunge())
    c.logout()


def cmd_create(user, mailbox):
    c = imap(user)
    ok(*c.create('"%s"' % mailbox))
    c.logout()


def cmd_append(user, mailbox, subject, flags=""):
    c = imap(user)
    raw = mkmsg(user, user, subject)
    ok(*c.append('"%s"' % mailbox, "(%s)" % flags if flags else None, None, raw))
    c.logout()


def cmd_modseq(user, mailbox="INBOX"):
    c = imap(user)
    data = ok(*c.status('"%s"' % mailbox, "(HIGHESTMODSEQ MESSAGES UIDNEXT)"))
    print(data[0].decode().split("(", 1)[1].rstrip(")"))
    c.logout()


# --- local Maildir helpers (the client's side of a sync) ---

MD_FLAGS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def _md_files(folder):
    for sub in ("new", "cur"):
        d = os.path.join(folder, sub)
        for name in sorted(os.listdir(d)):
            yield sub, os.path.join(d, name)


def _md_subject(path):
    with open(path, "rb") as f:
        for line in f:
            if line.lower().startswith(b"subject:"):
                return line.split(b":", 1)[1].strip().decode()
            if line.strip() == b"":
                return ""
    return ""


def cmd_md_list(folder):
    """One line per message, sorted by Subject: Subject then IMAP flags."""
    out = []
    for sub, path in _md_files(folder):
        info = os.path.basename(path).split(":2,", 1)
        flags = sorted(MD_FLAGS[c] for c in (info[1] if len(info) == 2 else "") if c in MD_FLAGS)
        out.append(" ".join([_md_subject(path)] + flags))
    for line in sorted(out):
        print(line)


def _md_find(folder, subject):
    hits = [p for _, p in _md_files(folder) if _md_subject(p) == subject]
    if len(hits) != 1:
        raise SystemExit("want 1 local message %r in %s, got %d" % (subject, folder, len(hits)))
    return hits[0]


def cmd_md_flag(folder, subject, letters):
    """Add Maildir flag letters (e.g. S, F, T) to a message, moving it to cur/."""
    path = _md_find(folder, subject)
    base = os.path.basename(path)
    name, _, info = base.partition(":2,")
    info = "".join(sorted(set(info) | set(letters)))
    os.rename(path, os.path.join(folder, "cur", name + ":2," + info))


def cmd_md_delete(folder, subject):
    os.unlink(_md_find(folder, subject))


def cmd_md_add(folder, subject, frm="local@example.test"):
    import socket as _s
    name = "%d.M%dP%d.%s" % (time.time(), time.time_ns() % 1000000, os.getpid(), _s.gethostname())
    tmp = os.path.join(folder, "tmp", name)
    with open(tmp, "wb") as f:
        f.write(mkmsg(frm, frm, subject).replace(b"\r\n", b"\n"))
    os.rename(tmp, os.path.join(folder, "new", name))


def main():
    cmds = {k[4:]: v for k, v in globals().items() if k.startswith("cmd_")}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        raise SystemExit("usage: mrcheck.py {%s} ARGS" % ",".join(sorted(cmds)))
    cmds[sys.argv[1]](*sys.argv[2:])


if __name__ == "__main__":
    main()
