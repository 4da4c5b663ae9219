import { createHmac } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** Posts a /trace command as Slack sends it: a form, signed with the secret `age` seconds ago. */
export function slackCommand(app: FastifyInstance, secret: string, text: string, age = 0) {
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
