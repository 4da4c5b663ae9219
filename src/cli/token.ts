// `npm run token -- create NAME --scope read|write|admin` | `list` | `revoke NAME`: bearer tokens kept in the database
// (DATABASE_URL, or the embedded one in DATA_DIR while the service is stopped: its folder is locked). A new token is
// printed once; only its SHA-256 is stored.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { openDb } from '../store/db.js';
import { migrate } from '../store/migrate.js';
import { isScope } from '../auth/scope.js';
import { createToken, listTokens, revokeToken } from '../auth/tokens.js';

const USAGE = 'usage: npm run token -- create NAME --scope read|write|admin | list | revoke NAME';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { scope: { type: 'string' } } });
const [command, name] = positionals;
const fail = (message: string): never => {
  console.error(`pathtrace token: ${message}`);
  process.exit(2);
};
if (command === 'create' && (name === undefined || !/^[\w.-]{1,64}$/.test(name))) fail(`a token needs a NAME of letters, digits, ".", "_" or "-"\n${USAGE}`);
if (command === 'create' && !isScope(values.scope ?? '')) fail(`--scope must be read, write or admin\n${USAGE}`);
if (command === 'revoke' && name === undefined) fail(USAGE);
if (command !== 'create' && command !== 'list' && command !== 'revoke') fail(USAGE);

const db = await openDb(loadConfig(process.env).db);
try {
  await migrate(db);
  if (command === 'create') {
    const token = await createToken(db, name!, values.scope as 'read').catch((err: { code?: string }) =>
      err.code === '23505' ? fail(`a token named ${name} exists; revoke it first`) : Promise.reject(err),
    );
    console.log(token);
    console.error(`token ${name} (${values.scope}) created: it is shown only now`);
  } else if (command === 'list') {
    for (const t of await listTokens(db)) console.log(`${t.name}\t${t.scope}\t${t.created_at}`);
  } else if (!(await revokeToken(db, name!))) {
    fail(`there is no token named ${name}`);
  } else {
    console.error(`token ${name} revoked (running services stop accepting it within 10 s)`);
  }
} finally {
  await db.close();
}
