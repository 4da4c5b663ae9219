// POST /v1/integrations/slack/command: the `/trace <topology> <from> <to>` slash command. Slack signs every request
// (HMAC-SHA256 of "v0:<timestamp>:<body>" with the app's signing secret); without a configured secret the endpoint refuses,
// since an unsigned endpoint would let anyone read the topologies. Whatever the user types, the answer is a Slack
// message (ephemeral help for mistakes), never an error page.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { decisionOf, ok } from '../../render/answer.js';
import { NotFoundError } from '../../store/errors.js';
import { Problem } from '../problem.js';
import { answerFlow } from '../flow.js';
import type { TraceAnswer } from '../../answer/schema.js';

/** Slack's replay window. */
const MAX_AGE_SECONDS = 5 * 60;

const USAGE = [
  '*Usage:* `/trace <topology> <from> <to>`',
  '`from` and `to` are pods (`namespace/name` or a bare name when unique), nodes, netns names or addresses.',
  'Example: `/trace prod default/web-1 10.1.2.7`',
].join('\n');

interface SlackBody {
  raw: string;
  fields: URLSearchParams;
}

const ephemeral = (text: string) => ({ response_type: 'ephemeral', text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });

function message(a: TraceAnswer) {
  const hops = a.hops
    .map((h, i) => `${i + 1}. \`${h.netns}\` ${h.in ?? '–'} → ${h.out ?? '–'}: ${decisionOf(h)?.explanation ?? ''}`)
    .join('\n');
  const verdict = `${ok(a) ? ':white_check_mark:' : ':x:'} *${a.disposition}*`;
  return {
    response_type: 'in_channel',
    text: a.summary,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${verdict} ${a.summary.slice(a.summary.indexOf(':') + 1).trim()}` } },
      { type: 'section', text: { type: 'mrkdwn', text: hops.slice(0, 2900) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `topology ${a.topology.name}, revision ${a.topology.revision}` }] },
    ],
  };
}

export function verifySlackSignature(secret: string, timestamp: string | undefined, signature: string | undefined, raw: string, now: number): string | undefined {
  if (timestamp === undefined || signature === undefined) return 'the request is not signed (X-Slack-Signature, X-Slack-Request-Timestamp)';
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(now - ts) > MAX_AGE_SECONDS) return 'the request timestamp is outside the 5-minute window';
  const expected = Buffer.from(`v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${raw}`).digest('hex')}`);
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the signature does not match';
  return undefined;
}

export default async function slackRoutes(app: FastifyInstance, options: { signingSecret: string | undefined }) {
  // Slack posts forms; the signature is over the exact bytes, so the body is kept as sent.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, { raw: body as string, fields: new URLSearchParams(body as string) } satisfies SlackBody);
  });

  app.post('/integrations/slack/command', async (request) => {
    const secret = options.signingSecret;
    if (!secret) throw new Problem(403, 'slack-not-configured', 'set SLACK_SIGNING_SECRET to enable the Slack command');
    const body = request.body as SlackBody | undefined;
    if (body === undefined || typeof body !== 'object' || !('raw' in body)) {
      throw new Problem(415, 'unsupported-media-type', 'Slack commands are sent as application/x-www-form-urlencoded');
    }
    const h = request.headers;
    const refused = verifySlackSignature(
      secret,
      h['x-slack-request-timestamp'] as string | undefined,
      h['x-slack-signature'] as string | undefined,
      body.raw,
      Math.floor(Date.now() / 1000),
    );
    if (refused) throw new Problem(401, 'bad-signature', refused);

    const words = (body.fields.get('text') ?? '').trim().split(/\s+/).filter(Boolean);
    if (words.length === 0 || words[0] === 'help') return ephemeral(USAGE);
    if (words.length !== 3) return ephemeral(`I need three things, a topology, a source and a destination; I got ${words.length}.\n${USAGE}`);
    const [name, from, to] = words as [string, string, string];
    try {
      const { revision, compiled } = await app.compiled.get(name, undefined);
      return message(answerFlow(compiled, { name, revision }, { from, to }));
    } catch (err) {
      if (err instanceof NotFoundError) return ephemeral(`There is no topology named \`${name}\`.`);
      if (err instanceof Problem) {
        const candidates = Array.isArray(err.extensions.candidates) ? `\nDid you mean: ${(err.extensions.candidates as string[]).map((c) => `\`${c}\``).join(', ')}?` : '';
        return ephemeral(`${err.message}${candidates}`);
      }
      throw err;
    }
  });
}
