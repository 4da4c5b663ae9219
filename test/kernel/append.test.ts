// Routes of one destination and metric, added one after the other as a fabric document lists them (`ip route append`),
// against what the kernel holds afterwards: IPv6 makes routes through gateways ECMP siblings, refuses a next hop it holds
// (File exists) and keeps other routes behind the first; IPv4 keeps every route, in order. Needs root (`npm run
// test:kernel`); everything it creates carries the run's prefix and is deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { compileTopology } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import type { RouteDoc } from '../../src/topology/schema.js';
import { namespacesWork, sh } from './realise.js';

const LINKS = [
  { name: 'd0', addresses: ['10.0.0.1/24', 'fd00::1/64'] },
  { name: 'd1', addresses: ['10.0.2.1/24', 'fd02::1/64'] },
];

const CASES: Record<string, RouteDoc[]> = {
  'IPv6 through two gateways': [
    { dst: 'fd09::/64', gateway: 'fd00::2', dev: 'd0' },
    { dst: 'fd09::/64', gateway: 'fd02::2', dev: 'd1' },
  ],
  'IPv6 the same next hop twice, then a device route': [
    { dst: 'fd09::/64', gateway: 'fd00::2', dev: 'd0' },
    { dst: 'fd09::/64', gateway: 'fd00::2', dev: 'd0' },
    { dst: 'fd09::/64', dev: 'd1' },
  ],
  'IPv6 two device routes, a sibling for a multipath route': [
    { dst: 'fd0a::/64', dev: 'd0' },
    { dst: 'fd0a::/64', dev: 'd1' },
    { dst: 'fd0b::/64', nexthops: [{ gateway: 'fd00::2', dev: 'd0' }, { gateway: 'fd00::3', dev: 'd0' }] },
    { dst: 'fd0b::/64', gateway: 'fd02::2', dev: 'd1' },
  ],
  'IPv6 reject routes': [
    { dst: 'fd0c::/64', type: 'unreachable' },
    { dst: 'fd0c::/64', type: 'blackhole' },
    { dst: 'fd0c::/64', gateway: 'fd00::2', dev: 'd0' },
    { dst: 'fd0d::/64', gateway: 'fd00::2', dev: 'd0', metric: 7 },
    { dst: 'fd0d::/64', type: 'prohibit', metric: 7 },
  ],
  'IPv4 keeps both': [
    { dst: '10.9.0.0/16', gateway: '10.0.0.2', dev: 'd0' },
    { dst: '10.9.0.0/16', gateway: '10.0.2.2', dev: 'd1' },
    { dst: '10.9.0.0/16', dev: 'd1' },
  ],
};

const family = (r: RouteDoc) => (r.dst.includes(':') ? 6 : 4);

function appendArgs(r: RouteDoc): string[] {
  const args = ['route', 'append', ...(r.type && r.type !== 'unicast' ? [r.type] : []), r.dst];
  if (r.gateway) args.push('via', r.gateway);
  if (r.dev) args.push('dev', r.dev);
  if (r.metric !== undefined) args.push('metric', String(r.metric));
  for (const n of r.nexthops ?? []) args.push('nexthop', 'via', n.gateway!, 'dev', n.dev);
  return args;
}

/** A route as `ip -j route show` prints it, reduced to what a lookup depends on. */
function held(r: Record<string, any>, v6: boolean): string {
  const hops = (r.nexthops ?? [{ gateway: r.gateway, dev: r.dev }]).map((n: any) => `${n.gateway ?? '-'}@${n.dev ?? '-'}`);
  const type = r.type ?? 'unicast';
  return `${type} ${r.dst} metric ${r.metric ?? (v6 ? 1024 : 0)}${type === 'unicast' ? ` ${hops.join(',')}` : ''}`;
}

test('routes appended one after the other: the engine holds what the kernel holds', { skip: namespacesWork() }, async () => {
  const prefix = `pt${randomBytes(2).toString('hex')}a`;
  for (const [name, routes] of Object.entries(CASES)) {
    const ns = `${prefix}${Object.keys(CASES).indexOf(name)}`;
    await sh('ip', ['netns', 'add', ns]);
    try {
      for (const [i, l] of LINKS.entries()) {
        await sh('ip', ['-n', ns, 'link', 'add', l.name, 'type', 'veth', 'peer', 'name', `e${i}`]);
        for (const a of l.addresses) await sh('ip', ['-n', ns, 'addr', 'add', a, 'dev', l.name, ...(a.includes(':') ? ['nodad'] : [])]);
        await sh('ip', ['-n', ns, 'link', 'set', l.name, 'up']);
        await sh('ip', ['-n', ns, 'link', 'set', `e${i}`, 'up']);
      }
      let refused = 0;
      for (const r of routes) {
        await sh('ip', ['-n', ns, `-${family(r)}`, ...appendArgs(r)]).catch((err: Error) => {
          assert.match(err.message, /File exists/, `${name}: ${appendArgs(r).join(' ')}`);
          refused++;
        });
      }
      const dsts = new Set(routes.map((r) => r.dst));
      const kernel: string[] = [];
      for (const f of [4, 6] as const) {
        const shown = JSON.parse(await sh('ip', ['-n', ns, `-${f}`, '-j', 'route', 'show'])) as Record<string, any>[];
        kernel.push(...shown.filter((r) => dsts.has(r.dst)).map((r) => held(r, f === 6)));
      }

      const doc = { netns: [{ name: 'n', kind: 'host' as const, links: LINKS.map((l) => ({ ...l, kind: 'physical' as const })), routes }] };
      const n = compileTopology(checkTopology({ fabric: doc })).fabric.byName.get('n')!;
      const engine = [...n.fib4.own.groups, ...n.fib6.own.groups]
        .flat()
        .filter((r) => dsts.has(r.prefix.toString()))
        .map((r) => held(r.toJSON((dev) => n.links[dev]!.name), r.prefix.family === 6));
      assert.deepEqual(engine, kernel, name);
      assert.equal(n.ignored.filter((x) => x.includes('File exists')).length, refused, `${name}: ${n.ignored.join('; ')}`);
    } finally {
      await sh('ip', ['netns', 'del', ns]);
    }
  }
});
