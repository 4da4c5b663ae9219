// The egress masquerade of each data path (src/engine/compile/masquerade.ts), as each plugin's own rules decide it
// (test/fixtures/masquerade/README.md names the upstream files they were read from): where the SNAT step is, which
// address the packet leaves with, which agent's rule matched, and what each plugin's setting changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopologyBody } from '../../../src/import/body.js';
import type { SnatStep } from '../../../src/engine/service/describe.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';
import { twoPods } from './helpers.js';

/** Two nodes and a pod on each, with a gateway outside the model on their subnet. */
const cluster = (cni: ClusterDoc['cni'], more: Partial<ClusterDoc> = {}) => twoPods(cni, { network: { cidr: '192.168.0.0/24', gateway: '192.168.0.1' }, ...more });

interface Seen {
  disposition: string;
  snat: { at: string; from: string; to: string; agent: string | undefined; rule: string | undefined }[];
}

function trace(doc: ClusterDoc, from: string, to: string): Seen {
  const compiled = compileTopology(checkTopologyBody({ cluster: doc }).spec);
  const t = compiled.trace(compiled.resolve(from, 'source'), compiled.resolve(to, 'destination'), 64, undefined, { protocol: 'tcp', dstPort: 443 });
  const path = t.paths[0]!;
  const snat = path.hops.flatMap((h) =>
    h.steps
      .filter((s): s is SnatStep => s.type === 'SNAT')
      .map((s) => ({ at: h.netns.name, from: s.from.toString(), to: s.to.toString(), agent: s.egress?.agent, rule: s.egress?.rule })),
  );
  return { disposition: path.disposition, snat };
}

const masqueraded = (seen: Seen, agent: string, to = '192.168.0.11') => {
  assert.equal(seen.snat.length, 1, JSON.stringify(seen));
  const [s] = seen.snat;
  assert.deepEqual([s!.at, s!.from, s!.to, s!.agent], ['node-a', '10.244.1.2', to, agent]);
  return s!.rule!;
};
const untouched = (seen: Seen) => assert.deepEqual(seen.snat, [], JSON.stringify(seen));

test('flannel (--ip-masq, on in kube-flannel.yml): to the internet masqueraded to the node, pod to pod not; ipMasq false leaves it', () => {
  const doc = cluster({ plugin: 'flannel' });
  const out = trace(doc, 'a', '8.8.8.8');
  assert.equal(out.disposition, 'EXITS_NETWORK');
  assert.match(masqueraded(out, 'flannel'), /^FLANNEL-POSTRTG -s 10\.244\.0\.0\/22 ! -d 224\.0\.0\.0\/4 -j MASQUERADE$/);
  untouched(trace(doc, 'a', 'b'));
  // A node's address is outside the flannel network too.
  masqueraded(trace(doc, 'a', 'node-b'), 'flannel');
  untouched(trace(cluster({ plugin: 'flannel', ipMasq: false }), 'a', '8.8.8.8'));
  // net-conf.json's Network: an address inside it that no node holds yet is still the cluster's.
  masqueraded(trace(doc, 'a', '10.244.9.9'), 'flannel');
  untouched(trace(cluster({ plugin: 'flannel', network: '10.244.0.0/16' }), 'a', '10.244.9.9'));
  // The vxlan backend carries pod to pod in the tunnel, unmasqueraded; host-gw the same.
  untouched(trace(cluster({ plugin: 'flannel', backend: 'host-gw' }), 'a', 'b'));
});

test('Calico (IPPool natOutgoing): the default IPv4 pool masquerades to outside every pool; a pool without natOutgoing does not', () => {
  const doc = cluster({ plugin: 'calico' });
  assert.match(masqueraded(trace(doc, 'a', '8.8.8.8'), 'calico'), /cali40masq-ipam-pools src ! --match-set cali40all-ipam-pools dst -j MASQUERADE/);
  untouched(trace(doc, 'a', 'b'));
  const pools = (ipPools: NonNullable<Extract<ClusterDoc['cni'], { plugin: 'calico' }>['ipPools']>) => cluster({ plugin: 'calico', ipPools });
  // The IPPool API's natOutgoing defaults to false.
  untouched(trace(pools([{ cidr: '10.244.0.0/16' }]), 'a', '8.8.8.8'));
  // A destination in any pool, a disabled one included, is not masqueraded.
  const two = pools([{ cidr: '10.244.0.0/16', natOutgoing: true }, { cidr: '8.8.8.0/24', disabled: true }]);
  untouched(trace(two, 'a', '8.8.8.8'));
  masqueraded(trace(two, 'a', '1.1.1.1'), 'calico');
});

test('Cilium: masquerades to outside the node\'s pod CIDR (tunnel) or the native routing CIDR, not through cilium_ devices', () => {
  const tunnel = cluster({ plugin: 'cilium' });
  assert.equal(masqueraded(trace(tunnel, 'a', '8.8.8.8'), 'cilium'), 'CILIUM_POST_nat ! -d 10.244.1.0/24 -s 10.244.1.0/24 ! -o cilium_+ -j MASQUERADE');
  // Pod to pod crosses cilium_vxlan: never masqueraded.
  untouched(trace(tunnel, 'a', 'b'));
  // In tunnel mode a node's address is just outside the pod CIDR.
  masqueraded(trace(tunnel, 'a', 'node-b'), 'cilium');
  untouched(trace(cluster({ plugin: 'cilium', enableIPv4Masquerade: false }), 'a', '8.8.8.8'));
  // Native routing: the cluster's nodes are spared (cilium_node_set_v4), and the native routing CIDR.
  const native = cluster({ plugin: 'cilium', routing: 'native', ipv4NativeRoutingCIDR: '10.0.0.0/8' });
  untouched(trace(native, 'a', 'node-b'));
  untouched(trace(native, 'a', 'b'));
  untouched(trace(native, 'a', '10.99.0.1'));
  assert.match(masqueraded(trace(native, 'a', '8.8.8.8'), 'cilium'), /! -d 10\.0\.0\.0\/8 -s 10\.244\.1\.0\/24/);
});

