// The engine against the Linux kernel: seeded random topologies realised in network namespaces, every ordered pod pair
// and a few unassigned and outside addresses traced by the engine and asked of the kernel. Needs root; `npm run
// test:kernel` runs it (KERNEL_TOPOLOGIES=500 for a long run, KERNEL_SEED to start elsewhere, KERNEL_NETNS_PREFIX for the
// namespaces' names).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { compileTopology, type Endpoint } from '../../src/engine/topology.js';
import { checkTopology } from '../../src/topology/validate.js';
import { checkDumps } from '../../src/import/iproute.js';
import { generate } from './generate.js';
import { namespacesWork, realise, type Realised } from './realise.js';
import { checkBranches, checkPath, checkSource, ping, type Disagreement } from './oracle.js';
import { hashedBranch, IP_PROTOCOL, type FlowKeys } from '../../src/engine/multipath.js';
import { dumpDocument } from './dump.js';
import type { Path, Trace } from '../../src/engine/trace.js';

/** What a path says, as far as the kernel can be asked: the routing decisions (netns, egress device, gateway) and the end. */
function signature(path: Path): string {
  const decisions = path.hops.flatMap((hop) =>
    hop.steps.flatMap((s) => {
      if (s.type !== 'ROUTE') return [];
      const nh = s.route?.nexthops[s.nexthop];
      if (nh === undefined) return [`${hop.netns.name}: -`];
      return [`${hop.netns.name}: dev ${hop.netns.links[nh.dev]!.name}${nh.gateway ? ` via ${nh.gateway}` : ''}`];
    }),
  );
  return `${decisions.join(' → ')} ⇒ ${path.disposition} at ${path.hops.at(-1)!.netns.name}`;
}

const signatures = (t: Trace) => t.paths.map(signature).join(' | ');

const skip = namespacesWork();
const topologies = Number(process.env.KERNEL_TOPOLOGIES ?? 12);
const firstSeed = Number(process.env.KERNEL_SEED ?? 1);

