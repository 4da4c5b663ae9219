// `npm run migrate`: applies the migrations to DATABASE_URL, or to the embedded database in DATA_DIR.
import { loadConfig } from '../config.js';
import { openDb } from '../store/db.js';
import { migrate } from '../store/migrate.js';

const config = loadConfig(process.env);
const db = await openDb(config.db);
try {
  const applied = await migrate(db);
  console.log(applied.length ? `applied: ${applied.join(', ')}` : 'already up to date');
} finally {
  await db.close();
}
