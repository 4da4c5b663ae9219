// Several service processes on one PostgreSQL: a write acknowledged by one is what the next trace through another sees,
// because every trace reads the newest revision number from the database before it uses a compiled copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { backend } from './helpers/db.js';
import { freePort } from './helpers/net.js';

const root = new URL('..', import.meta.url).pathname;

async function replica(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['dist/server.js'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200) return child;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  child.kill('SIGKILL');
  throw new Error('replica did not start');
}

test('two replicas on one database never answer from a stale revision', { skip: backend !== 'pg' && 'needs a PostgreSQL server (DATABASE_URL)' }, async () => {
  const [pa, pb] = [await freePort(), await freePort()];
  const [a, b] = [await replica(pa), await replica(pb)];
  try {
    const { name: _, ...doc } = JSON.parse(readFileSync(join(root, 'examples/two-nodes.json'), 'utf8'));
    const name = `replicas-${process.pid}`;
    const put = (port: number, body: object, revision: number) =>
      fetch(`http://127.0.0.1:${port}/v1/topologies/${name}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(revision > 0 ? { 'if-match': `"${revision}"` } : {}) },
        body: JSON.stringify(body),
      });
    const trace = async (port: number) =>
      (await (await fetch(`http://127.0.0.1:${port}/v1/topologies/${name}/trace?from=pod-a1&to=8.8.8.8`)).json()) as { disposition: string; topology: { revision: number } };

    assert.equal((await put(pa, doc, 0)).status, 201);
    assert.equal((await trace(pb)).disposition, 'NO_ROUTE'); // b compiles and caches revision 1
    // Alternate the writes through a and the traces through b: each trace must see the write acknowledged just before.
    for (let revision = 1; revision <= 6; revision++) {
      const withGateway = revision % 2 === 1;
      const next = structuredClone(doc);
      next.cluster.network = withGateway ? { cidr: '192.168.0.0/24', gateway: '192.168.0.1' } : { cidr: '192.168.0.0/24' };
      assert.equal((await put(pa, next, revision)).status, 200);
      const seen = await trace(pb);
      assert.equal(seen.topology.revision, revision + 1);
      assert.equal(seen.disposition, withGateway ? 'EXITS_NETWORK' : 'NO_ROUTE');
    }
    await fetch(`http://127.0.0.1:${pa}/v1/topologies/${name}`, { method: 'DELETE' });
    assert.equal((await fetch(`http://127.0.0.1:${pb}/v1/topologies/${name}/trace?from=pod-a1&to=pod-b1`)).status, 404);
  } finally {
    a.kill('SIGTERM');
    b.kill('SIGTERM');
  }
});
