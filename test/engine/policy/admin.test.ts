// AdminNetworkPolicy and BaselineAdminNetworkPolicy around NetworkPolicy (KEP-2091): the ANPs first by priority, their
// rules in order (Allow and Deny final, Pass on to NetworkPolicy), then NetworkPolicy, then the BANP for a pod that no
// NetworkPolicy isolates; the POLICY step names the deciding rule; the validator's problems point at the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology, type CompiledTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { DataError } from '../../../src/topology/data-error.js';
import { reachability } from '../../../src/engine/reachability.js';
import type { AdminNetworkPolicyDoc, BaselineAdminNetworkPolicyDoc, ClusterDoc, NetworkPolicyDoc } from '../../../src/topology/schema.js';
import type { PolicyStep } from '../../../src/engine/trace.js';
import { policyAnswer, policyText } from '../../../src/answer/policy.js';
import { policyLabel } from '../../../src/render/answer.js';

const base: ClusterDoc = {
  nodes: [
    { name: 'node-1', addresses: [{ type: 'InternalIP', address: '192.168.0.11' }], podCIDRs: ['10.1.1.0/24'], labels: { role: 'worker' } },
    { name: 'node-2', addresses: [{ type: 'InternalIP', address: '192.168.0.12' }], podCIDRs: ['10.1.2.0/24'], labels: { role: 'control-plane' } },
  ],
  namespaces: [{ name: 'shop', labels: { tier: 'app' } }, { name: 'ops', labels: { tier: 'infra' } }],
  pods: [
    { namespace: 'shop', name: 'web', nodeName: 'node-1', podIPs: ['10.1.1.2'], labels: { app: 'web' } },
    { namespace: 'shop', name: 'db', nodeName: 'node-2', podIPs: ['10.1.2.2'], labels: { app: 'db' }, ports: [{ name: 'pg', containerPort: 5432 }] },
    { namespace: 'ops', name: 'probe', nodeName: 'node-2', podIPs: ['10.1.2.3'], labels: { app: 'probe' } },
    { namespace: 'ops', name: 'backup', nodeName: 'node-1', podIPs: ['10.1.1.3'], labels: { app: 'backup' } },
  ],
};

type AnpSpec = AdminNetworkPolicyDoc['spec'];
const anp = (name: string, spec: AnpSpec): AdminNetworkPolicyDoc => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'AdminNetworkPolicy',
  metadata: { name },
  spec,
});
const banp = (spec: BaselineAdminNetworkPolicyDoc['spec']): BaselineAdminNetworkPolicyDoc => ({
  apiVersion: 'policy.networking.k8s.io/v1alpha1',
  kind: 'BaselineAdminNetworkPolicy',
  metadata: { name: 'default' },
  spec,
});
const np = (name: string, namespace: string, spec: NetworkPolicyDoc['spec']): NetworkPolicyDoc => ({ metadata: { name, namespace }, spec });

const compile = (c: Partial<ClusterDoc>) => compileTopology(checkTopology({ cluster: { ...base, ...c } }));

function run(c: CompiledTopology, from: string, to: string, protocol: 'tcp' | 'udp' | 'icmp', dstPort?: number) {
  const t = c.trace(c.resolve(from, 'source'), c.resolve(to, 'destination'), 64, undefined, protocol === 'icmp' ? { protocol } : { protocol, dstPort });
  const path = t.paths[0]!;
  const policies = path.hops.flatMap((h) => h.steps).filter((s): s is PolicyStep => s.type === 'POLICY');
  return { disposition: path.disposition, ingress: policies.find((p) => p.direction === 'ingress'), egress: policies.find((p) => p.direction === 'egress') };
}

const shopSubject = { namespaces: { matchLabels: { tier: 'app' } } };
const fromOps = [{ namespaces: { matchLabels: { tier: 'infra' } } }];

