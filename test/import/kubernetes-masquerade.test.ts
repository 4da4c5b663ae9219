// The kubectl import reads the egress masquerade's settings from the same List: flannel's kube-flannel-cfg ConfigMap,
// Calico's IPPools, cilium-config, and ip-masq-agent's ConfigMap; a trace through the imported cluster masquerades (or
// not) as they say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { importKubernetes } from '../../src/import/kubernetes.js';
import { compileTopology } from '../../src/engine/topology.js';
import { DataError } from '../../src/topology/data-error.js';
import type { SnatStep } from '../../src/engine/service/describe.js';

type Obj = Record<string, any>;
const fixture = (name: string): Obj => JSON.parse(readFileSync(new URL(`../fixtures/kubernetes/${name}.json`, import.meta.url), 'utf8'));
const configMap = (name: string, namespace: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });

/** The SNAT steps of a trace from the first pod that is not hostNetwork to `to`, as [agent, from, to]. */
function snats(imported: ReturnType<typeof importKubernetes>, to: string): string[][] {
  const compiled = compileTopology(imported.spec);
  const pod = imported.cluster.pods!.find((p) => !p.hostNetwork)!;
  const t = compiled.trace(compiled.resolve(`${pod.namespace ?? 'default'}/${pod.name}`, 'source'), compiled.resolve(to, 'destination'));
  return t.paths[0]!.hops.flatMap((h) => h.steps.filter((s): s is SnatStep => s.type === 'SNAT').map((s) => [s.egress?.agent ?? s.reason, s.from.toString(), s.to.toString()]));
}

test("flannel: net-conf.json's Network comes from kube-flannel-cfg, and the ConfigMap is read, not ignored", () => {
  const list = fixture('flannel-host-gw');
  const netConf = JSON.stringify({ Network: '10.244.0.0/16', EnableNFTables: false, Backend: { Type: 'host-gw' } });
  list.items.push(configMap('kube-flannel-cfg', 'kube-flannel', { 'cni-conf.json': '{}', 'net-conf.json': netConf }));
  const imported = importKubernetes(list as never);
  const cni = imported.cluster.cni as Obj;
  assert.equal(cni.network, '10.244.0.0/16');
  assert.equal(imported.cni.cni.plugin, 'flannel');
  assert.equal((imported.cni.cni as Obj).network, '10.244.0.0/16');
  assert.equal(imported.counts.ignored.ConfigMap, undefined);
  const [[agent, , to]] = snats(imported, '8.8.8.8') as [string[]];
  assert.equal(agent, 'flannel');
  assert.ok(imported.cluster.nodes.some((n) => n.addresses.some((a) => a.address === to)), `${to} is a node's address`);
  // Inside the Network, where no node's pod CIDR is: the cluster's, not masqueraded (the default span is a /22).
  assert.deepEqual(snats(imported, '10.244.200.1'), []);
});

test("Calico: the List's IPPools replace the default pool; ip-masq-agent's ConfigMap masquerades what natOutgoing does not", () => {
  const list = fixture('calico-ipip');
  const pool = (name: string, spec: Obj) => ({ apiVersion: 'crd.projectcalico.org/v1', kind: 'IPPool', metadata: { name }, spec: { blockSize: 26, ipipMode: 'Always', ...spec } });
  list.items.push(pool('default-ipv4-ippool', { cidr: '192.168.0.0/16', natOutgoing: false }));
  const without = importKubernetes(structuredClone(list) as never);
  assert.deepEqual((without.cluster.cni as Obj).ipPools, [{ cidr: '192.168.0.0/16', natOutgoing: false }]);
  assert.equal(without.counts.ignored.IPPool, undefined);
  assert.deepEqual(snats(without, '8.8.8.8'), []);
  list.items.push(configMap('ip-masq-agent', 'kube-system', { config: 'nonMasqueradeCIDRs:\n  - 192.168.0.0/16\n  - 10.0.0.0/8\nmasqLinkLocal: false\nresyncInterval: 60s\n' }));
  const agent = importKubernetes(list as never);
  assert.deepEqual(agent.cluster.ipMasqAgent, { nonMasqueradeCIDRs: ['192.168.0.0/16', '10.0.0.0/8'], masqLinkLocal: false });
  assert.equal(snats(agent, '8.8.8.8')[0]![0], 'ip-masq-agent');
  assert.deepEqual(snats(agent, '10.1.2.3'), []);
});

