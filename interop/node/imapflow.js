// imapflow against mailroom: connect, list, APPEND a multipart message,
// fetch BODYSTRUCTURE and download parts, flags, CONDSTORE changedSince,
// IDLE for new mail, move. Ports and credentials come from interop/lib.sh.
'use strict';
const assert = require('node:assert/strict');
const net = require('node:net');
const { ImapFlow } = require('imapflow');
const MailComposer = require('nodemailer/lib/mail-composer');

const env = process.env;
const attachment = Buffer.from(Array.from({ length: 30000 }, (_, i) => (i * 7) % 256));

function build(opts) {
  return new Promise((resolve, reject) =>
    new MailComposer(opts).compile().build((err, msg) => (err ? reject(err) : resolve(msg))));
}

// deliver sends a message over the MX port with a minimal SMTP dialogue, so
// the IDLE check does not depend on another client library.
function deliver(to, subject) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(env.SMTP_PORT), '127.0.0.1');
    const cmds = ['EHLO idle.test', 'MAIL FROM:<x@remote.test>', `RCPT TO:<${to}>`, 'DATA',
      `Subject: ${subject}\r\n\r\nnew mail\r\n.`, 'QUIT'];
    let buf = '';
    s.on('data', (d) => {
      buf += d;
      let m;
      while ((m = buf.match(/^(\d{3}) [^\r\n]*\r\n/m))) {
        buf = buf.slice(buf.indexOf(m[0]) + m[0].length);
        if (m[1][0] !== '2' && m[1][0] !== '3') return reject(new Error('SMTP: ' + m[0]));
        const c = cmds.shift();
        if (c === undefined) return;
        s.write(c + '\r\n');
      }
    });
    s.on('close', resolve);
    s.on('error', reject);
  });
}

async function session(opts) {
  const client = new ImapFlow({
    host: '127.0.0.1', logger: false,
    auth: { user: env.BOB, pass: env.PASS },
    ...opts,
  });
  await client.connect();
  return client;
}

