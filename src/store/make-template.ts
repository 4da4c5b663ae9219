// `npm run build` ends with this: the embedded database's template folder (template.ts), initialised and migrated by the
// same code as a real start, unless the one in dist/ was already made from these migrations and this PGlite.
import { openDb } from './db.js';
import { migrate } from './migrate.js';
import { makeTemplate, templateDir } from './template.js';

const started = performance.now();
const result = await makeTemplate(async (dataDir) => {
  const db = await openDb({ dataDir });
  try {
    await migrate(db);
  } finally {
    await db.close();
  }
});
console.log(`pglite template ${templateDir}: ${result === 'current' ? 'current' : `made in ${Math.round(performance.now() - started)} ms`}`);
