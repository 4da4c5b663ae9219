// The clouds', kind's and OpenShift's data paths as the import tells them from the objects (clouds.ts): a real EKS
// capture (test/fixtures/kubernetes/real/SOURCES.md), and the signs of the others one by one.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { CniRequiredError, importKubernetes } from '../../src/import/kubernetes.js';
import { compileTopology } from '../../src/engine/topology.js';
import { explain } from '../../src/answer/explain.js';
import { DataError } from '../../src/topology/data-error.js';

type Obj = Record<string, any>;
const real = (name: string): Obj => JSON.parse(readFileSync(new URL(`../fixtures/kubernetes/real/${name}.json`, import.meta.url), 'utf8'));

function node(name: string, ip: string, extra: { providerID?: string; podCIDR?: string; labels?: Obj; annotations?: Obj } = {}): Obj {
  return {
    kind: 'Node',
    metadata: { name, labels: extra.labels ?? {}, annotations: extra.annotations ?? {} },
    spec: { ...(extra.providerID ? { providerID: extra.providerID } : {}), ...(extra.podCIDR ? { podCIDR: extra.podCIDR, podCIDRs: [extra.podCIDR] } : {}) },
    status: { addresses: [{ type: 'InternalIP', address: ip }], conditions: [{ type: 'Ready', status: 'True' }] },
  };
}
function pod(namespace: string, name: string, nodeName: string, ip: string, hostNetwork = false): Obj {
  return { kind: 'Pod', metadata: { namespace, name }, spec: { nodeName, ...(hostNetwork ? { hostNetwork } : {}) }, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } };
}
const list = (...items: Obj[]) => ({ apiVersion: 'v1', kind: 'List', items });

function refused(body: Obj): DataError {
  try {
    importKubernetes(body as never);
  } catch (err) {
    assert.ok(err instanceof DataError);
    return err;
  }
  assert.fail('the import was not refused');
}

describe('EKS, as kubectl cluster-info dump printed it', () => {
  const r = importKubernetes(real('eks-vpc-cni') as never);

  test('the AWS VPC CNI is detected from the aws-node pods, and the pods with VPC addresses are kept', () => {
    assert.deepEqual(r.cluster.cni, { plugin: 'aws-vpc-cni' });
    assert.equal(r.cni.detectedFrom, 'metadata.name of pod kube-system/aws-node-ljk2n');
    assert.ok(r.cni.evidence.includes('aws: spec.providerID on 2 of 2 nodes (0 with a pod CIDR)'), r.cni.evidence.join('; '));
    assert.equal(r.counts.pods, 4);
    assert.deepEqual(r.warnings, []);
    assert.deepEqual(r.cluster.nodes.map((n) => n.podCIDRs), [[], []]);
  });

  test('traces: pod to pod on its node, to a pod of the other node, and to the internet as the VPC forwards it', () => {
    const c = compileTopology(r.spec);
    const trace = (from: string, to: string) => {
      const src = c.resolve(from, 'source');
      const dst = c.resolve(to, 'destination');
      const t = explain(c.fabric, c.trace(src, dst), { from: src.name, to: dst.name });
      return { disposition: t.disposition, netns: t.hops.map((h) => h.netns) };
    };
    const coredns = 'kube-system/coredns-789f8477df-knmwr';
    const node = 'ip-10-0-10-170.ec2.internal';
    assert.deepEqual(trace(coredns, 'kube-system/coredns-789f8477df-psws6'), {
      disposition: 'DELIVERED',
      netns: [coredns, node, 'kube-system/coredns-789f8477df-psws6'],
    });
    assert.deepEqual(trace(coredns, 'kube-system/kube-proxy-82mb2'), {
      disposition: 'DELIVERED',
      netns: [coredns, node, 'ip-10-0-20-143.ec2.internal'],
    });
    assert.deepEqual(trace(coredns, '1.1.1.1'), { disposition: 'EXITS_NETWORK', netns: [coredns, node, 'vpc-router'] });
  });
});

