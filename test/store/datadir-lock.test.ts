// @serial: a dead holder's lock is judged by how soon it is taken over (test/run.sh runs this file alone).
// The embedded data folder belongs to one process at a time, also across PID namespaces (containers sharing a volume,
// where every process is pid 1) and hosts: a lease the holder keeps fresh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, lockDataDir } from '../../src/store/datadir-lock.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pathtrace-lock-'));
const root = new URL('../..', import.meta.url).pathname;
const holder = join(root, 'test/helpers/lock-holder.ts');

/** Runs the lock holder, optionally in a PID namespace of its own (where it is pid 1, as in a container). */
function run(args: string[], ownPidNamespace = false) {
  const node = [process.execPath, '--import', 'tsx', holder, ...args];
  const child = ownPidNamespace
    ? spawn('unshare', ['--pid', '--fork', '--mount-proc', ...node], { cwd: root })
    : spawn(node[0]!, node.slice(1), { cwd: root });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const lines = () => out;
  const saw = async (text: string, ms = 30_000) => {
    const deadline = Date.now() + ms;
    while (!out.includes(text)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`expected "${text}", got: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, lines, saw, exited };
}

test('a second lock on the same folder is refused while the first is held, and granted after release', async () => {
  const dir = tmp();
  const first = await lockDataDir(dir);
  await assert.rejects(lockDataDir(dir, { waitMs: 300 }), (err: unknown) => err instanceof DataDirLockedError && new RegExp(`pid ${process.pid} on `).test(err.message));
  await first.release();
  assert.equal(existsSync(first.path), false);
  await (await lockDataDir(dir, { waitMs: 0 })).release();
});

test('a lock held by a live process on this host is refused at once, even when the holder is frozen', async () => {
  const dir = tmp();
  const frozen = run([dir, '1000', '4000', '2000']);
  await frozen.saw('locked');
  await new Promise((r) => setTimeout(r, 2500));
  await assert.rejects(lockDataDir(dir, { staleMs: 2000, waitMs: 5000 }), DataDirLockedError);
  await frozen.exited;
  assert.doesNotMatch(frozen.lines(), /lost/);
});

test('a lock left by a process that died on this host is taken over at once', async () => {
  const dir = tmp();
  const dead = run([dir, '60000']);
  await dead.saw('locked');
  dead.child.kill('SIGKILL');
  await dead.exited;
  const started = Date.now();
  const lock = await lockDataDir(dir, { waitMs: 0 });
  assert.ok(Date.now() - started < 1000);
  await lock.release();
});

const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--pid', '--fork', '--mount-proc', 'true']).status === 0;

test('two processes in PID namespaces of their own (both pid 1): the second is refused', { skip: !canUnshare && 'needs root and unshare' }, async () => {
  const dir = tmp();
  const first = run([dir, '4000'], true);
  await first.saw('locked');
  const second = run([dir, '0'], true);
  await second.exited;
  assert.match(second.lines(), /refused: the data folder .* is in use by another pathtrace process \(pid 1 on /);
  assert.equal(await first.exited, 0);
});

test('a holder in another container, frozen past the lease, loses it to a newcomer and is told', { skip: !canUnshare && 'needs root and unshare' }, async () => {
  const dir = tmp();
  // Frozen for 4 s with a 2 s lease, in a PID namespace of its own (the newcomer cannot see its pid): its lock goes
  // stale, and the newcomer takes it. (A holder whose pid is seen alive is never taken over, frozen or not.)
  const frozen = run([dir, '3000', '4000', '2000'], true);
  await frozen.saw('locked');
  await new Promise((r) => setTimeout(r, 2500));
  const newcomer = await lockDataDir(dir, { staleMs: 2000, waitMs: 5000 });
  await frozen.saw('lost', 10_000);
  assert.equal(newcomer.lost, false);
  await newcomer.release();
  await frozen.exited;
});
