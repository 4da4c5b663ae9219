// A template of the embedded database's folder: made once at build time (`npm run build` runs make-template.ts), copied
// into an empty data folder on its first start. A fresh PGlite folder otherwise costs initdb (a second Postgres compiled
// to WebAssembly, initdb's own, a dump and a reload) plus every migration: 10-30 s on a loaded machine, against a copy of
// ~40 MB. The template says what it was made from (template.json): the migrations (number, name and a hash of their
// SQL) and the PGlite version. It is used only when both are exactly the ones of this installation: a template made
// before a migration was added or changed, or by another PGlite, would give a folder of another schema or format, so
// the start falls back to initdb and the migrations as before.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMigrations, type Migration } from './migrate.js';

/** Where the build puts the template: beside the compiled code, so that whatever ships dist/ ships it. */
export const templateDir = fileURLToPath(new URL('../../dist/pglite-template/', import.meta.url));

const MANIFEST = 'template.json';
/** PGlite's marker of an initialised folder; copied last, so that an interrupted copy is not taken for a database. */
const MARKER = 'PG_VERSION';

export interface TemplateManifest {
  pglite: string;
  migrations: { version: number; name: string; sha256: string }[];
}

function pgliteVersion(): string {
  // The package's main file is dist/index.js; its package.json is one folder up (not in its exports map).
  const main = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  return (JSON.parse(readFileSync(join(dirname(main), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/** What a template made now, from these migrations, would say of itself. */
export async function currentManifest(migrations?: Migration[]): Promise<TemplateManifest> {
  const all = migrations ?? (await loadMigrations());
  return {
    pglite: pgliteVersion(),
    migrations: all.map((m) => ({ version: m.version, name: m.name, sha256: createHash('sha256').update(m.sql).digest('hex') })),
  };
}

/** Whether a template that says `made` may seed a folder for an installation that says `now`: only when identical. */
export function templateMatches(made: TemplateManifest, now: TemplateManifest): boolean {
  return JSON.stringify(made) === JSON.stringify(now);
}

async function readManifest(dir: string): Promise<TemplateManifest | undefined> {
  try {
    const m = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as TemplateManifest;
    // Rebuilt in currentManifest's key order, so that templateMatches compares contents only.
    return { pglite: m.pglite, migrations: (m.migrations ?? []).map((x) => ({ version: x.version, name: x.name, sha256: x.sha256 })) };
  } catch {
    return undefined;
  }
}

/** The template at `dir` when it was made for this installation's migrations and PGlite; undefined otherwise. */
export async function usableTemplate(dir = templateDir, now?: TemplateManifest): Promise<string | undefined> {
  if (!existsSync(join(dir, MARKER))) return undefined;
  const made = await readManifest(dir);
  if (made === undefined) return undefined;
  return templateMatches(made, now ?? (await currentManifest())) ? dir : undefined;
}

/**
 * Seeds an uninitialised data folder (no PG_VERSION) from the template, when there is one for this installation.
 * Returns whether it did. The caller holds the folder's lock. Files already there (the lock, a half-finished earlier
 * copy) stay or are overwritten; PG_VERSION is written last.
 */
export async function seedFromTemplate(dataDir: string, dir = templateDir): Promise<boolean> {
  if (existsSync(join(dataDir, MARKER))) return false;
  const template = await usableTemplate(dir);
  if (template === undefined) return false;
  for (const entry of readdirSync(template, { withFileTypes: true })) {
    if (entry.name === MARKER || entry.name === MANIFEST) continue;
    copyTree(join(template, entry.name), join(dataDir, entry.name), entry.isDirectory());
  }
  copyFileSync(join(template, MARKER), join(dataDir, MARKER));
  return true;
}

/**
 * Copies a file, or a folder recursively. Synchronous and without fs.cp's checks per file: the template is ~1,000 files,
 * and this way costs half the CPU time of fs.promises.cp (it runs in the database's own thread, which has nothing else
 * to do meanwhile).
 */
function copyTree(from: string, to: string, folder: boolean): void {
  if (!folder) {
    copyFileSync(from, to);
    return;
  }
  mkdirSync(to, { recursive: true });
  for (const e of readdirSync(from, { withFileTypes: true })) copyTree(join(from, e.name), join(to, e.name), e.isDirectory());
}

/**
 * Makes the template at `dir` with `build` (which initialises and migrates a PGlite folder at the path it is given), unless
 * the one there is already current. Made beside it and renamed into place, so that a reader never sees half of one.
 */
export async function makeTemplate(build: (dataDir: string) => Promise<void>, dir = templateDir): Promise<'current' | 'made'> {
  const now = await currentManifest();
  if ((await usableTemplate(dir, now)) !== undefined) return 'current';
  const scratch = `${dir.replace(/\/$/, '')}.tmp-${process.pid}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await build(scratch);
    await writeFile(join(scratch, MANIFEST), `${JSON.stringify(now, null, 2)}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(scratch, dir);
  } catch (err) {
    await rm(scratch, { recursive: true, force: true });
    throw err;
  }
  return 'made';
}