async function main() {
  const client = await session({ port: Number(env.IMAP_PORT), secure: false, doSTARTTLS: false });
  assert.ok(client.capabilities.has('IDLE'), 'IDLE advertised');

  const boxes = (await client.list()).map((b) => b.path);
  for (const want of ['INBOX', 'Sent', 'Drafts', 'Trash', 'Archive']) {
    assert.ok(boxes.includes(want), `LIST has ${want}: ${boxes}`);
  }
  const sent = (await client.list()).find((b) => b.path === 'Sent');
  assert.equal(sent.specialUse, '\\Sent', 'Sent carries \\Sent special-use');

  const raw = await build({
    from: env.ALICE, to: env.BOB, subject: 'imapflow parts',
    text: 'plain body\n', html: '<p>html body</p>',
    attachments: [{ filename: 'data.bin', content: attachment, contentType: 'application/octet-stream' }],
  });
  const appended = await client.append('INBOX', raw, ['\\Seen']);
  assert.ok(appended.uid > 0, 'APPENDUID returned');

  let lock = await client.getMailboxLock('INBOX');
  try {
    const mbox = client.mailbox;
    assert.equal(mbox.exists, 1);
    assert.ok(mbox.highestModseq > 0n, 'CONDSTORE HIGHESTMODSEQ on SELECT');
    const msg = await client.fetchOne(String(appended.uid),
      { uid: true, flags: true, bodyStructure: true, envelope: true, source: true, size: true }, { uid: true });
    assert.equal(msg.envelope.subject, 'imapflow parts');
    assert.ok(msg.source.equals(raw), 'BODY[] equals the appended bytes');
    assert.equal(msg.size, raw.length, 'RFC822.SIZE');
    assert.deepEqual([...msg.flags], ['\\Seen']);
    const bs = msg.bodyStructure;
    assert.equal(bs.type, 'multipart/mixed');
    const att = bs.childNodes.find((p) => p.disposition === 'attachment');
    assert.ok(att, 'attachment part in BODYSTRUCTURE');
    assert.equal(att.dispositionParameters.filename, 'data.bin');
    const dl = await client.download(String(appended.uid), att.part, { uid: true });
    const chunks = [];
    for await (const c of dl.content) chunks.push(c);
    assert.ok(Buffer.concat(chunks).equals(attachment), 'downloaded attachment equals the original');
    const alt = bs.childNodes.find((p) => p.type === 'multipart/alternative');
    const text = await client.download(String(appended.uid), alt.childNodes[0].part, { uid: true });
    let t = '';
    for await (const c of text.content) t += c;
    assert.equal(t.trim(), 'plain body');

    // Flags and CONDSTORE: only the changed message shows up since the modseq.
    const before = client.mailbox.highestModseq;
    await client.messageFlagsAdd(String(appended.uid), ['\\Flagged', '$Important'], { uid: true });
    const changed = [];
    for await (const m of client.fetch('1:*', { uid: true, flags: true }, { uid: true, changedSince: before })) {
      changed.push(m);
    }
    assert.equal(changed.length, 1, 'CHANGEDSINCE returns the flagged message');
    assert.ok(changed[0].modseq > before, 'MODSEQ advanced');
    assert.deepEqual([...changed[0].flags].sort(), ['$Important', '\\Flagged', '\\Seen']);
    await client.messageFlagsRemove(String(appended.uid), ['\\Seen'], { uid: true });

  } finally {
    lock.release();
  }

  // IDLE: with the mailbox selected and no lock held, idle explicitly and
  // wait for the EXISTS that a delivery over SMTP must cause.
  const exists = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no EXISTS during IDLE within 10s')), 10000);
    client.on('exists', (e) => { if (e.count === 2) { clearTimeout(t); resolve(e); } });
  });
  const idling = client.idle();
  await new Promise((r) => setTimeout(r, 300));
  assert.ok(client.idling, 'client is in IDLE');
  await deliver(env.BOB, 'idle arrival');
  await exists;

  // MOVE (breaks IDLE): the attachment message goes to Archive.
  lock = await client.getMailboxLock('INBOX');
  try {
    const moved = await client.messageMove(String(appended.uid), 'Archive', { uid: true });
    assert.ok(moved && moved.uidMap && moved.uidMap.size === 1, 'MOVE with COPYUID');
  } finally {
    lock.release();
  }
  await idling;
  const st = await client.status('Archive', { messages: true });
  assert.equal(st.messages, 1, 'Archive holds the moved message');

  // QRESYNC: a second session that enabled it learns of an expunge made by
  // this one as VANISHED (RFC 7162) while it idles.
  const doomed = await client.append('Archive', await build({ from: env.BOB, to: env.BOB, subject: 'vanish me', text: 'x' }));
  const watcher = await session({ port: Number(env.IMAP_PORT), secure: false, doSTARTTLS: false, qresync: true });
  assert.ok(watcher.enabled.has('QRESYNC'), 'QRESYNC enabled');
  await watcher.mailboxOpen('Archive');
  const vanished = new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no VANISHED within 10s')), 10000);
    watcher.on('expunge', (e) => { clearTimeout(t); resolve(e); });
  });
  const watching = watcher.idle();
  await new Promise((r) => setTimeout(r, 300));
  lock = await client.getMailboxLock('Archive');
  try {
    await client.messageDelete(String(doomed.uid), { uid: true });
  } finally {
    lock.release();
  }
  const ev = await vanished;
  assert.equal(ev.vanished, true, 'expunge reported as VANISHED');
  assert.equal(ev.uid, doomed.uid, 'VANISHED names the expunged UID');
  await watcher.logout();
  await watching.catch(() => {});
  await client.logout();

  // Implicit TLS (self-signed certificate) when the server has it.
  if (env.IMAPS_PORT) {
    const tls = await session({ port: Number(env.IMAPS_PORT), secure: true, tls: { rejectUnauthorized: false } });
    const s = await tls.status('INBOX', { messages: true });
    assert.equal(s.messages, 1, 'INBOX over IMAPS');
    await tls.logout();
  }
  console.log('ok');
}

main().catch((err) => { console.error(err); process.exit(1); });
