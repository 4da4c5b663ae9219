// Request validation with the service's schema checkers (src/topology/schema-check.ts): bodies strictly, parameters
// with coercion.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { bodyAjv, paramAjv } from '../topology/schema-check.js';

async function validationPlugin(app: FastifyInstance) {
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : paramAjv).compile(schema));
}

export default fp(validationPlugin, { name: 'validation' });