test(`the engine agrees with the kernel on ${topologies} random topologies`, { skip, timeout: 60 * 60_000 }, async () => {
  // KERNEL_NETNS_PREFIX names the run's namespaces, for a machine shared by several runs.
  const runPrefix = process.env.KERNEL_NETNS_PREFIX ?? `pt${randomBytes(2).toString('hex')}`;
  let pairs = 0;
  let decisions = 0;
  let pings = 0;
  const disagreements: (Disagreement & { seed: number; flow: string; faults: string[] })[] = [];
  const dispositions = new Map<string, number>();
  // The same topologies read back from the kernel (ip -j dumps → importIproute → fabric): traced like the compiled one.
  let importedPairs = 0;
  let importedDecisions = 0;
  const importDisagreements: (Disagreement & { seed: number; flow: string; faults: string[] })[] = [];
  const importWarnings = new Map<string, number>();
  // ECMP: the next hops the engine says the kernel's hash takes, compared; the traces whose branch it names.
  const ecmp = { lookups: 0, named: 0, unknown: 0 };
  /** A TCP flow per traced pair, its ports drawn from the pair's number. */
  const flowKeys = (n: number): FlowKeys => ({ protocol: IP_PROTOCOL.tcp, srcPort: 32768 + ((n * 7919) % 28000), dstPort: 1 + ((n * 104729) % 65535) });
  const branches = async (t: Trace, realised: Realised, flow: string, seed: number, faults: string[]) => {
    const keys = flowKeys(pairs);
    const hashed = hashedBranch(t, keys);
    if (hashed !== undefined) ecmp[hashed.path !== undefined ? 'named' : 'unknown']++;
    for (const path of t.paths) for (const d of await checkBranches(path, realised, keys, ecmp)) disagreements.push({ ...d, seed, flow, faults });
  };

  for (let seed = firstSeed; seed < firstSeed + topologies; seed++) {
    const g = generate(seed);
    checkTopology({ fabric: g.fabric });
    const compiled = compileTopology({ form: 'fabric', fabric: g.fabric });
    const realised = await realise(compiled.fabric, `${runPrefix}s${seed}`, g.deletedConnected);
    try {
      const dumps = await dumpDocument(compiled.fabric, realised);
      let imported: ReturnType<typeof compileTopology> | undefined;
      try {
        const checked = checkDumps(dumps);
        for (const w of checked.warnings) importWarnings.set(w.code, (importWarnings.get(w.code) ?? 0) + w.count);
        imported = compileTopology(checked.spec);
      } catch (err) {
        const detail = (err as { errors?: unknown[] }).errors?.slice(0, 3);
        importDisagreements.push({ seed, flow: '-', faults: g.faults, at: 'import', engine: 'imports', kernel: `${(err as Error).message} ${JSON.stringify(detail ?? '')}` });
      }
      // The kernel namespace of an imported netns is the one realised for the compiled netns of the same name.
      const importedRealised: Realised = { ...realised, nsName: (ns) => realised.nsName(compiled.fabric.byName.get(ns.name)!) };
      const pods = compiled.fabric.netns.filter((n) => n.kind === 'pod').map((n) => compiled.resolve(n.name, 'source'));
      const targets: Endpoint[] = [...pods, ...g.extraDestinations.map((a) => compiled.resolve(a, 'destination'))];
      // Every pair in each family both ends have: a dual-stack topology is traced, and asked, once per family.
      const families = (a: Endpoint, b: Endpoint) => ([4, 6] as const).filter((f) => (f === 4 ? a.v4 && b.v4 : a.v6 && b.v6));
      // Nodes send too: what they are asked is the source address the kernel picks for them, and their routes.
      const nodes = compiled.fabric.netns.filter((n) => n.kind === 'node').map((n) => compiled.resolve(n.name, 'source'));
      // The kernel is asked about many traces at once: oracle.ts answers the questions of one turn of the event loop to a
      // namespace with one `ip -batch` process.
      const work: Promise<void>[] = [];
      const later = async (checked: Promise<Disagreement[]>, flow: string, into = disagreements, at = (d: Disagreement) => d.at) => {
        for (const d of await checked) into.push({ ...d, at: at(d), seed, flow, faults: g.faults });
      };
      const settle = async (most: number) => {
        if (work.length >= most) await Promise.all(work.splice(0));
      };
      for (const from of nodes) {
        for (const to of targets) {
          for (const family of families(from, to)) {
            const t = compiled.trace(from, to, 64, family);
            const flow = `${from.name} → ${to.name} (IPv${family})`;
            pairs++;
            decisions++;
            work.push(later(checkSource(t, realised), flow), branches(t, realised, flow, seed, g.faults));
            for (const path of t.paths) {
              decisions += path.hops.filter((h) => h.steps.some((s) => s.type === 'ROUTE' || s.type === 'DELIVER')).length;
              work.push(later(checkPath(t, path, realised), flow));
            }
            await settle(256);
          }
        }
      }
      const results = new Map<string, string>();
      const checks: Promise<void>[] = [];
      for (const from of pods) {
        for (const to of targets) {
          if (from === to) continue;
          for (const family of families(from, to)) {
            const t = compiled.trace(from, to, 64, family);
            const flow = `${from.name} → ${to.name} (IPv${family})`;
            pairs++;
            work.push(branches(t, realised, flow, seed, g.faults));
            for (const path of t.paths) {
              dispositions.set(path.disposition, (dispositions.get(path.disposition) ?? 0) + 1);
              decisions += path.hops.filter((h) => h.steps.some((s) => s.type === 'ROUTE' || s.type === 'DELIVER')).length;
              work.push(later(checkPath(t, path, realised), flow));
            }
            if (imported !== undefined) {
              const it = imported.trace(imported.resolve(from.name, 'source'), imported.resolve(to.name, 'destination'), 64, family);
              importedPairs++;
              if (signatures(it) !== signatures(t)) {
                importDisagreements.push({ seed, flow, faults: g.faults, at: 'trace', engine: signatures(t), kernel: `imported: ${signatures(it)}` });
              }
              for (const path of it.paths) {
                importedDecisions += path.hops.filter((h) => h.steps.some((s) => s.type === 'ROUTE' || s.type === 'DELIVER')).length;
                work.push(later(checkPath(it, path, importedRealised), flow, importDisagreements, (d) => `imported ${d.at}`));
              }
            }
            await settle(256);
            const delivered = t.paths.every((p) => p.disposition === 'DELIVERED') ? 'yes' : t.paths.some((p) => p.disposition === 'DELIVERED') ? 'some' : 'no';
            results.set(`${from.name}|${to.name}|${family}`, delivered);
          }
        }
      }
      // Ping needs both directions: it proves delivery where the engine delivers there and back, and its failure where
      // the engine delivers in neither direction.
      for (const from of pods) {
        for (const to of pods) {
          for (const family of families(from, to)) {
            const there = results.get(`${from.name}|${to.name}|${family}`);
            const back = results.get(`${to.name}|${from.name}|${family}`);
            if (there === undefined || back === undefined) continue;
            const expect = there === 'yes' && back === 'yes' ? true : there === 'no' ? false : undefined;
            if (expect === undefined) continue;
            const [src, dst] = family === 4 ? [from.v4!, to.v4!] : [from.v6!, to.v6!];
            checks.push(
              ping(realised, from.netns!, src.toString(), dst.toString()).then((ok) => {
                pings++;
                if (ok !== expect) {
                  disagreements.push({
                    seed,
                    flow: `${from.name} → ${to.name} (IPv${family})`,
                    faults: g.faults,
                    at: 'ping',
                    engine: expect ? 'delivered both ways' : 'not delivered',
                    kernel: ok ? 'ping answered' : 'ping failed',
                  });
                }
              }),
            );
            if (checks.length >= 16) await Promise.all(checks.splice(0));
          }
        }
      }
      await Promise.all(checks);
      await settle(0);
    } finally {
      await realised.remove();
    }
  }

  const agreement = decisions + pings === 0 ? 1 : 1 - disagreements.length / (decisions + pings);
  console.log(
    `kernel conformance: ${topologies} topologies, ${pairs} traced pairs, ${decisions} routing decisions and ${pings} pings ` +
      `compared, agreement ${(agreement * 100).toFixed(2)}%; dispositions ${JSON.stringify(Object.fromEntries(dispositions))}`,
  );
  console.log(
    `kernel ECMP: ${ecmp.lookups} multipath next hops compared with the kernel's hash; the branch named for ${ecmp.named} ` +
      `traces, left to the kernel's unknowns for ${ecmp.unknown}`,
  );
  const failedImports = importDisagreements.filter((d) => d.at === 'import').length;
  const differentTraces = importDisagreements.filter((d) => d.at === 'trace').length;
  const importOracle = importDisagreements.length - failedImports - differentTraces;
  console.log(
    `kernel dumps imported: ${topologies - failedImports}/${topologies} topologies; ${importedPairs} pairs traced, ` +
      `${importedPairs - differentTraces} with the compiled fabric's dispositions and routing decisions; ${importedDecisions} ` +
      `routing decisions compared with the kernel, agreement ` +
      `${((importedDecisions === 0 ? 1 : 1 - importOracle / importedDecisions) * 100).toFixed(2)}%; import warnings ` +
      `${JSON.stringify(Object.fromEntries(importWarnings))}`,
  );
  for (const d of disagreements.slice(0, 20)) console.log(`  seed ${d.seed} [${d.faults.join('; ')}] ${d.flow} at ${d.at}: engine ${d.engine}, kernel ${d.kernel}`);
  for (const d of importDisagreements.slice(0, 20)) {
    console.log(`  imported, seed ${d.seed} [${d.faults.join('; ')}] ${d.flow} at ${d.at}: ${d.engine === 'imports' ? '' : 'compiled '}${d.engine}, ${d.kernel}`);
  }
  assert.equal(disagreements.length, 0, `${disagreements.length} disagreements`);
  assert.equal(importDisagreements.length, 0, `${importDisagreements.length} disagreements of the imported dumps`);
});