test('an ANP Deny is final and the POLICY step names the policy, its priority, the rule and what matched', () => {
  const c = compile({ adminNetworkPolicies: [anp('no-ops', { priority: 10, subject: shopSubject, ingress: [{ name: 'deny-from-ops', action: 'Deny', from: fromOps }] })] });
  const r = run(c, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(r.disposition, 'DENIED');
  assert.equal(r.ingress!.verdict, 'DENIED');
  assert.deepEqual(r.ingress!.decidedBy, {
    kind: 'AdminNetworkPolicy',
    name: 'no-ops',
    priority: 10,
    rule: 0,
    ruleName: 'deny-from-ops',
    action: 'Deny',
    peer: 'namespaces tier=infra',
    peerIndex: 0,
    port: undefined,
    portIndex: undefined,
  });
  assert.equal(r.ingress!.closest, undefined);
  assert.match(policyText(r.ingress!), /denied by AdminNetworkPolicy no-ops \(priority 10\) ingress rule 0 "deny-from-ops"/);
  // The diagrams (Mermaid, SVG) label the step with the deciding policy too.
  assert.equal(policyLabel({ ...policyAnswer(r.ingress!, true), explanation: '' }), 'ingress denied by ANP no-ops rule 0');
  // A pod the subject does not select is not affected, nor a peer the rule does not match.
  assert.equal(run(c, 'shop/web', 'shop/db', 'tcp', 5432).disposition, 'DELIVERED');
  assert.equal(run(c, 'shop/web', 'ops/probe', 'tcp', 5432).disposition, 'DELIVERED');
});

test('an ANP Allow overrides a NetworkPolicy that would deny', () => {
  const c = compile({
    networkPolicies: [np('deny-all', 'shop', { podSelector: {}, policyTypes: ['Ingress'] })],
    adminNetworkPolicies: [anp('ops-in', { priority: 5, subject: shopSubject, ingress: [{ action: 'Allow', from: fromOps, ports: [{ namedPort: 'pg' }] }] })],
  });
  const allowed = run(c, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(allowed.disposition, 'DELIVERED');
  assert.equal(allowed.ingress!.decidedBy?.action, 'Allow');
  assert.equal(allowed.ingress!.decidedBy?.port, 'named port pg');
  assert.equal(allowed.ingress!.allowedBy, undefined);
  // Another port does not match the ANP: NetworkPolicy decides, and denies.
  const denied = run(c, 'ops/probe', 'shop/db', 'tcp', 5433);
  assert.equal(denied.disposition, 'DENIED');
  assert.equal(denied.ingress!.decidedBy, undefined);
  assert.deepEqual(denied.ingress!.isolatedBy, [{ namespace: 'shop', name: 'deny-all' }]);
});

test('priorities: the lower number is evaluated first, whatever the order of the list; rules in order within a policy', () => {
  const deny = anp('deny-ops', { priority: 20, subject: shopSubject, ingress: [{ action: 'Deny', from: fromOps }] });
  const allow = anp('allow-ops', { priority: 10, subject: shopSubject, ingress: [{ action: 'Allow', from: fromOps }] });
  const c = compile({ adminNetworkPolicies: [deny, allow] });
  const r = run(c, 'ops/probe', 'shop/db', 'tcp', 80);
  assert.equal(r.disposition, 'DELIVERED');
  assert.equal(r.ingress!.decidedBy?.name, 'allow-ops');
  const swapped = compile({ adminNetworkPolicies: [{ ...deny, spec: { ...deny.spec, priority: 5 } }, allow] });
  assert.equal(run(swapped, 'ops/probe', 'shop/db', 'tcp', 80).ingress!.decidedBy?.name, 'deny-ops');
  const ordered = compile({
    adminNetworkPolicies: [anp('both', { priority: 1, subject: shopSubject, ingress: [{ action: 'Deny', from: fromOps, ports: [{ portNumber: { port: 80 } }] }, { action: 'Allow', from: fromOps }] })],
  });
  assert.equal(run(ordered, 'ops/probe', 'shop/db', 'tcp', 80).disposition, 'DENIED');
  assert.equal(run(ordered, 'ops/probe', 'shop/db', 'tcp', 81).ingress!.decidedBy?.rule, 1);
});

test('Pass skips the remaining ANPs and hands the connection to NetworkPolicy, which the step then names', () => {
  const pass = anp('pass-ops', { priority: 1, subject: shopSubject, ingress: [{ name: 'to-np', action: 'Pass', from: fromOps }] });
  const deny = anp('deny-ops', { priority: 2, subject: shopSubject, ingress: [{ action: 'Deny', from: fromOps }] });
  const onlyWeb = np('db-from-web', 'shop', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });
  const c = compile({ adminNetworkPolicies: [pass, deny], networkPolicies: [onlyWeb] });
  const r = run(c, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(r.disposition, 'DENIED');
  assert.equal(r.ingress!.decidedBy, undefined);
  assert.equal(r.ingress!.passedBy?.name, 'pass-ops');
  assert.equal(r.ingress!.passedBy?.action, 'Pass');
  assert.deepEqual(r.ingress!.closest?.policy, { namespace: 'shop', name: 'db-from-web' });
  assert.match(policyText(r.ingress!), /AdminNetworkPolicy pass-ops \(priority 1\) ingress rule 0 "to-np" passed it on to NetworkPolicy/);
  // Passed, and no NetworkPolicy isolates the pod: the lower-priority Deny is skipped, so the default allows.
  const unisolated = run(c, 'ops/probe', 'shop/web', 'tcp', 80);
  assert.equal(unisolated.disposition, 'DELIVERED');
  assert.equal(unisolated.ingress!.verdict, 'NOT_ISOLATED');
  assert.equal(unisolated.ingress!.passedBy?.name, 'pass-ops');
});

test('the BANP decides only for a pod that no NetworkPolicy isolates', () => {
  const baseline = banp({ subject: shopSubject, ingress: [{ name: 'no-ops', action: 'Deny', from: fromOps }] });
  const c = compile({ baselineAdminNetworkPolicies: [baseline] });
  const r = run(c, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(r.disposition, 'DENIED');
  assert.deepEqual(
    { kind: r.ingress!.decidedBy?.kind, name: r.ingress!.decidedBy?.name, priority: r.ingress!.decidedBy?.priority, rule: r.ingress!.decidedBy?.ruleName },
    { kind: 'BaselineAdminNetworkPolicy', name: 'default', priority: undefined, rule: 'no-ops' },
  );
  assert.match(policyText(r.ingress!), /no NetworkPolicy isolates shop\/db for ingress, so the baseline decides/);
  const withNp = compile({
    baselineAdminNetworkPolicies: [baseline],
    networkPolicies: [np('db-open', 'shop', { podSelector: { matchLabels: { app: 'db' } }, ingress: [{}] })],
  });
  const open = run(withNp, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(open.disposition, 'DELIVERED');
  assert.equal(open.ingress!.allowedBy?.policy.name, 'db-open');
  // shop/web is not isolated by db-open: the baseline still denies it.
  assert.equal(run(withNp, 'ops/probe', 'shop/web', 'tcp', 80).disposition, 'DENIED');
});

test('egress: ports by number, range and protocol; networks and nodes peers; a rule without ports matches ICMP', () => {
  const subject = { pods: { namespaceSelector: { matchLabels: { tier: 'app' } }, podSelector: { matchLabels: { app: 'web' } } } };
  const c = compile({
    adminNetworkPolicies: [
      anp('web-out', {
        priority: 3,
        subject,
        egress: [
          { name: 'udp-range', action: 'Deny', to: [{ namespaces: {} }], ports: [{ portRange: { protocol: 'UDP', start: 5000, end: 6000 } }] },
          { name: 'no-control-plane', action: 'Deny', to: [{ nodes: { matchLabels: { role: 'control-plane' } } }] },
          { name: 'no-backup-net', action: 'Deny', to: [{ networks: ['10.1.1.3/32'] }] },
        ],
      }),
    ],
  });
  assert.equal(run(c, 'shop/web', 'ops/probe', 'udp', 5353).disposition, 'DENIED');
  assert.equal(run(c, 'shop/web', 'ops/probe', 'udp', 6001).disposition, 'DELIVERED');
  assert.equal(run(c, 'shop/web', 'ops/probe', 'tcp', 5353).disposition, 'DELIVERED');
  const node = run(c, 'shop/web', 'node-2', 'tcp', 443);
  assert.equal(node.disposition, 'DENIED');
  assert.equal(node.egress!.decidedBy?.peer, 'nodes role=control-plane');
  assert.equal(run(c, 'shop/web', 'node-1', 'tcp', 443).disposition, 'DELIVERED');
  const net = run(c, 'shop/web', 'ops/backup', 'icmp');
  assert.equal(net.disposition, 'DENIED');
  assert.equal(net.egress!.decidedBy?.ruleName, 'no-backup-net');
  // shop/db is in the namespace but not selected by the pod selector of the subject.
  assert.equal(run(c, 'shop/db', 'ops/backup', 'icmp').disposition, 'DELIVERED');
});

test('the matrix tells apart sources that only an admin policy distinguishes', () => {
  const c = compile({
    adminNetworkPolicies: [anp('probe-only', { priority: 1, subject: shopSubject, ingress: [{ action: 'Deny', from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'probe' } } } }] }] })],
  });
  const ends = ['ops/probe', 'ops/backup', 'shop/db'].map((p) => c.resolve(p, 'source'));
  const m = reachability(c, ends, { protocol: 'tcp', dstPort: 80 });
  const cell = (i: number, j: number) => m.cells[i * ends.length + j];
  assert.equal(cell(0, 2), 'DENIED');
  assert.equal(cell(1, 2), 'DELIVERED');
});

