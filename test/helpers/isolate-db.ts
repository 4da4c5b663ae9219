// Loaded by `npm test` into every test file's process (node --import): with a PostgreSQL server (DATABASE_URL), each file
// gets a database of its own, made empty here and dropped when the process exits, so that files may run side by side
// (test/run.sh runs two at a time) while each empties its tables as it likes. Everything the file starts (servers,
// workers, `npm start`) inherits the URL. The test runner's own process, and runs without DATABASE_URL (PGlite in
// memory, one per process already), are left alone.
import { spawnSync } from 'node:child_process';
import pg from 'pg';

const base = process.env.DATABASE_URL;
if (base !== undefined && base !== '' && process.env.NODE_TEST_CONTEXT !== undefined && process.env.PATHTRACE_TEST_DB_ISOLATED === undefined) {
  const url = new URL(base);
  const name = `${url.pathname.slice(1) || 'postgres'}_f${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  process.env.DATABASE_URL = url.toString();
  // A process this one starts with the same preload (a server under test) uses this database, not one of its own.
  process.env.PATHTRACE_TEST_DB_ISOLATED = '1';
  // An exit handler cannot wait for a client: psql drops it (FORCE: connections a killed child left behind).
  process.on('exit', () => {
    spawnSync('psql', [base, '-qc', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`], { stdio: 'ignore' });
  });
}
