// Logs never carry SQL parameters or whole documents: what a failed request writes to the log, seen as pino writes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { buildApp } from '../../src/app.js';
import { logSerializers } from '../../src/http/log.js';
import { openTestDb } from '../helpers/db.js';

test('a failing request logs a bounded error without the failing row or parameters', async () => {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const db = await openTestDb();
  const app = await buildApp({ db, logger: { level: 'info', serializers: logSerializers, stream } });
  const secret = 'S3CRET-DOCUMENT-'.repeat(200);
  app.get('/boom', async () => {
    // As PostgreSQL reports a constraint violation: the row (the whole document) in detail, the parameters alongside.
    throw Object.assign(new Error(`new row violates check constraint: ${secret}`), { code: '23514', detail: `Failing row contains (${secret})`, parameters: [secret], where: secret });
  });
  try {
    const res = await app.inject('/boom');
    assert.equal(res.statusCode, 500);
    assert.doesNotMatch(res.body, /S3CRET/);
    const failed = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'request failed');
    assert.ok(failed, lines.join('\n'));
    assert.equal(failed.err.code, '23514');
    assert.ok(failed.err.message.length < 600);
    assert.equal(failed.err.detail, undefined);
    assert.equal(failed.err.parameters, undefined);
    assert.ok(lines.join('').split('S3CRET').length < 40, 'at most the bounded message quotes the document');
    assert.ok(failed.reqId, 'the line carries the request id');
  } finally {
    await app.close();
    await db.close();
  }
});