test('the validator points at what the CRDs refuse', () => {
  const bad = anp('bad', {
    priority: 1,
    subject: { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } },
    ingress: [{ action: 'Allow', from: [{ nodes: {} }, { namespaces: {}, pods: { namespaceSelector: {}, podSelector: {} } }] }],
    egress: [
      {
        action: 'Deny',
        to: [{ networks: ['10.0.0.0/33'] }],
        ports: [{ namedPort: 'web' }, { portRange: { start: 90, end: 80 } }, {}],
      },
    ],
  });
  try {
    checkTopology({
      cluster: {
        ...base,
        adminNetworkPolicies: [bad, { ...anp('bad', { priority: 2, subject: { namespaces: {} } }), apiVersion: 'policy.networking.k8s.io/v1' }],
        baselineAdminNetworkPolicies: [{ ...banp({ subject: {} }), metadata: { name: 'mine' } }],
      },
    });
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof DataError);
    assert.deepEqual(err.errors.map((e) => e.pointer).sort(), [
      '/cluster/adminNetworkPolicies/0/spec/egress/0/ports/0/namedPort',
      '/cluster/adminNetworkPolicies/0/spec/egress/0/ports/1/portRange/end',
      '/cluster/adminNetworkPolicies/0/spec/egress/0/ports/2',
      '/cluster/adminNetworkPolicies/0/spec/egress/0/to/0/networks/0',
      '/cluster/adminNetworkPolicies/0/spec/ingress/0/from/0/nodes',
      '/cluster/adminNetworkPolicies/0/spec/ingress/0/from/1',
      '/cluster/adminNetworkPolicies/0/spec/subject',
      '/cluster/adminNetworkPolicies/1/apiVersion',
      '/cluster/adminNetworkPolicies/1/metadata/name',
      '/cluster/baselineAdminNetworkPolicies/0/metadata/name',
      '/cluster/baselineAdminNetworkPolicies/0/spec/subject',
    ]);
  }
});

