// GET /v1/topologies/{name}/diff: what changed between two revisions — nodes, pods, namespaces, links and routes — and
// which pod pairs changed outcome: the question an operator asks after a change.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { compileStored } from '../../work/revisions.js';
import { materialise } from '../../engine/materialise.js';
import { reachability } from '../../engine/reachability.js';
import type { CompiledTopology } from '../../engine/topology.js';
import { TopologyName, type FabricDoc } from '../../topology/schema.js';
import { Problem } from '../problem.js';
import { MAX_MATRIX_PODS } from '../../answer/matrix.js';
import { BadRequest, NotFound, problemResponse } from '../responses.js';
import { NameParams } from './topologies.schemas.js';
import { MAX_REVISION } from './topologies.schemas.js';


/** Changed pairs listed in full up to this many; the count is always exact. */
const MAX_LISTED = 1000;

const Names = Type.Object({ added: Type.Array(Type.String()), removed: Type.Array(Type.String()), changed: Type.Array(Type.String()) });

export const DiffAnswer = Type.Object({
  topology: Type.String(),
  from: Type.Integer(),
  to: Type.Integer(),
  changes: Type.Object({
    nodes: Names,
    pods: Names,
    netns: Names,
    links: Type.Array(Type.Object({ netns: Type.String(), link: Type.String(), change: Type.String() })),
    routes: Type.Array(Type.Object({ netns: Type.String(), added: Type.Array(Type.String()), removed: Type.Array(Type.String()) })),
  }),
  reachability: Type.Object({
    pods: Type.Integer({ description: 'Pods present in both revisions, whose pairs are compared.' }),
    changedCount: Type.Integer(),
    changed: Type.Array(Type.Object({ from: Type.String(), to: Type.String(), before: Type.String(), after: Type.String() })),
  }),
});

function compare<T>(before: Map<string, T>, after: Map<string, T>) {
  const same = (a: T, b: T) => JSON.stringify(a) === JSON.stringify(b);
  return {
    added: [...after.keys()].filter((k) => !before.has(k)).sort(),
    removed: [...before.keys()].filter((k) => !after.has(k)).sort(),
    changed: [...after.keys()].filter((k) => before.has(k) && !same(before.get(k)!, after.get(k)!)).sort(),
  };
}

const routeText = (r: object) => JSON.stringify(r);

function fabricChanges(a: FabricDoc, b: FabricDoc) {
  const before = new Map(a.netns.map((n) => [n.name, n]));
  const after = new Map(b.netns.map((n) => [n.name, n]));
  const links: { netns: string; link: string; change: string }[] = [];
  const routes: { netns: string; added: string[]; removed: string[] }[] = [];
  for (const [name, nb] of after) {
    const na = before.get(name);
    if (na === undefined) continue;
    const la = new Map(na.links.map((l) => [l.name, l]));
    const lb = new Map(nb.links.map((l) => [l.name, l]));
    for (const [ln, l] of lb) {
      const old = la.get(ln);
      if (old === undefined) links.push({ netns: name, link: ln, change: 'added' });
      else if ((old.up ?? true) !== (l.up ?? true)) links.push({ netns: name, link: ln, change: l.up === false ? 'down' : 'up' });
      else if (JSON.stringify(old) !== JSON.stringify(l)) links.push({ netns: name, link: ln, change: 'changed' });
    }
    for (const ln of la.keys()) if (!lb.has(ln)) links.push({ netns: name, link: ln, change: 'removed' });
    const ra = new Set((na.routes ?? []).map(routeText));
    const rb = new Set((nb.routes ?? []).map(routeText));
    const added = [...rb].filter((r) => !ra.has(r));
    const removed = [...ra].filter((r) => !rb.has(r));
    if (na.forwarding !== nb.forwarding) links.push({ netns: name, link: '', change: nb.forwarding ? 'forwarding on' : 'forwarding off' });
    if (added.length + removed.length > 0) routes.push({ netns: name, added, removed });
  }
  return { netns: compare(before, after), links, routes };
}

function pairChanges(a: CompiledTopology, b: CompiledTopology) {
  const podsB = new Map(b.pods().map((p) => [p.name, p]));
  const common = a.pods().filter((p) => podsB.has(p.name));
  if (common.length > MAX_MATRIX_PODS) {
    throw new Problem(413, 'payload-too-large', `${common.length} pods: a diff compares at most ${MAX_MATRIX_PODS}`);
  }
  const ma = reachability(a, common);
  const mb = reachability(b, common.map((p) => podsB.get(p.name)!));
  const n = common.length;
  const changed: { from: string; to: string; before: string; after: string }[] = [];
  let changedCount = 0;
  for (let i = 0; i < n * n; i++) {
    if (ma.cells[i] === mb.cells[i]) continue;
    changedCount++;
    if (changed.length < MAX_LISTED) {
      changed.push({ from: common[Math.floor(i / n)]!.name, to: common[i % n]!.name, before: ma.cells[i] ?? 'NONE', after: mb.cells[i] ?? 'NONE' });
    }
  }
  return { pods: n, changedCount, changed };
}

