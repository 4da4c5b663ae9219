import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, seedTwoNodes, type TestApp } from '../../helpers/app.js';
import { example } from '../../helpers/examples.js';
import { slackCommand } from '../../helpers/slack.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
let t: TestApp;
before(async () => {
  t = await openTestApp({ slackSigningSecret: SECRET });
});
// Every test starts from the seed alone (another app opened on the same database empties it).
beforeEach(() => seedTwoNodes(t));
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

test('options after the three names: port (tcp unless protocol says), protocol, family, revision; the context says what was traced', async () => {
  const context = (msg: { blocks: { elements?: { text: string }[] }[] }) => msg.blocks[2]!.elements![0]!.text;
  let msg = (await command('two-nodes pod-a1 pod-b1 port=443')).json();
  assert.equal(msg.response_type, 'in_channel');
  assert.match(msg.text, /^DELIVERED: /);
  assert.equal(context(msg), 'topology two-nodes, revision 1, tcp port 443');
  msg = (await command('two-nodes protocol=udp pod-a1 pod-b1 port=53 family=4')).json();
  assert.equal(context(msg), 'topology two-nodes, revision 1, udp port 53');
  // family=6 is asked of pods that have no IPv6 address: the trace's own refusal.
  msg = (await command('two-nodes pod-a1 pod-b1 family=6')).json();
  assert.equal(msg.response_type, 'ephemeral');
  assert.match(msg.text, /^cannot trace in IPv6: default\/pod-a1 has no IPv6 address/);
  // An older revision, while it is kept.
  const next = example('two-nodes');
  next.cluster!.pods = next.cluster!.pods!.filter((p) => p.name !== 'pod-b1');
  await t.app.inject({ method: 'PUT', url: '/v1/topologies/two-nodes', payload: next });
  assert.match((await command('two-nodes pod-a1 pod-b1')).json().text, /there is no pod, node or netns named pod-b1/);
  msg = (await command('two-nodes pod-a1 pod-b1 revision=1')).json();
  assert.equal(context(msg), 'topology two-nodes, revision 1');
  assert.equal((await command('two-nodes pod-a1 pod-b1 revision=9')).json().text, '`two-nodes` has no revision 9 (or it is no longer kept).');
});

test('a wrong option is answered with what is wrong, and a misspelt one with the option meant', async () => {
  const text = async (words: string) => {
    const msg = (await command(words)).json();
    assert.equal(msg.response_type, 'ephemeral');
    return msg.text as string;
  };
  assert.match(await text('two-nodes pod-a1 pod-b1 famly=4'), /^I know no option `famly`; did you mean `family`\?\n\*Usage:\*/);
  assert.match(await text('two-nodes pod-a1 pod-b1 colour=red'), /^I know no option `colour`\.\n/);
  assert.match(await text('two-nodes pod-a1 pod-b1 port=http'), /^port is a whole number from 1 to 65535, not `http`\n/);
  assert.match(await text('two-nodes pod-a1 pod-b1 protocol=sctp'), /^protocol is icmp, tcp or udp, not `sctp`\n/);
  assert.match(await text('two-nodes pod-a1 pod-b1 family=5'), /^family is 4 or 6, not `5`\n/);
  // Options do not count as names.
  assert.match(await text('two-nodes pod-a1 port=80'), /I got 2\./);
});

test('unknown names get the names a typo away, pods of that name in other namespaces, and topologies too', async () => {
  const text = async (words: string) => (await command(words)).json().text as string;
  assert.match(await text('two-nodes pod-al pod-b1'), /named pod-al .*\nDid you mean: `default\/pod-a1`, `default\/pod-a2`\?$/);
  assert.match(await text('two-nodes pod-a1 staging/pod-b1'), /named staging\/pod-b1 .*\nDid you mean: `default\/pod-b1`\?$/);
  assert.equal(await text('two-nodse pod-a1 pod-b1'), 'There is no topology named `two-nodse`.\nDid you mean: `two-nodes`?');
  assert.equal(await text('elsewhere pod-a1 pod-b1'), 'There is no topology named `elsewhere`.');
});
