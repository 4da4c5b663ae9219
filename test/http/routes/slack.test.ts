import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
let t: TestApp;
before(async () => {
  t = await openTestApp({ slackSigningSecret: SECRET });
  await t.app.inject({ method: 'POST', url: '/v1/topologies', payload: example('two-nodes') });
});
after(() => t.close());

function command(text: string, { secret = SECRET, age = 0, app = t.app } = {}) {
  const body = new URLSearchParams({ token: 'x', team_id: 'T1', user_id: 'U1', command: '/trace', text, response_url: 'https://hooks.slack.invalid/1' }).toString();
  const timestamp = String(Math.floor(Date.now() / 1000) - age);
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return app.inject({
    method: 'POST',
    url: '/v1/integrations/slack/command',
    payload: body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature },
  });
}

test('a signed /trace answers in the channel with the verdict and the hops', async () => {
  const res = await command('two-nodes pod-a1 10.1.2.99');
  assert.equal(res.statusCode, 200);
  const msg = res.json();
  assert.equal(msg.response_type, 'in_channel');
  assert.match(msg.text, /^NEIGHBOR_UNREACHABLE at node-b: /);
  assert.match(msg.blocks[0].text.text, /^:x: \*NEIGHBOR_UNREACHABLE\* /);
  assert.match(msg.blocks[1].text.text, /^1\. `default\/pod-a1` – → eth0: /m);
  assert.match(msg.blocks[1].text.text, /3\. `node-b` eth0 → cbr0: nobody on cbr0's layer-2 domain owns 10\.1\.2\.99/);
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