test('kindnet: KIND-MASQ-AGENT masquerades everything leaving a node for outside POD_SUBNET', () => {
  const doc = cluster({ plugin: 'kindnet' });
  assert.equal(masqueraded(trace(doc, 'a', '8.8.8.8'), 'kindnet'), 'KIND-MASQ-AGENT ! -d 10.244.0.0/22 -j MASQUERADE');
  untouched(trace(doc, 'a', 'b'));
  masqueraded(trace(doc, 'a', 'node-b'), 'kindnet');
  untouched(trace(cluster({ plugin: 'kindnet', podSubnet: ['10.244.0.0/16', '192.168.0.0/24'] }), 'a', 'node-b'));
});

test('ip-masq-agent: GKE\'s defaults leave the reserved ranges alone; its ConfigMap\'s nonMasqueradeCIDRs and masqLinkLocal decide', () => {
  const gke = cluster({ plugin: 'gke' });
  // The VPC router takes the packet to the internet gateway: masqueraded at the node it left.
  const out = trace(gke, 'a', '8.8.8.8');
  assert.equal(out.disposition, 'EXITS_NETWORK');
  assert.match(masqueraded(out, 'ip-masq-agent'), /^IP-MASQ-AGENT ! -d 10\.0\.0\.0\/8, 172\.16\.0\.0\/12, 192\.168\.0\.0\/16, 100\.64\.0\.0\/10, .*240\.0\.0\.0\/4, 169\.254\.0\.0\/16 -j MASQUERADE$/);
  untouched(trace(gke, 'a', 'node-b'));
  untouched(trace(gke, 'a', '100.64.0.1'));
  untouched(trace(gke, 'a', '169.254.169.254'));
  // A ConfigMap of its own: only what it lists (and link-local unless masqLinkLocal) is left alone, on any data path.
  const agent = cluster({ plugin: 'bridge' }, { ipMasqAgent: { nonMasqueradeCIDRs: ['10.244.0.0/16'] } });
  masqueraded(trace(agent, 'a', 'node-b'), 'ip-masq-agent');
  untouched(trace(agent, 'a', 'b'));
  untouched(trace(agent, 'a', '169.254.1.9'));
  masqueraded(trace(cluster({ plugin: 'bridge' }, { ipMasqAgent: { nonMasqueradeCIDRs: [], masqLinkLocal: true } }), 'a', '169.254.1.9'), 'ip-masq-agent');
  // Without an agent the bridge data path masquerades nothing.
  untouched(trace(cluster({ plugin: 'bridge' }), 'a', '8.8.8.8'));
});

test('the AWS VPC CNI SNATs to the node\'s primary IP outside the VPC, unless AWS_VPC_K8S_CNI_EXTERNALSNAT or an excluded CIDR', () => {
  const vpc = { vpcCIDRs: ['192.168.0.0/16', '10.244.0.0/16'] };
  const doc = cluster({ plugin: 'aws-vpc-cni', ...vpc });
  assert.equal(masqueraded(trace(doc, 'a', '8.8.8.8'), 'aws-vpc-cni'), 'AWS-SNAT-CHAIN ! -d 192.168.0.0/16, 10.244.0.0/16 -j SNAT --to-source 192.168.0.11');
  untouched(trace(doc, 'a', 'b'));
  untouched(trace(doc, 'a', 'node-b'));
  untouched(trace(cluster({ plugin: 'aws-vpc-cni', ...vpc, externalSNAT: true }), 'a', '8.8.8.8'));
  untouched(trace(cluster({ plugin: 'aws-vpc-cni', ...vpc, excludeSNATCIDRs: ['8.8.8.0/24'] }), 'a', '8.8.8.8'));
  // Without vpcCIDRs: the nodes' subnet and the pods' addresses stand for the VPC's blocks.
  assert.match(masqueraded(trace(cluster({ plugin: 'aws-vpc-cni' }), 'a', '8.8.8.8'), 'aws-vpc-cni'), /! -d 192\.168\.0\.0\/24, 10\.244\.0\.0\/22 -j SNAT/);
});

test('Azure CNI: AKS\'s ip-masq-agent leaves the VNet (and the overlay\'s pods) alone and masquerades the rest', () => {
  const doc = cluster({ plugin: 'azure-cni', overlay: true });
  assert.equal(masqueraded(trace(doc, 'a', '8.8.8.8'), 'ip-masq-agent'), 'IP-MASQ-AGENT ! -d 192.168.0.0/24, 10.244.0.0/22, 169.254.0.0/16 -j MASQUERADE');
  untouched(trace(doc, 'a', 'b'));
  untouched(trace(doc, 'a', 'node-b'));
});

test('a setting that is no prefix, or of the wrong family, is a problem with its pointer', () => {
  const bad = cluster({ plugin: 'flannel', network: 'fd00::/64' });
  assert.throws(() => checkTopologyBody({ cluster: bad }), (err: any) => {
    assert.deepEqual(err.errors.map((e: any) => e.pointer), ['/cluster/cni/network']);
    return true;
  });
  const agent = cluster({ plugin: 'gke' }, { ipMasqAgent: { nonMasqueradeCIDRs: ['10.1.1.1/8'] } });
  assert.throws(() => checkTopologyBody({ cluster: agent }), (err: any) => {
    assert.deepEqual(err.errors.map((e: any) => e.pointer), ['/cluster/ipMasqAgent/nonMasqueradeCIDRs/0']);
    return true;
  });
});
