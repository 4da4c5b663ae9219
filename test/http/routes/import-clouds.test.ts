// POST …/import/kubernetes of a real EKS capture, without cni=: the AWS VPC CNI is detected and its pods traced, to each
// other and to the internet as the VPC forwards it (test/fixtures/kubernetes/real/SOURCES.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { resetDb } from '../../helpers/db.js';

let t: TestApp;
before(async () => {
  t = await openTestApp();
  await resetDb(t.db);
});
after(() => t.close());

const trace = (from: string, to: string) =>
  t.app.inject(`/v1/topologies/eks/trace?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);

test('an EKS capture is imported without cni= and traced pod to pod and pod to the internet', async () => {
  const text = readFileSync(new URL('../../fixtures/kubernetes/real/eks-vpc-cni.json', import.meta.url), 'utf8');
  const res = await request(t.app.server).post('/v1/topologies/eks/import/kubernetes').set('content-type', 'application/json').send(text).expect(201);
  assert.deepEqual(res.body.cni.plugin, 'aws-vpc-cni');
  assert.equal(res.body.cni.detectedFrom, 'metadata.name of pod kube-system/aws-node-ljk2n');
  assert.equal(res.body.counts.pods, 4);

  const same = (await trace('kube-system/coredns-789f8477df-knmwr', 'kube-system/coredns-789f8477df-psws6')).json();
  assert.equal(same.disposition, 'DELIVERED', same.summary);
  const transmit = same.hops[0].steps.find((s: { type: string }) => s.type === 'TRANSMIT');
  assert.match(transmit.explanation, /169\.254\.1\.1; its neighbour entry \(permanent, as the CNI writes it, or cached in a dump\) gives it ip-10-0-10-170\.ec2\.internal eni[0-9a-f]{11}'s MAC/);

  const other = (await trace('kube-system/coredns-789f8477df-knmwr', 'kube-system/kube-proxy-82mb2')).json();
  assert.equal(other.disposition, 'DELIVERED', other.summary);
  assert.equal(other.hops.at(-1).netns, 'ip-10-0-20-143.ec2.internal');

  const out = (await trace('kube-system/coredns-789f8477df-psws6', '8.8.8.8')).json();
  assert.equal(out.disposition, 'EXITS_NETWORK', out.summary);
  assert.deepEqual(out.hops.map((h: { netns: string }) => h.netns), ['kube-system/coredns-789f8477df-psws6', 'ip-10-0-10-170.ec2.internal', 'vpc-router']);
});
