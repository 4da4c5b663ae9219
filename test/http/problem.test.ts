// Requests Fastify or Node refuse before any route sees them still get problem documents, over a real socket.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { openTestApp, type TestApp } from '../helpers/app.js';

let t: TestApp;
let port: number;
before(async () => {
  t = await openTestApp();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  port = (t.app.server.address() as { port: number }).port;
});
after(() => t.close());

/** Sends raw bytes and reads the whole answer (the service closes the connection after these errors). */
function raw(request: string): Promise<{ status: number; type: string | undefined; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head, body] = data.split('\r\n\r\n', 2) as [string, string];
      const type = /content-type: ([^\r\n]+)/i.exec(head)?.[1];
      resolve({ status: Number(head.split(' ')[1]), type, body: JSON.parse(body) });
    });
  });
}

const isProblem = (r: { type: string | undefined; body: Record<string, unknown> }, status: number, slug: string) => {
  assert.match(r.type ?? '', /^application\/problem\+json/);
  assert.equal(r.body.status, status);
  assert.equal(r.body.type, `urn:pathtrace:problem:${slug}`);
  assert.equal(typeof r.body.detail, 'string');
};

test('a URL escape that is not UTF-8 is a 400 problem document', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/v1/topologies/%E0%A4%A`);
  assert.equal(res.status, 400);
  isProblem({ type: res.headers.get('content-type') ?? undefined, body: await res.json() }, 400, 'invalid-request');
});

test('a path segment past the router limit is a 414 problem document', async () => {
  const res = await fetch(`http://127.0.0.1:${port}/v1/topologies/${'a'.repeat(5000)}`);
  assert.equal(res.status, 414);
  isProblem({ type: res.headers.get('content-type') ?? undefined, body: await res.json() }, 414, 'uri-too-long');
});

test('headers past the limit are a 431 problem document, and the service goes on answering', async () => {
  const r = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}\r\n\r\n`);
  assert.equal(r.status, 431);
  isProblem(r, 431, 'headers-too-large');
  assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
});

test('bytes that are not HTTP are a 400 problem document', async () => {
  const r = await raw('NOT HTTP AT ALL\r\n\r\n');
  assert.equal(r.status, 400);
  isProblem(r, 400, 'invalid-request');
});
