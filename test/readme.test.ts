// README's walkthrough ("Use it", "For dashboards and bots"), run top to bottom as a newcomer types it, against a fresh
// service started as `npm start` starts it: every command succeeds, and where the README shows what a command prints (a
// disposition, a summary, an explanation, a status), the service prints that, up to the README's "…".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './helpers/net.js';

const root = new URL('..', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'pathtrace-readme-'));
let port: number;
let service: ChildProcess;

before(async () => {
  port = await freePort();
  symlinkSync(join(root, 'examples'), join(work, 'examples'));
  const env = { PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: join(work, 'data'), LOG_LEVEL: 'warn' };
  service = spawn(process.execPath, [join(root, 'dist/server.js')], { cwd: work, env, stdio: 'ignore' });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if ((await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)) === 200) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the service did not become ready');
});
after(async () => {
  service.kill('SIGTERM');
  await new Promise((r) => service.once('exit', r));
  rmSync(work, { recursive: true, force: true });
});

interface Statement {
  command: string;
  /** The comment lines right below it: what the README says it prints. */
  shows: string[];
}

/** The shell statements of the walkthrough's code blocks, in order. */
function walkthrough(): Statement[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Use it');
  const end = readme.indexOf('\n## ', readme.indexOf('\n## For dashboards and bots') + 1);
  const statements: Statement[] = [];
  for (const block of readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)) {
    let pending: string[] = [];
    for (const line of block[1]!.split('\n')) {
      if (pending.length === 0 && line.startsWith('#')) {
        statements.at(-1)?.shows.push(line.replace(/^# ?/, ''));
        continue;
      }
      if (pending.length === 0 && line.trim() === '') {
        // A blank line ends what the previous statement shows.
        if (statements.length > 0) statements.at(-1)!.shows.push('');
        continue;
      }
      pending.push(line);
      const text = pending.join('\n');
      const open = (text.match(/'/g) ?? []).length % 2 === 1;
      if (!open && !/[\\|]\s*$/.test(line)) {
        statements.push({ command: text, shows: [] });
        pending = [];
      }
    }
  }
  return statements;
}

/** A README comment that shows output (rather than saying what a command does). */
const OUTPUT = /^(DELIVERED|EXITS_NETWORK|NO_ROUTE|BLACKHOLED|UNREACHABLE|NEIGHBOR_UNREACHABLE|LINK_DOWN|FORWARDING_DISABLED|LOOP|TTL_EXCEEDED|REJECTED|DENIED)\b|^"|^\d+\.\s|^\d{3}$|^a \d+-byte packet/;

test('README walkthrough: every command runs, and prints what the README shows', () => {
  const statements = walkthrough();
  assert.ok(statements.length >= 15, `found ${statements.length} commands`);
  for (const { command, shows } of statements) {
    const script = command.replaceAll('localhost:8080', `127.0.0.1:${port}`);
    const run = spawnSync('bash', ['-o', 'pipefail', '-c', script], { cwd: work, encoding: 'utf8' });
    assert.equal(run.status, 0, `${command}\n${run.stderr}`);
    assert.doesNotMatch(run.stdout, /urn:pathtrace:problem:(not-found|internal)/, `${command}\n${run.stdout}`);
    const expected = shows.slice(0, shows.indexOf('') < 0 ? undefined : shows.indexOf(''));
    if (expected.length === 0 || !OUTPUT.test(expected[0]!)) continue;
    const actual = run.stdout.split('\n');
    expected.forEach((line, i) => {
      const prefix = line.split('…')[0]!.trimEnd();
      assert.ok(actual[i]?.startsWith(prefix), `${command}\nREADME shows: ${line}\nthe service prints: ${actual[i]}`);
    });
  }
});