test('a peer of a kind not modelled (a newer API\'s domainNames) is taken and fails closed, as the API asks', () => {
  const domains = { domainNames: ['*.example.com'] } as unknown as { namespaces: Record<string, never> };
  const subject = { namespaces: { matchLabels: { tier: 'app' } } };
  const allow = compile({
    adminNetworkPolicies: [anp('allow-domains', { priority: 1, subject, egress: [{ action: 'Allow', to: [domains] }, { action: 'Deny', to: [{ namespaces: {} }] }] })],
  });
  // The Allow does not match through the unknown peer: the next rule denies.
  const r = run(allow, 'shop/web', 'ops/probe', 'tcp', 443);
  assert.equal(r.disposition, 'DENIED');
  assert.equal(r.egress!.decidedBy?.rule, 1);
  const pass = compile({
    adminNetworkPolicies: [anp('pass-domains', { priority: 1, subject, egress: [{ name: 'dns', action: 'Pass', to: [domains], ports: [{ portNumber: { protocol: 'UDP', port: 53 } }] }] })],
  });
  // A Pass (or Deny) rule with it becomes a Deny of everything, whatever its ports.
  const denied = run(pass, 'shop/web', 'ops/probe', 'tcp', 443);
  assert.equal(denied.disposition, 'DENIED');
  assert.equal(denied.egress!.decidedBy?.action, 'Deny');
  assert.equal(denied.egress!.decidedBy?.peer, 'a peer of a kind not modelled (domainNames), failing closed');
});