test("Cilium: cilium-config's enable-ipv4-masquerade and kube-proxy-replacement", () => {
  const list = fixture('cilium-cluster-pool');
  const masquerading = importKubernetes(structuredClone(list) as never);
  assert.equal(snats(masquerading, '8.8.8.8')[0]![0], 'cilium');
  list.items.push(configMap('cilium-config', 'kube-system', { 'enable-ipv4-masquerade': 'false', 'kube-proxy-replacement': 'true', 'routing-mode': 'tunnel' }));
  const imported = importKubernetes(list as never);
  assert.equal((imported.cluster.cni as Obj).enableIPv4Masquerade, false);
  assert.equal((imported.cluster.cni as Obj).kubeProxyReplacement, true);
  assert.deepEqual(snats(imported, '8.8.8.8'), []);
});

test("an ip-masq-agent config the agent would refuse is a 400 that points into the ConfigMap", () => {
  const list = fixture('flannel-host-gw');
  list.items.push(configMap('ip-masq-agent', 'kube-system', { config: 'nonMasqueradeCIDRs: 10.0.0.0/8\n' }));
  const at = list.items.length - 1;
  assert.throws(
    () => importKubernetes(list as never),
    (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.equal(err.status, 400);
      assert.deepEqual(err.errors.map((e) => e.pointer), [`/items/${at}/data/config/nonMasqueradeCIDRs`]);
      return true;
    },
  );
});

test("AWS VPC CNI: the aws-node DaemonSet's AWS_VPC_K8S_CNI_EXTERNALSNAT turns the node's own SNAT to outside the VPC off", () => {
  // The real EKS capture, and the aws-node DaemonSet of amazon-vpc-cni-k8s's manifest (test/fixtures/masquerade/README.md).
  const list = JSON.parse(readFileSync(new URL('../fixtures/kubernetes/real/eks-vpc-cni.json', import.meta.url), 'utf8')) as Obj;
  const daemonSet = JSON.parse(readFileSync(new URL('../fixtures/masquerade/aws-node-daemonset.json', import.meta.url), 'utf8')) as Obj;
  const env = (ds: Obj) => ds.spec.template.spec.containers.find((c: Obj) => c.name === 'aws-node').env as Obj[];
  assert.equal(env(daemonSet).find((e) => e.name === 'AWS_VPC_K8S_CNI_EXTERNALSNAT')!.value, 'false');
  const withDaemonSet = (value: string) => {
    const ds = structuredClone(daemonSet);
    env(ds).find((e) => e.name === 'AWS_VPC_K8S_CNI_EXTERNALSNAT')!.value = value;
    return importKubernetes({ ...list, items: [...list.items, ds] } as never);
  };

  // As the manifest ships it: aws-node SNATs a pod's packet to the internet to its node's primary IP.
  const shipped = withDaemonSet('false');
  assert.deepEqual(shipped.cluster.cni, { plugin: 'aws-vpc-cni', externalSNAT: false });
  assert.equal(shipped.counts.ignored.DaemonSet, undefined, 'the DaemonSet is read, not ignored');
  const [[agent, from, to]] = snats(shipped, '8.8.8.8') as [string[]];
  assert.equal(agent, 'aws-vpc-cni');
  assert.notEqual(from, to);
  assert.ok(shipped.cluster.nodes.some((n) => n.addresses.some((a) => a.address === to)), `${to} is a node's address`);

  // External SNAT (Go's ParseBool spellings): the pod's own address leaves the node, for the NAT gateway to translate.
  for (const value of ['true', 'TRUE', '1']) {
    const external = withDaemonSet(value);
    assert.deepEqual(external.cluster.cni, { plugin: 'aws-vpc-cni', externalSNAT: true }, value);
    assert.deepEqual(snats(external, '8.8.8.8'), [], value);
  }
  // A value aws-node cannot parse: it logs and keeps the default (false).
  assert.deepEqual(withDaemonSet('yes').cluster.cni, { plugin: 'aws-vpc-cni' });
  assert.equal(snats(withDaemonSet('yes'), '8.8.8.8')[0]![0], 'aws-vpc-cni');
});

