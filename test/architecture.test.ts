// The layers of src/ as DESIGN.md draws them, read from the import statements: the engine is pure and below everything,
// the importers turn outside formats into topology documents without knowing HTTP or storage, validation validates
// (dumps become a fabric before it), and no two folders need each other at run time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

interface Edge {
  /** Files, relative to src/. */
  from: string;
  to: string;
  /** `import type` / `export type`: erased by the compiler, so no module is loaded for it. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function importsOf(file: string): Edge[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const edges: Edge[] = [];
  for (const s of source.statements) {
    let typeOnly: boolean;
    if (ts.isImportDeclaration(s)) typeOnly = s.importClause?.isTypeOnly ?? false;
    else if (ts.isExportDeclaration(s) && s.moduleSpecifier !== undefined) typeOnly = s.isTypeOnly;
    else continue;
    const specifier = (s.moduleSpecifier as ts.StringLiteral).text;
    if (!specifier.startsWith('.')) continue;
    const target = resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
    edges.push({ from: relative(SRC, file), to: relative(SRC, target), typeOnly });
  }
  return edges;
}

const edges = sourceFiles(SRC).flatMap(importsOf);
/** A folder of src/ (engine, http, import...), or a file at its top (app.ts, config.ts, server.ts). */
const unit = (file: string) => file.split('/')[0]!;
const describe = (e: Edge) => `${e.from} → ${e.to}${e.typeOnly ? ' (type)' : ''}`;
const across = (from: string, to: string[]) => edges.filter((e) => unit(e.from) === from && to.includes(unit(e.to)));

test('the imports of src/ are read, type-only ones told apart', () => {
  const between = edges.filter((e) => unit(e.from) !== unit(e.to));
  assert.ok(between.some((e) => e.typeOnly) && between.some((e) => !e.typeOnly), `${between.length} imports between folders`);
});

test('the engine imports nothing from the layers above it, but the types of the topology documents', () => {
  const above = across('engine', ['http', 'store', 'import', 'topology', 'render']);
  // The documents' schemas: topology/schema.ts and the parts split from it (services.schema.ts).
  const wrong = above.filter((e) => !(e.typeOnly && /^topology\/([a-z-]+\.)?schema\.ts$/.test(e.to)));
  assert.deepEqual(wrong.map(describe), []);
});

test('the importers know nothing of HTTP or storage', () => {
  assert.deepEqual(across('import', ['http', 'store']).map(describe), []);
});

test('validation knows no importer: dumps become a fabric before they are checked', () => {
  assert.deepEqual(across('topology', ['import', 'http']).map(describe), []);
});

test('no two folders of src/ need each other at run time', () => {
  const needs = new Map<string, Map<string, Edge>>();
  for (const e of edges) {
    const [a, b] = [unit(e.from), unit(e.to)];
    if (e.typeOnly || a === b) continue;
    if (!needs.has(a)) needs.set(a, new Map());
    if (!needs.get(a)!.has(b)) needs.get(a)!.set(b, e);
  }
  // Depth-first; a folder met again while on the current path closes a cycle.
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (u: string) => {
    if (done.has(u)) return;
    const at = path.indexOf(u);
    if (at >= 0) {
      const cycle = [...path.slice(at), u];
      cycles.push(cycle.slice(1).map((v, i) => describe(needs.get(cycle[i]!)!.get(v)!)).join(', '));
      return;
    }
    path.push(u);
    for (const v of needs.get(u)?.keys() ?? []) visit(v);
    path.pop();
    done.add(u);
  };
  for (const u of needs.keys()) visit(u);
  assert.deepEqual(cycles, []);
});
