// Rewrites the entries of components.schemas in openapi.yaml that mirror the TypeBox schemas the service validates with,
// as their exact JSON (inlined, no $ref), and leaves the rest of the hand-written file as it is (comments included).
//
//   npx tsx tools/openapi-components.ts           rewrite openapi.yaml
//   npx tsx tools/openapi-components.ts --check   exit 1 when openapi.yaml is not current, without writing it
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isCollection, isMap, parseDocument, visit } from 'yaml';
import { generated } from './openapi-schemas.js';

// Collections whose JSON is this short are written on one line ({ type: string, minLength: 1 }); larger ones as blocks.
const FLOW_WIDTH = 88;

const file = fileURLToPath(new URL('../openapi.yaml', import.meta.url));
const before = readFileSync(file, 'utf8');
const doc = parseDocument(before);
if (doc.errors.length > 0) throw new Error(`openapi.yaml does not parse: ${doc.errors.map((e) => e.message).join('; ')}`);

const schemas = doc.getIn(['components', 'schemas']);
if (!isMap(schemas)) throw new Error('openapi.yaml has no components.schemas map');

for (const [name, schema] of Object.entries(generated)) {
  // JSON.stringify drops TypeBox's symbol-keyed metadata: what is left is the schema Ajv and Fastify see.
  const node = doc.createNode(JSON.parse(JSON.stringify(schema)));
  visit(node, {
    Map: (_, map) => void (map.flow = JSON.stringify(map.toJSON()).length <= FLOW_WIDTH),
    Seq: (_, seq) => void (seq.flow = JSON.stringify(seq.toJSON()).length <= FLOW_WIDTH),
  });
  if (isCollection(node)) node.flow = false; // the entry itself stays a block, even when small
  schemas.set(name, node);
}

const after = doc.toString({ lineWidth: 0, flowCollectionPadding: false });
if (process.argv.includes('--check')) {
  if (after !== before) {
    console.error('openapi.yaml is not current: run npx tsx tools/openapi-components.ts');
    process.exit(1);
  }
  console.log('openapi.yaml is current');
} else if (after === before) {
  console.log('openapi.yaml is current; nothing to write');
} else {
  writeFileSync(file, after);
  console.log(`openapi.yaml: rewrote components.schemas ${Object.keys(generated).join(', ')}`);
}
