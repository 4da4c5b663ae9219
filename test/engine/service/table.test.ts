// The Service table's lookups (frontend, NodePort) against a plain scan of the Service objects: the filters in front of
// its hash buckets (a bit per address block, a bit per address, the NodePorts' range) may only say "no" where the scan
// says no, for addresses that share a block with pods, IPv6 ones, externalIPs and LoadBalancer VIPs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compileTopology } from '../../../src/engine/topology.js';
import { checkTopology } from '../../../src/topology/validate.js';
import { Addr } from '../../../src/engine/addr.js';
import { protocolCode } from '../../../src/engine/service/table.js';
import type { ClusterDoc } from '../../../src/topology/schema.js';
import { serviceCluster } from './clusters.js';

type ServiceDoc = NonNullable<ClusterDoc['services']>[number];

const v6 = (k: number) => `fd00:10:96::${k.toString(16)}`;

/** Services of every kind of frontend: ClusterIPs in the pods' own /16 (10.1.0.0/16) and in their own, IPv6 ones. */
function cluster(): ClusterDoc {
  const doc = serviceCluster();
  const services: ServiceDoc[] = [];
  for (let k = 0; k < 40; k++) {
    const clusterIPs = [k % 2 === 0 ? `10.1.200.${k + 1}` : `10.96.7.${k + 1}`, ...(k % 3 === 0 ? [v6(k + 1)] : [])];
    services.push({
      metadata: { name: `svc-${k}`, namespace: 'default' },
      spec: {
        type: k % 4 === 0 ? 'LoadBalancer' : k % 4 === 1 ? 'NodePort' : 'ClusterIP',
        clusterIP: clusterIPs[0],
        clusterIPs,
        ...(k % 5 === 0 ? { externalIPs: [`198.51.100.${k + 1}`] } : {}),
        ports: [
          { name: 'http', port: 80 + (k % 3), protocol: 'TCP', ...(k % 4 < 2 ? { nodePort: 30000 + k } : {}) },
          { name: 'dns', port: 53, protocol: 'UDP', ...(k % 4 < 2 ? { nodePort: 31000 + k } : {}) },
        ],
      },
      ...(k % 4 === 0 ? { status: { loadBalancer: { ingress: [{ ip: `203.0.113.${k + 1}` }] } } } : {}),
    } as ServiceDoc);
  }
  return { ...doc, services: [...doc.services!, ...services], serviceCIDRs: ['10.96.0.0/12', 'fd00:10:96::/112'] };
}

/** Whether some Service has a frontend at this address, protocol and port: the addresses a Service lists, scanned. */
function scanFrontend(doc: ClusterDoc, addr: Addr, proto: number, port: number): boolean {
  return doc.services!.some((s) => {
    const spec = s.spec!;
    const clusterIPs = (spec.clusterIPs ?? [spec.clusterIP!]).map((a) => Addr.parse(a));
    const addresses = [
      ...clusterIPs,
      ...(spec.externalIPs ?? []).map((a) => Addr.parse(a)),
      ...(s.status?.loadBalancer?.ingress ?? []).map((i) => Addr.parse(i.ip!)),
    ];
    const matchesPort = (spec.ports ?? []).some((p) => protocolCode(p.protocol ?? 'TCP') === proto && p.port === port);
    return addresses.some((a) => a.equals(addr)) && clusterIPs.some((c) => c.family === addr.family) && matchesPort;
  });
}

function scanNodePort(doc: ClusterDoc, family: 4 | 6, proto: number, port: number): boolean {
  return doc.services!.some((s) => {
    const spec = s.spec!;
    const families = (spec.clusterIPs ?? [spec.clusterIP!]).map((a) => Addr.parse(a).family);
    return (spec.type === 'NodePort' || spec.type === 'LoadBalancer') && families.includes(family) &&
      (spec.ports ?? []).some((p) => protocolCode(p.protocol ?? 'TCP') === proto && p.nodePort === port);
  });
}

test('frontend() and nodePort() find exactly what a scan of the Services finds, pods\' blocks and IPv6 included', () => {
  const doc = cluster();
  const table = compileTopology(checkTopology({ cluster: doc })).services!;
  const probes = new Set<string>(['10.1.1.2', '10.1.2.10', '10.96.0.10', '10.96.0.11', '192.168.0.11', 'fd00:10:96::ffff', '::1']);
  for (let k = 0; k < 45; k++) {
    for (const a of [`10.1.200.${k}`, `10.96.7.${k}`, v6(k), `198.51.100.${k}`, `203.0.113.${k}`, `10.1.1.${k}`]) probes.add(a);
  }
  let found = 0;
  for (const text of probes) {
    const a = Addr.parse(text);
    for (const proto of [protocolCode('TCP'), protocolCode('UDP')]) {
      for (const port of [53, 80, 81, 82, 443]) {
        const fe = table.frontend(a.family, a.w0, a.w1, a.w2, a.w3, proto, port);
        assert.equal(fe >= 0, scanFrontend(doc, a, proto, port), `${text} ${proto}/${port}`);
        if (fe >= 0) {
          found++;
          const svc = doc.services![table.spService[table.frontendSp(fe)]!]!;
          assert.equal(table.spPort[table.frontendSp(fe)], port, `${text}: ${svc.metadata.name}`);
        }
      }
    }
  }
  assert.ok(found > 100, `only ${found} frontends found`);
  let nodePorts = 0;
  for (const family of [4, 6] as const) {
    for (const proto of [protocolCode('TCP'), protocolCode('UDP')]) {
      for (let port = 29990; port < 31050; port++) {
        const sp = table.nodePort(family, proto, port);
        assert.equal(sp >= 0, scanNodePort(doc, family, proto, port), `NodePort ${family} ${proto}/${port}`);
        if (sp >= 0) nodePorts++;
      }
    }
  }
  assert.equal(nodePorts, 20 * 2 + 7 * 2);
});