test('an admin denial names the closest Allow or Pass rule before it and what it misses', () => {
  // Evaluated first (priority 1): a Pass for the on-call pods of SRE namespaces, which ops/probe misses by two parts.
  const passSre = anp('pass-sre', {
    priority: 1,
    subject: shopSubject,
    ingress: [{ name: 'pass-sre', action: 'Pass', from: [{ pods: { namespaceSelector: { matchLabels: { team: 'sre' } }, podSelector: { matchLabels: { app: 'oncall' } } } }] }],
  });
  type Ingress = NonNullable<AnpSpec['ingress']>;
  const https: Ingress[number] = { name: 'https-from-infra', action: 'Allow', from: fromOps, ports: [{ portNumber: { protocol: 'TCP', port: 443 } }] };
  const web: Ingress[number] = { name: 'from-web', action: 'Allow', from: [{ pods: { namespaceSelector: {}, podSelector: { matchLabels: { app: 'web' } } } }] };
  const deny: Ingress[number] = { name: 'deny-rest', action: 'Deny', from: [{ namespaces: {} }] };
  // After the Deny: never evaluated for this connection, so never the closest, though it would match.
  const late: Ingress[number] = { name: 'too-late', action: 'Allow', from: fromOps };
  const guard = (ingress: Ingress) => compile({ adminNetworkPolicies: [passSre, anp('db-guard', { priority: 5, subject: shopSubject, ingress })] });
  const c = guard([https, web, deny, late]);
  const r = run(c, 'ops/probe', 'shop/db', 'tcp', 5432);
  assert.equal(r.disposition, 'DENIED');
  assert.equal(r.ingress!.decidedBy!.ruleName, 'deny-rest');
  // https-from-infra misses by its port only, from-web by the pod's labels (a tie: the first is named), pass-sre by two.
  const closest = r.ingress!.closestAdmin!;
  assert.deepEqual({ name: closest.name, rule: closest.rule, ruleName: closest.ruleName, action: closest.action, peer: closest.peer }, {
    name: 'db-guard',
    rule: 0,
    ruleName: 'https-from-infra',
    action: 'Allow',
    peer: 'namespaces tier=infra',
  });
  assert.deepEqual(closest.unmet, ['the port: TCP/5432 is not one of TCP/443']);
  assert.equal(run(c, 'ops/probe', 'shop/db', 'tcp', 443).disposition, 'DELIVERED');
  const answer = policyAnswer(r.ingress!, true);
  assert.deepEqual(answer.closestAdmin?.unmet, ['the port: TCP/5432 is not one of TCP/443']);
  assert.match(answer.explanation!, /the closest Allow rule before it, AdminNetworkPolicy db-guard \(priority 5\) ingress rule 0 "https-from-infra", does not match: the port: TCP\/5432 is not one of TCP\/443/);
  // Without the port rule the pod selector of from-web is what misses; with neither, the Pass, by both its parts.
  assert.deepEqual(run(guard([web, deny]), 'ops/probe', 'shop/db', 'tcp', 5432).ingress!.closestAdmin!.unmet, [
    'pod labels: ops/probe does not match app=web: needs app=web (it has app=probe)',
  ]);
  const pass = run(guard([deny, late]), 'ops/probe', 'shop/db', 'tcp', 5432).ingress!.closestAdmin!;
  assert.deepEqual([pass.name, pass.action, pass.unmet], [
    'pass-sre',
    'Pass',
    ['namespace labels: ops does not match team=sre: needs team=sre (it has no team)', 'pod labels: ops/probe does not match app=oncall: needs app=oncall (it has app=probe)'],
  ]);
  // A Deny with no Allow or Pass before it has no closest rule.
  const alone = compile({ adminNetworkPolicies: [anp('only-deny', { priority: 1, subject: shopSubject, ingress: [deny] })] });
  assert.equal(run(alone, 'ops/probe', 'shop/db', 'tcp', 5432).ingress!.closestAdmin, undefined);
});