test("AWS VPC CNI: AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS is read as aws-node reads it, and a pod's packet to such a CIDR keeps its address", () => {
  const list = JSON.parse(readFileSync(new URL('../fixtures/kubernetes/real/eks-vpc-cni.json', import.meta.url), 'utf8')) as Obj;
  const daemonSet = JSON.parse(readFileSync(new URL('../fixtures/masquerade/aws-node-daemonset.json', import.meta.url), 'utf8')) as Obj;
  const env = daemonSet.spec.template.spec.containers.find((c: Obj) => c.name === 'aws-node').env as Obj[];
  // Comma-separated, trimmed, host bits cleared (Go's net.ParseCIDR); a bare address, an IPv6 CIDR or a typo is skipped.
  env.push({ name: 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', value: '8.8.8.0/24, 100.64.7.9/16 ,fd00::/64,10.1.2.3,not-a-cidr' });
  const imported = importKubernetes({ ...list, items: [...list.items, daemonSet] } as never);
  assert.deepEqual(imported.cluster.cni, { plugin: 'aws-vpc-cni', externalSNAT: false, excludeSNATCIDRs: ['8.8.8.0/24', '100.64.0.0/16'] });
  assert.deepEqual(snats(imported, '8.8.8.8'), []);
  assert.equal((snats(imported, '1.1.1.1')[0] as string[])[0], 'aws-vpc-cni');
  // What aws-node skips is said, each entry with why, pointing at the env entry's value.
  const pointer = `/items/${list.items.length}/spec/template/spec/containers/${daemonSet.spec.template.spec.containers.findIndex((c: Obj) => c.name === 'aws-node')}/env/${env.length - 1}/value`;
  const skipped = imported.warnings.find((w) => w.code === 'aws-node-cidr-skipped')!;
  assert.equal(skipped.detail, '3 entries of AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS are skipped, as aws-node skips them');
  assert.deepEqual(skipped.examples.map((e) => e.pointer), [pointer, pointer, pointer]);
  assert.deepEqual(skipped.examples.map((e) => e.detail.split('": ')[0] + '"'), ['"fd00::/64"', '"10.1.2.3"', '"not-a-cidr"']);
});

test('AWS VPC CNI: an aws-node setting given by valueFrom keeps the default, and the import says so', () => {
  const list = JSON.parse(readFileSync(new URL('../fixtures/kubernetes/real/eks-vpc-cni.json', import.meta.url), 'utf8')) as Obj;
  const daemonSet = JSON.parse(readFileSync(new URL('../fixtures/masquerade/aws-node-daemonset.json', import.meta.url), 'utf8')) as Obj;
  const env = daemonSet.spec.template.spec.containers.find((c: Obj) => c.name === 'aws-node').env as Obj[];
  const at = env.findIndex((e) => e.name === 'AWS_VPC_K8S_CNI_EXTERNALSNAT');
  env[at] = { name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', valueFrom: { configMapKeyRef: { name: 'aws-node-settings', key: 'externalSNAT' } } };
  const imported = importKubernetes({ ...list, items: [...list.items, daemonSet] } as never);
  assert.deepEqual(imported.cluster.cni, { plugin: 'aws-vpc-cni' });
  const w = imported.warnings.find((x) => x.code === 'aws-node-env-from')!;
  assert.equal(w.detail, "1 setting of aws-node is set by valueFrom, which the List does not resolve: the import keeps aws-node's default");
  assert.deepEqual(w.examples, [{ pointer: `/items/${list.items.length}/spec/template/spec/containers/${daemonSet.spec.template.spec.containers.findIndex((c: Obj) => c.name === 'aws-node')}/env/${at}`, detail: 'AWS_VPC_K8S_CNI_EXTERNALSNAT is set by valueFrom' }]);
  assert.equal(snats(imported, '8.8.8.8')[0]![0], 'aws-vpc-cni', 'the default: aws-node SNATs');
});