describe('the signs of the other data paths', () => {
  test('kind: the kindnet pods', () => {
    const r = importKubernetes(
      list(node('kind-control-plane', '172.18.0.2', { podCIDR: '10.244.0.0/24' }), pod('kube-system', 'kindnet-x7k2p', 'kind-control-plane', '172.18.0.2', true)) as never,
    );
    assert.deepEqual(r.cluster.cni, { plugin: 'kindnet' });
    assert.equal(r.cni.detectedFrom, 'metadata.name of pod kube-system/kindnet-x7k2p');
  });

  test('GKE: a gce:// providerID is VPC-native; the anetd pods are Dataplane V2, which is Cilium routing natively', () => {
    const gke = node('gke-c-default-pool-1', '10.128.0.2', { providerID: 'gce://p/us-central1-c/gke-c-default-pool-1', podCIDR: '10.4.0.0/24' });
    assert.deepEqual(importKubernetes(list(gke) as never).cluster.cni, { plugin: 'gke' });
    const v2 = importKubernetes(list(gke, pod('kube-system', 'anetd-4xq9z', 'gke-c-default-pool-1', '10.128.0.2', true)) as never);
    assert.deepEqual(v2.cluster.cni, { plugin: 'cilium', routing: 'native' });
  });

  test('AKS: kubenet (a pod CIDR, the Azure route table) or Azure CNI (none, or its label and the azure-cns pods)', () => {
    const id = 'azure:///subscriptions/s/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-1-vmss/virtualMachines/0';
    const kubenet = importKubernetes(list(node('aks-nodepool1-1-vmss000000', '10.224.0.4', { providerID: id, podCIDR: '10.244.0.0/24' })) as never);
    assert.deepEqual(kubenet.cluster.cni, { plugin: 'bridge', routes: 'cloud' });
    const cni = importKubernetes(list(node('aks-nodepool1-1-vmss000000', '10.224.0.4', { providerID: id }), pod('default', 'web', 'aks-nodepool1-1-vmss000000', '10.224.0.12')) as never);
    assert.deepEqual(cni.cluster.cni, { plugin: 'azure-cni' });
    assert.equal(cni.counts.pods, 1, 'the pod holds a VNet address, outside any pod CIDR');
    const labelled = node('aks-nodepool1-1-vmss000000', '10.224.0.4', { providerID: id, podCIDR: '10.244.0.0/24', labels: { 'kubernetes.azure.com/network-plugin': 'azure', 'kubernetes.azure.com/azure-cni-overlay': 'true' } });
    assert.deepEqual(importKubernetes(list(labelled) as never).cluster.cni, { plugin: 'azure-cni', overlay: true });
  });

  test('OVN-Kubernetes and OpenShift SDN: a 422 that names the data path, not "cannot tell"', () => {
    const ovn = refused(list(node('master-0', '172.10.57.6', { annotations: { 'k8s.ovn.org/node-subnets': '{"default":"10.128.0.0/23"}' } })));
    assert.ok(ovn instanceof CniRequiredError);
    assert.doesNotMatch(ovn.message, /cannot tell/);
    assert.match(ovn.message, /^the objects name a data path that is not modelled: the cluster runs OVN-Kubernetes \(metadata\.annotations\["k8s\.ovn\.org\/node-subnets"\] of node master-0\).*cannot model faithfully yet/);
    const sdn = refused(list(node('worker-0', '10.0.0.5', { podCIDR: '10.128.2.0/23' }), pod('openshift-sdn', 'sdn-2xk8p', 'worker-0', '10.0.0.5', true)));
    assert.match(sdn.message, /runs OpenShift SDN \(metadata\.name of pod openshift-sdn\/sdn-2xk8p\)/);
  });

  test('Calico beside the AWS VPC CNI (policy only) does not take over: the conflict is reported', () => {
    const n = node('ip-10-0-1-11.ec2.internal', '10.0.1.11', { providerID: 'aws:///us-east-1a/i-1', annotations: { 'projectcalico.org/IPv4Address': '10.0.1.11/24' } });
    const r = importKubernetes(list(n, pod('kube-system', 'aws-node-abcde', n.metadata.name, '10.0.1.11', true)) as never);
    assert.deepEqual(r.cluster.cni, { plugin: 'aws-vpc-cni' });
    assert.deepEqual(r.warnings.map((w) => w.code), ['cni-evidence-conflict']);
  });
});