test('a BANP denial names its closest Allow rule: a networks peer, a nodes peer, a pods peer', () => {
  type Egress = NonNullable<BaselineAdminNetworkPolicyDoc['spec']['egress']>;
  const net: Egress[number] = { name: 'to-backup-net', action: 'Allow', to: [{ networks: ['10.9.0.0/16'] }] };
  const workers: Egress[number] = { name: 'to-workers', action: 'Allow', to: [{ nodes: { matchLabels: { role: 'worker' } } }] };
  const probe: Egress[number] = {
    name: 'to-probe',
    action: 'Allow',
    to: [{ pods: { namespaceSelector: { matchLabels: { tier: 'infra' } }, podSelector: { matchLabels: { app: 'probe' } } } }],
    ports: [{ portNumber: { protocol: 'UDP', port: 53 } }],
  };
  const deny: Egress[number] = { name: 'deny-rest', action: 'Deny', to: [{ networks: ['0.0.0.0/0'] }] };
  const closest = (rules: Egress, to: string, protocol: 'tcp' | 'udp', port: number) => {
    const r = run(compile({ baselineAdminNetworkPolicies: [banp({ subject: shopSubject, egress: rules })] }), 'shop/web', to, protocol, port);
    assert.equal(r.disposition, 'DENIED');
    assert.equal(r.egress!.decidedBy!.ruleName, 'deny-rest');
    const c = r.egress!.closestAdmin!;
    return [c.kind, c.ruleName, c.unmet];
  };
  // Each rule misses by one part here; the first evaluated is named.
  assert.deepEqual(closest([net, workers, probe, deny], 'node-2', 'tcp', 22), ['BaselineAdminNetworkPolicy', 'to-backup-net', ['networks: 192.168.0.12 is not in 10.9.0.0/16']]);
  assert.deepEqual(closest([workers, probe, deny], 'node-2', 'tcp', 22), ['BaselineAdminNetworkPolicy', 'to-workers', ['nodes: 192.168.0.12 is not an address of a node matching role=worker']]);
  assert.deepEqual(closest([probe, workers, deny], 'ops/backup', 'udp', 53), [
    'BaselineAdminNetworkPolicy',
    'to-probe',
    ['pod labels: ops/backup does not match app=probe: needs app=probe (it has app=backup)'],
  ]);
  // To a node, a pods peer cannot match at all; the rule misses by the peer and the port, the nodes rule by its peer.
  assert.deepEqual(closest([probe, workers, deny], 'node-2', 'tcp', 22)[1], 'to-workers');
});
