// nodemailer against mailroom: send with attachments over submission
// (STARTTLS when the server offers it, implicit TLS on the smtps port when
// it exists). Prints the sent bytes' file names for the scenario to compare.
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const nodemailer = require('nodemailer');

const env = process.env;
const out = env.MR_DIR;

async function send(transportOpts, subject) {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    auth: { user: env.ALICE, pass: env.PASS },
    tls: { rejectUnauthorized: false }, // the server's certificate is self-signed
    ...transportOpts,
  });
  await t.verify();
  const bin = Buffer.from(Array.from({ length: 20000 }, (_, i) => (i * 13) % 256));
  fs.writeFileSync(path.join(out, `${subject}.bin`), bin);
  const info = await t.sendMail({
    from: env.ALICE, to: [env.BOB, env.ALICE], subject,
    text: 'text part\n', html: '<b>html part</b>',
    attachments: [
      { filename: 'data.bin', content: bin },
      { filename: 'notes.txt', content: 'some notes\nline two\n' },
    ],
  });
  assert.deepEqual(info.accepted.sort(), [env.ALICE, env.BOB].sort(), 'both recipients accepted');
  t.close();
  return info;
}

async function main() {
  const sub = await send({ port: Number(env.SUB_PORT), secure: false, requireTLS: !!env.SMTPS_PORT }, 'nm submission');
  console.log('submission:', sub.response);
  if (env.SMTPS_PORT) {
    const tls = await send({ port: Number(env.SMTPS_PORT), secure: true }, 'nm smtps');
    console.log('smtps:', tls.response);
  }
  // A wrong password is refused with an authentication error.
  const bad = nodemailer.createTransport({
    host: '127.0.0.1', port: Number(env.SUB_PORT), secure: false,
    auth: { user: env.ALICE, pass: 'wrong' }, tls: { rejectUnauthorized: false },
  });
  await assert.rejects(bad.verify(), (e) => e.code === 'EAUTH');
  console.log('ok');
}

main().catch((err) => { console.error(err); process.exit(1); });