const diffRevisionsDoc = {
  tags: ['topologies'],
  operationId: 'diffRevisions',
  summary: 'What changed between two revisions',
  description: 'Compares two revisions (`from`, default the one before `to`; `to`, default the newest): nodes and pods (for cluster\n' +
    'documents), namespaces, links and routes (of the fabrics both compile to), and the outcome of every ordered pair of\n' +
    'the pods present in both: the pairs whose disposition changed (listed up to 1,000; `changedCount` is exact).\n',
  response: {
    200: {
      description: 'The differences.',
      content: {
        'application/json': {
          schema: DiffAnswer,
          example: {
            topology: 'two-nodes',
            from: 1,
            to: 2,
            changes: {
              nodes: { added: [], removed: [], changed: ['node-b'] },
              pods: { added: [], removed: ['default/pod-a2'], changed: ['default/pod-b1'] },
              netns: {
                added: [],
                removed: ['default/pod-a2'],
                changed: ['default/pod-b1', 'node-a', 'node-b'],
              },
              links: [
                { netns: 'node-a', link: 'veth6f99aef2', change: 'removed' },
                { netns: 'node-b', link: 'cbr0', change: 'changed' },
                { netns: 'default/pod-b1', link: 'eth0', change: 'changed' },
              ],
              routes: [
                {
                  netns: 'node-a',
                  added: ['{"dst":"10.1.3.0/24","gateway":"192.168.0.12","dev":"eth0"}'],
                  removed: ['{"dst":"10.1.2.0/24","gateway":"192.168.0.12","dev":"eth0"}'],
                },
                {
                  netns: 'default/pod-b1',
                  added: ['{"dst":"default","gateway":"10.1.3.1","dev":"eth0"}'],
                  removed: ['{"dst":"default","gateway":"10.1.2.1","dev":"eth0"}'],
                },
              ],
            },
            reachability: { pods: 3, changedCount: 0, changed: [] },
          },
        },
      },
    },
    400: BadRequest,
    404: NotFound,
    413: problemResponse(
      'More than 5,000 pods in common.',
      {
        type: 'urn:pathtrace:problem:payload-too-large',
        title: 'Request body too large',
        status: 413,
        detail: '7000 pods: a diff compares at most 5000',
        instance: '/v1/topologies/prod/diff',
      },
    ),
  },
};

export default async function diffRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/topologies/:name/diff',
    {
      schema: {
        ...diffRevisionsDoc,
        params: NameParams,
        querystring: Type.Object(
          {
            from: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION, examples: [1] })),
            to: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_REVISION, examples: [2] })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (request) => {
      const { name } = request.params;
      const newest = (await app.store.head(name)).revision;
      const to = request.query.to ?? newest;
      const from = request.query.from ?? to - 1;
      if (from < 1) throw new Problem(400, 'invalid-request', `${name} has one revision: there is nothing to compare it with`);
      const [da, db] = await Promise.all([app.store.get(name, from), app.store.get(name, to)]);
      const [a, b] = [compileStored(da), compileStored(db)];
      const cluster = (d: typeof da) => (d.form === 'cluster' ? (JSON.parse(d.documentJson) as { nodes: { name: string }[]; pods?: { namespace?: string; name: string }[] }) : undefined);
      const ca = cluster(da);
      const cb = cluster(db);
      const none = { added: [], removed: [], changed: [] };
      const fabric = fabricChanges(materialise(a.compiled.fabric), materialise(b.compiled.fabric));
      return {
        topology: name,
        from,
        to,
        changes: {
          nodes: ca && cb ? compare(new Map(ca.nodes.map((n) => [n.name, n])), new Map(cb.nodes.map((n) => [n.name, n]))) : none,
          pods:
            ca && cb
              ? compare(
                  new Map((ca.pods ?? []).map((p) => [`${p.namespace ?? 'default'}/${p.name}`, p])),
                  new Map((cb.pods ?? []).map((p) => [`${p.namespace ?? 'default'}/${p.name}`, p])),
                )
              : none,
          ...fabric,
        },
        reachability: pairChanges(a.compiled, b.compiled),
      };
    },
  );
}
