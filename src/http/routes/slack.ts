// POST /v1/integrations/slack/command: the `/trace <topology> <from> <to>` slash command. Slack signs every request
// (HMAC-SHA256 of "v0:<timestamp>:<body>" with the app's signing secret); without a configured secret the endpoint refuses,
// since an unsigned endpoint would let anyone read the topologies. Whatever the user types, the answer is a Slack
// message (ephemeral help for mistakes), never an error page.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { outcomeOf } from '../../render/answer.js';
import { slack, slackBlock, slackCode } from '../../render/escape.js';
import { renderText } from '../../render/text.js';
import { NotFoundError } from '../../store/errors.js';
import { suggestNames } from '../../engine/suggest.js';
import type { FlowRequest } from '../../answer/trace-answer.js';
import { MAX_REVISION } from './topologies.schemas.js';
import { Problem } from '../problem.js';
import { problemResponse } from '../responses.js';
import type { TraceAnswer } from '../../answer/schema.js';


/** Slack's replay window. */
const MAX_AGE_SECONDS = 5 * 60;

const USAGE = [
  '*Usage:* `/trace <topology> <from> <to>`, then options if you like: `port=443`, `protocol=udp` (tcp with a port, else icmp), `family=6`, `revision=3`',
  '`from` and `to` are pods (`namespace/name` or a bare name when unique), nodes, netns names or addresses.',
  'Example: `/trace prod default/web-1 10.1.2.7 port=8080`',
].join('\n');

/** The options `/trace` takes after its three words, as `name=value`: each checked as the trace route's query is. */
const OPTIONS: Record<string, (value: string) => Partial<FlowRequest> & { revision?: number }> = {
  port: (v) => ({ port: integer(v, 'port', 1, 65535) }),
  protocol: (v) => {
    if (v !== 'icmp' && v !== 'tcp' && v !== 'udp') throw new OptionError(`protocol is icmp, tcp or udp, not ${slackCode(v)}`);
    return { protocol: v };
  },
  family: (v) => {
    if (v !== '4' && v !== '6') throw new OptionError(`family is 4 or 6, not ${slackCode(v)}`);
    return { family: Number(v) as 4 | 6 };
  },
  revision: (v) => ({ revision: integer(v, 'revision', 1, MAX_REVISION) }),
};

/** An option the user got wrong: the message says how, for an ephemeral answer. */
class OptionError extends Error {}

function integer(value: string, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < min || n > max) throw new OptionError(`${name} is a whole number from ${min} to ${max}, not ${slackCode(value)}`);
  return n;
}

/** The words of a command: the three names in order, and the options (`name=value`) anywhere among them. */
function parseCommand(words: string[]): { names: string[]; flow: Partial<FlowRequest>; revision?: number } {
  const names: string[] = [];
  let options: Partial<FlowRequest> & { revision?: number } = {};
  for (const word of words) {
    const eq = word.indexOf('=');
    if (eq <= 0) {
      names.push(word);
      continue;
    }
    const [key, value] = [word.slice(0, eq), word.slice(eq + 1)];
    const option = OPTIONS[key];
    if (option === undefined) {
      const near = suggestNames(key, Object.keys(OPTIONS));
      throw new OptionError(`I know no option ${slackCode(key)}${near.length ? `; did you mean ${near.map(slackCode).join(' or ')}?` : '.'}`);
    }
    options = { ...options, ...option(value) };
  }
  const { revision, ...flow } = options;
  // A port asks for a transport protocol; the trace would refuse it with icmp, which is not what anyone typing it means.
  if (flow.port !== undefined && flow.protocol === undefined) flow.protocol = 'tcp';
  return { names, flow, ...(revision !== undefined ? { revision } : {}) };
}

interface SlackBody {
  raw: string;
  fields: URLSearchParams;
}

const ephemeral = (text: string) => ({ response_type: 'ephemeral', text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] });

// Names in the answer are the user's: the summary goes in inline code and the hops in a preformatted block (the text
// rendering), the two places where Slack formats nothing, with &, < and > escaped so that no name can mention or link.
function message(a: TraceAnswer) {
  const verdict = `${{ delivered: ':white_check_mark:', exits: ':arrow_upper_right:', failed: ':x:' }[outcomeOf(a)]} *${a.disposition}*`;
  const hops = renderText(a).trimEnd().split('\n').slice(1);
  return {
    response_type: 'in_channel',
    text: slack(a.summary),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `${verdict} ${slackCode(a.summary.slice(a.summary.indexOf(':') + 1).trim())}` } },
      { type: 'section', text: { type: 'mrkdwn', text: slackBlock(hops, 3000) } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `topology ${slack(a.topology.name)}, revision ${a.topology.revision}${flowNote(a)}` }] },
    ],
  };
}

