// GET /openapi.yaml: the contract the service keeps, from the service itself, so that a client generator, Swagger UI or
// Postman can be pointed at a running service rather than at a checkout of the repository. It is openapi.yaml at the
// repository's root (generated from these routes by tools/openapi.ts, held current by a test), read once at start-up
// and served from memory with a strong ETag: every request costs one write of the same ~650 KB, or a 304.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Problem } from '../problem.js';
import { NotFound } from '../responses.js';
import { conditional, fileResponses, sendFile, servedFile, type ServedFile } from './page.js';

/** openapi.yaml, at the root: src/http/routes/ and dist/http/routes/ are both three levels under it. */
export const OPENAPI_FILE = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));

/** RFC 9512's media type for YAML. */
const YAML = 'application/yaml; charset=utf-8';

const getOpenapiDoc = {
  security: [],
  tags: ['contract'],
  operationId: 'getOpenapi',
  summary: 'This contract',
  description:
    'The OpenAPI document of this service (this one), as YAML: point a client generator, Swagger UI or Postman at\n' +
    '`/openapi.yaml` of a running service. It needs no token; it says what the API takes and answers, nothing of what it\n' +
    'holds. With If-None-Match of its ETag: 304 while it is unchanged.\n',
  response: {
    ...fileResponses('The OpenAPI document.', YAML, 'openapi: 3.1.0\ninfo:\n  title: pathtrace\n…\n'),
    404: NotFound,
  },
};

function readContract(): ServedFile | undefined {
  try {
    return servedFile(readFileSync(OPENAPI_FILE), YAML);
  } catch {
    // An installation without the file (a copy of dist/ alone) serves everything else.
    return undefined;
  }
}

export default async function openapiRoutes(plain: FastifyInstance) {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const contract = readContract();
  app.get('/openapi.yaml', { schema: { ...getOpenapiDoc, headers: conditional }, config: { scope: 'open' } }, async (request, reply) => {
    if (contract === undefined) throw new Problem(404, 'not-found', 'this installation has no openapi.yaml beside dist/: see the repository');
    return sendFile(request, reply, contract);
  });
}
