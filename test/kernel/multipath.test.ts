// The engine's multipath hash against the kernel's: a router netns with 2-, 3- and 4-way routes (equal and weighted) in
// both families, under known fib_multipath_hash_seeds and both hash policies, asked `ip route get … ipproto tcp sport …
// dport …` for many flows: sent by the router itself (from one of its addresses, also from a next hop's own source,
// which fib_select_multipath prefers) and forwarded (iif). Needs root. With MULTIPATH_FIXTURE=<file> it also writes the
// kernel's answers for the fixed seeds as known-answer vectors (test/fixtures/multipath/, read by
// test/engine/multipath.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { Addr } from '../../src/engine/addr.js';
import { compileTopology } from '../../src/engine/topology.js';
import { IP_PROTOCOL, kernelNexthop, type HashPolicy } from '../../src/engine/multipath.js';
import type { FabricDoc } from '../../src/topology/schema.js';
import { realise, sh } from './realise.js';
import type { Vector } from '../fixtures/multipath/vectors.js';

function namespacesWork(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  const probe = `ptprobe${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync('ip', ['netns', 'exec', probe, 'sysctl', '-q', 'net.ipv4.fib_multipath_hash_seed'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'network namespaces with net.ipv4.fib_multipath_hash_seed (Linux 6.11 and later) do not work here';
  } finally {
    execFileSync('ip', ['netns', 'del', probe], { stdio: 'ignore' });
  }
}

// The router: next hops on four links (one subnet each), a fifth link the forwarded flows come in by, and the routes.
const WEIGHTS: readonly (readonly number[])[] = [[1, 1], [1, 1, 1], [1, 1, 1, 1], [1, 2], [3, 1, 2], [1, 1, 1, 5]];
const router: FabricDoc = {
  segments: [0, 1, 2, 3, 4].map((k) => ({ name: `s${k}`, cidr: `192.168.${k}.0/24` })),
  netns: [
    {
      name: 'router',
      kind: 'router',
      links: [0, 1, 2, 3, 4].map((k) => ({
        name: k === 4 ? 'in0' : `d${k}`,
        kind: 'physical' as const,
        segment: `s${k}`,
        // The router's own sources for the flows it sends: its links' addresses and a few more on d0.
        addresses: [`192.168.${k}.1/24`, `fd00:${k}::1/64`, ...(k === 0 ? [1, 2, 3, 4, 5, 6, 7, 8].flatMap((i) => [`10.200.0.${i}/32`, `fd20::${i}/128`]) : [])],
      })),
      routes: WEIGHTS.flatMap((ws, r) =>
        (['4', '6'] as const).map((f) => ({
          dst: f === '4' ? `10.${100 + r}.0.0/16` : `fd${10 + r}::/16`,
          nexthops: ws.map((weight, k) => ({ gateway: f === '4' ? `192.168.${k}.2` : `fd00:${k}::2`, dev: `d${k}`, weight })),
        })),
      ),
    },
  ],
};

const FIXED_SEEDS = [1, 0x9e3779b9, 0xffffffff];
const FLOWS = 12;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return (n: number) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

test('the engine names the next hop the kernel takes, for both policies and families, sent and forwarded', { skip: namespacesWork(), timeout: 10 * 60_000 }, async () => {
  const compiled = compileTopology({ form: 'fabric', fabric: router });
  const ns = compiled.fabric.byName.get('router')!;
  const realised = await realise(compiled.fabric, `pt${randomBytes(2).toString('hex')}mp`);
  const vectors: Vector[] = [];
  let compared = 0;
  const wrong: string[] = [];
  try {
    const name = realised.nsName(ns);
    const seeds = [...FIXED_SEEDS, randomBytes(4).readUInt32BE() || 7];
    for (const seed of seeds) {
      for (const policy of ['l3', 'l4'] as HashPolicy[]) {
        const p = policy === 'l3' ? '0' : '1';
        await sh('ip', ['netns', 'exec', name, 'sysctl', '-q', '-w', `net.ipv4.fib_multipath_hash_seed=${seed}`, `net.ipv4.fib_multipath_hash_policy=${p}`, `net.ipv6.fib_multipath_hash_policy=${p}`]);
        ns.multipathHashSeed = seed;
        ns.multipathHashPolicy = policy === 'l3' ? 0 : 1;
        const random = rng(seed ^ (policy === 'l4' ? 0x5bd1e995 : 0));
        for (const family of [4, 6] as const) {
          const asked: { query: string; vector: Vector; engine: number }[] = [];
          for (let r = 0; r < WEIGHTS.length; r++) {
            const weights = WEIGHTS[r]!;
            const sources = weights.map((_, k) => (family === 4 ? `192.168.${k}.1` : `fd00:${k}::1`));
            for (let i = 0; i < FLOWS; i++) {
              const dst = family === 4 ? `10.${100 + r}.${random(256)}.${random(256)}` : `fd${10 + r}:${random(65536).toString(16)}::${random(65536).toString(16)}`;
              // Sent from an extra address of d0, sent from one next hop's own source (IPv4 prefers that next hop),
              // and forwarded from an address outside the router.
              const mode = (['output', 'output', 'input'] as const)[i % 3];
              const src =
                mode === 'input'
                  ? family === 4 ? `172.16.${random(256)}.${1 + random(254)}` : `fd99:${random(65536).toString(16)}::${random(65536).toString(16)}`
                  : i % 3 === 1 ? sources[random(sources.length)]! : family === 4 ? `10.200.0.${1 + random(8)}` : `fd20::${1 + random(8)}`;
              const srcPort = 1024 + random(64512);
              const dstPort = 1 + random(65535);
              const vector: Vector = { seed, policy, src, dst, protocol: 'tcp', srcPort, dstPort, lookup: mode, weights: [...weights], ...(family === 4 && mode === 'output' ? { nexthopSources: sources } : {}), nexthop: -1 };
              const d = Addr.parse(dst);
              const route = compiled.fabric.fibs.route(compiled.fabric.route(ns.id, family, d.w0, d.w1, d.w2, d.w3));
              const engine = kernelNexthop(
                { netns: ns, route, nexthop: -1, src: Addr.parse(src), dst: d, output: mode === 'output', iif: undefined, outer: undefined },
                { protocol: IP_PROTOCOL.tcp, srcPort, dstPort },
                false,
              );
              assert.equal(typeof engine, 'number');
              asked.push({ query: `route get ${dst} from ${src}${mode === 'input' ? ' iif in0' : ''} ipproto tcp sport ${srcPort} dport ${dstPort}`, vector, engine: engine as number });
            }
          }
          const lines = (await sh('ip', [`-${family}`, '-n', name, '-o', '-batch', '-'], asked.map((a) => a.query).join('\n') + '\n')).trim().split('\n');
          assert.equal(lines.length, asked.length, lines.join('\n'));
          asked.forEach(({ query, vector, engine }, j) => {
            const dev = /\bdev d(\d)\b/.exec(lines[j]!)?.[1];
            assert.ok(dev !== undefined, `${query}: ${lines[j]}`);
            vector.nexthop = Number(dev);
            compared++;
            if (engine !== vector.nexthop) wrong.push(`seed ${seed} ${policy}: ${query}: engine d${engine}, kernel ${lines[j]}`);
            if (FIXED_SEEDS.includes(seed)) vectors.push(vector);
          });
        }
      }
    }
  } finally {
    await realised.remove();
  }
  console.log(`multipath hash: ${compared} lookups compared with the kernel, ${wrong.length} disagree`);
  for (const w of wrong.slice(0, 20)) console.log(`  ${w}`);
  assert.deepEqual(wrong, []);
  const file = process.env.MULTIPATH_FIXTURE;
  if (file !== undefined) {
    const produced =
      `test/kernel/multipath.test.ts on Linux ${release()}: a router netns with the routes of WEIGHTS there, ` +
      '`sysctl net.ipv4.fib_multipath_hash_seed`, `net.ipv4/ipv6.fib_multipath_hash_policy`, then ' +
      '`ip route get <dst> from <src> [iif in0] ipproto tcp sport <srcPort> dport <dstPort>`; nexthop is the index of ' +
      'the next hop (dev d<nexthop>) the kernel named. nexthopSources: each next hop\'s source address (an IPv4 lookup ' +
      'that sends from one of them prefers that next hop).';
    const head = JSON.stringify({ produced, kernel: release() }, null, 1).slice(0, -2);
    writeFileSync(file, `${head},\n "vectors": [\n${vectors.map((v) => `  ${JSON.stringify(v)}`).join(',\n')}\n ]\n}\n`);
  }
});