/** What the options changed, so that the channel sees what was asked: ", udp port 53", ", IPv6". */
function flowNote(a: TraceAnswer): string {
  const port = a.flow.dstPort ?? a.flow.port;
  const transport = a.flow.protocol === 'icmp' ? '' : `, ${a.flow.protocol}${port !== undefined ? ` port ${port}` : ''}`;
  return `${transport}${a.flow.dst.includes(':') ? ', IPv6' : ''}`;
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

const slackCommandDoc = {
  security: [],
  tags: ['integrations'],
  operationId: 'slackCommand',
  summary: 'The Slack slash command /trace',
  description: 'Point a Slack slash command (`/trace <topology> <from> <to>`, then options if any: `port=443`,\n' +
    '`protocol=udp`, `family=6`, `revision=3`) here. Requests must be signed with the app\'s signing\n' +
    'secret (`X-Slack-Signature`, `X-Slack-Request-Timestamp`, at most 5 minutes old); the service refuses every request\n' +
    'until `SLACK_SIGNING_SECRET` is set. The answer is a Slack message: the verdict and the hops in the channel, or an\n' +
    'ephemeral help text for `help`, missing arguments, wrong options or unknown names (with the names near them).\n',
  'x-request-body': {
    content: {
      'application/x-www-form-urlencoded': {
        schema: {
          type: 'object',
          properties: {
            command: { type: 'string' },
            text: { type: 'string', description: '<topology> <from> <to> and options (port=443, protocol=udp, family=6, revision=3), or help' },
            user_id: { type: 'string' },
            response_url: { type: 'string' },
          },
        },
        example: { command: '/trace', text: 'two-nodes pod-a1 pod-b1', user_id: 'U1' },
      },
    },
  },
  response: {
    200: {
      description: 'A Slack message (blocks).',
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: {
              response_type: { type: 'string', enum: ['in_channel', 'ephemeral'] },
              text: { type: 'string' },
              blocks: { type: 'array', items: { type: 'object', additionalProperties: true } },
            },
            additionalProperties: true,
          },
          example: {
            response_type: 'in_channel',
            text: 'DELIVERED: default/pod-a1 (10.1.1.2) → default/pod-b1 (10.1.2.2) via default/pod-a1 → node-a → node-b → default/pod-b1',
            blocks: [
              {
                type: 'section',
                text: {
                  type: 'mrkdwn',
                  text: ':white_check_mark: *DELIVERED* `default/pod-a1 (10.1.1.2) → default/pod-b1 (10.1.2.2) via default/pod-a1 → node-a → node-b → default/pod-b1`',
                },
              },
            ],
          },
        },
      },
    },
    401: problemResponse(
      'The signature is missing, wrong, or older than 5 minutes.',
      {
        type: 'urn:pathtrace:problem:bad-signature',
        title: 'The request signature is not valid',
        status: 401,
        detail: 'the signature does not match',
        instance: '/v1/integrations/slack/command',
      },
    ),
    403: problemResponse(
      'SLACK_SIGNING_SECRET is not set.',
      {
        type: 'urn:pathtrace:problem:slack-not-configured',
        title: 'The Slack command is not configured',
        status: 403,
        detail: 'set SLACK_SIGNING_SECRET to enable the Slack command',
        instance: '/v1/integrations/slack/command',
      },
    ),
    415: problemResponse(
      'The body is not a form.',
      {
        type: 'urn:pathtrace:problem:unsupported-media-type',
        title: 'Unsupported media type',
        status: 415,
        detail: 'Slack commands are sent as application/x-www-form-urlencoded',
        instance: '/v1/integrations/slack/command',
      },
    ),
  },
};

// Checked by the route against the signing secret, which answers their absence itself: the schema only documents them.
const SlackHeaders = Type.Object({
  'x-slack-signature': Type.Optional(
    Type.String({
      description: 'v0= and the hex HMAC-SHA256 of "v0:<timestamp>:<body>" with the signing secret.',
      examples: ['v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503'],
    }),
  ),
  'x-slack-request-timestamp': Type.Optional(Type.String({ description: 'Seconds since 1970; at most 5 minutes old.', examples: ['1795629000'] })),
});

export default async function slackRoutes(app: FastifyInstance, options: { signingSecret: string | undefined }) {
  // Slack posts forms; the signature is over the exact bytes, so the body is kept as sent.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, { raw: body as string, fields: new URLSearchParams(body as string) } satisfies SlackBody);
  });

  app.post('/integrations/slack/command', { schema: { ...slackCommandDoc, headers: SlackHeaders } }, async (request) => {
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
    let command: ReturnType<typeof parseCommand>;
    try {
      command = parseCommand(words);
    } catch (err) {
      if (err instanceof OptionError) return ephemeral(`${err.message}\n${USAGE}`);
      throw err;
    }
    const { names, flow, revision } = command;
    if (names.length !== 3) return ephemeral(`I need three things, a topology, a source and a destination; I got ${names.length}.\n${USAGE}`);
    const [name, from, to] = names as [string, string, string];
    try {
      const answer = await app.work.run('trace', [{ name, revision }], { flow: { ...flow, from, to } });
      app.metrics.traced({ [answer.disposition]: 1 });
      return message(answer);
    } catch (err) {
      if (err instanceof NotFoundError) {
        const exists = await app.store.head(name).then(
          () => true,
          (e: unknown) => (e instanceof NotFoundError ? false : Promise.reject(e)),
        );
        if (revision !== undefined && exists) {
          return ephemeral(`${slackCode(name)} has no revision ${revision} (or it is no longer kept).`);
        }
        // The names of the first topologies, in order: enough for a typo in any but a very large installation.
        const near = suggestNames(name, (await app.store.list(1000, undefined)).items.map((t) => t.name));
        return ephemeral(`There is no topology named ${slackCode(name)}.${near.length ? `\nDid you mean: ${near.map(slackCode).join(', ')}?` : ''}`);
      }
      if (err instanceof Problem) {
        const candidates = Array.isArray(err.extensions.candidates) ? `\nDid you mean: ${(err.extensions.candidates as string[]).map(slackCode).join(', ')}?` : '';
        return ephemeral(`${slack(err.message)}${candidates}`);
      }
      throw err;
    }
  });
}
