// The names a trace's `from` and `to` may use for a cluster's pods: namespace/name always, the bare name when only one
// pod has it (kept by compileTopology, which stores a unique name without an array of one).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EndpointError } from '../../../src/engine/topology.js';
import { compile, exampleCluster } from './helpers.js';

test('a bare pod name finds the one pod of that name; a name two namespaces share lists both, every time it is asked', () => {
  const doc = exampleCluster('bridge-host-gw-three-nodes');
  doc.pods!.push({ namespace: 'shop', name: 'pod-a1', nodeName: 'node-b', podIPs: [{ ip: '10.1.2.9' }] });
  doc.pods!.push({ namespace: 'api', name: 'pod-a1', nodeName: 'node-c', podIPs: [{ ip: '10.1.3.9' }] });
  const c = compile(doc);
  assert.equal(c.resolve('pod-a2', 'source').name, 'default/pod-a2');
  assert.equal(c.resolve('shop/pod-a1', 'source').v4?.toString(), '10.1.2.9');
  for (let i = 0; i < 2; i++) {
    assert.throws(
      () => c.resolve('pod-a1', 'destination'),
      (err: unknown) =>
        err instanceof EndpointError &&
        err.reason === 'ambiguous' &&
        err.message === 'pod-a1 names 3 pods; say which with namespace/name' &&
        JSON.stringify(err.candidates) === JSON.stringify(['api/pod-a1', 'default/pod-a1', 'shop/pod-a1']),
    );
  }
  assert.throws(() => c.resolve('pod-z9', 'source'), (err: unknown) => err instanceof EndpointError && err.reason === 'unknown');
});
