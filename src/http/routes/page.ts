// The page at `/`: a trace as a diagram, the matrix as a heat map, a diff and a what-if, for people who would rather look
// than read JSON. Its files are in public/ at the repository's root (plain ES modules and CSS: nothing to build, nothing
// from a CDN), read once at start-up and served from memory with strong ETags. The page calls the API like any client,
// with the bearer token its user pastes, so the files themselves need none.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { notModified } from '../preconditions.js';
import { Problem } from '../problem.js';
import { NotFound } from '../responses.js';

/** src/http/routes/ and dist/http/routes/ are both three levels under the root. */
const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** A file served from memory, with its type and its strong ETag (a hash of its bytes). */
export interface ServedFile {
  body: Buffer;
  type: string;
  tag: string;
}

export const servedFile = (body: Buffer, type: string): ServedFile => ({ body, type, tag: createHash('sha256').update(body).digest('base64url').slice(0, 22) });

function readPublic(): Map<string, ServedFile> {
  const files = new Map<string, ServedFile>();
  for (const name of readdirSync(PUBLIC_DIR)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    files.set(name, servedFile(readFileSync(join(PUBLIC_DIR, name)), type));
  }
  return files;
}

/** The file, or 304 when the copy the client holds (If-None-Match) is current. */
export function sendFile(request: FastifyRequest, reply: FastifyReply, file: ServedFile): FastifyReply {
  reply
    .header('etag', `"${file.tag}"`)
    // Revalidated on every load: the answer is a 304 of a few bytes while the file is unchanged.
    .header('cache-control', 'no-cache')
    .header('x-content-type-options', 'nosniff');
  if (notModified(request.headers['if-none-match'], file.tag)) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

/**
 * What a browser may do with the page: its own scripts, styles and calls only. Diagrams the API draws are inserted as
 * SVG elements, whose colours are attributes, so no inline style or script is needed anywhere.
 */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const FileParams = Type.Object({
  file: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{0,63}$', description: 'A file of the page (a script, a style sheet).', examples: ['app.js'] }),
});

export const conditional = Type.Object({ 'if-none-match': Type.Optional(Type.String({ description: 'The ETag of the copy the browser holds.' })) });

export const fileResponses = (what: string, type: string, example: string) => ({
  200: {
    description: what,
    headers: { ETag: { type: 'string', description: 'A hash of the file: it changes when the file does.', examples: ['"x3Jw2bq9Qd6yH1d2nQm5Zg"'] } },
    content: { [type]: { schema: { type: 'string' }, example } },
  },
  304: { description: 'If-None-Match matched: the copy the browser holds is current. No body.', type: 'null' },
});

const getPageDoc = {
  security: [],
  tags: ['page'],
  operationId: 'getPage',
  summary: 'The web page',
  description:
    'A page to trace a packet and see it as a diagram and as text, the reachability matrix as a heat map, and the diff\n' +
    'between two revisions or a what-if on it. Served by the service itself, without a CDN; it needs no token to load,\n' +
    'and asks for one (kept in the browser tab\'s sessionStorage) when the API does.\n',
  response: fileResponses('The page.', 'text/html; charset=utf-8', '<!doctype html>\n<html lang="en">…</html>\n'),
};

const getPageFileDoc = {
  security: [],
  tags: ['page'],
  operationId: 'getPageFile',
  summary: 'A file of the web page',
  description: "The page's scripts and style sheet, with ETags (a browser revalidates them and gets 304 while they are current).\n",
  response: {
    ...fileResponses('The file.', 'text/javascript; charset=utf-8', '// …\n'),
    404: NotFound,
  },
};

export default async function pageRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const files = readPublic();

  app.get('/', { schema: getPageDoc, config: { scope: 'open' } }, async (request, reply) => {
    reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer');
    return sendFile(request, reply, files.get('index.html')!);
  });

  app.get('/ui/:file', { schema: { ...getPageFileDoc, params: FileParams, headers: conditional }, config: { scope: 'open' } }, async (request, reply) => {
    const file = request.params.file === 'index.html' ? undefined : files.get(request.params.file);
    if (file === undefined) throw new Problem(404, 'not-found', `the page has no file ${request.params.file}`);
    return sendFile(request, reply, file);
  });
}
