import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';
import { slackCommand } from '../../helpers/slack.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
let t: TestApp;
before(async () => {
  t = await openTestApp({ slackSigningSecret: SECRET });
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: example('two-nodes') });
});
after(() => t.close());

const command = (text: string, { secret = SECRET, age = 0, app = t.app } = {}) => slackCommand(app, secret, text, age);

test('a signed /trace answers in the channel with the verdict and the hops', async () => {
  const res = await command('two-nodes pod-a1 10.1.2.99');
  assert.equal(res.statusCode, 200);
  const msg = res.json();
  assert.equal(msg.response_type, 'in_channel');
  assert.match(msg.text, /^NEIGHBOR_UNREACHABLE at node-b: /);
  assert.match(msg.blocks[0].text.text, /^:x: \*NEIGHBOR_UNREACHABLE\* `default\/pod-a1 \(10\.1\.1\.2\) → 10\.1\.2\.99 via /);
  // The hops as the text format draws them, in a preformatted block.
  assert.match(msg.blocks[1].text.text, /^```1\. {2}default\/pod-a1 {2}- → eth0 +default via 10\.1\.1\.1/);
  assert.match(msg.blocks[1].text.text, /\n3\. {2}node-b +eth0 → cbr0 +✗ nobody on cbr0's layer-2 domain owns 10\.1\.2\.99 .*```$/);
  assert.equal(msg.blocks[2].elements[0].text, 'topology two-nodes, revision 1');
});

test('help, wrong arguments, unknown names and topologies get a helpful ephemeral answer', async () => {
  for (const text of ['', 'help']) assert.match((await command(text)).json().text, /^\*Usage:\* `\/trace <topology> <from> <to>`/);
  let msg = (await command('two-nodes pod-a1')).json();
  assert.equal(msg.response_type, 'ephemeral');
  assert.match(msg.text, /I got 2\./);
  msg = (await command('nope pod-a1 pod-b1')).json();
  assert.equal(msg.text, 'There is no topology named `nope`.');
  msg = (await command('two-nodes pod pod-b1')).json();
  assert.equal(msg.response_type, 'ephemeral');
  assert.match(msg.text, /there is no pod, node or netns named pod .*\nDid you mean: `default\/pod-a1`, `default\/pod-a2`, `default\/pod-b1`\?/);
});

test('a wrong signature, a replayed request and a missing secret are refused', async () => {
  let res = await command('two-nodes pod-a1 pod-b1', { secret: 'not-the-secret' });
  assert.equal(res.statusCode, 401);
  assert.equal(res.json().detail, 'the signature does not match');
  res = await command('two-nodes pod-a1 pod-b1', { age: 301 });
  assert.equal(res.statusCode, 401);
  assert.match(res.json().detail, /5-minute window/);
  const unsigned = await t.app.inject({ method: 'POST', url: '/v1/integrations/slack/command', payload: 'text=help', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(unsigned.statusCode, 401);
  const bare = await openTestApp();
  try {
    res = await command('help', { app: bare.app });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().type, 'urn:pathtrace:problem:slack-not-configured');
  } finally {
    await bare.close();
  }
});
