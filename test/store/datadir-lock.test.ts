import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { DataDirLockedError, lockDataDir } from '../../src/store/datadir-lock.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'pathtrace-lock-'));

test('a second lock on the same folder is refused while the first is held, and granted after release', () => {
  const dir = tmp();
  const first = lockDataDir(dir);
  assert.equal(readFileSync(first.path, 'utf8').trim(), String(process.pid));
  assert.throws(() => lockDataDir(dir), (err: unknown) => err instanceof DataDirLockedError && /in use by another pathtrace process/.test(err.message));
  first.release();
  assert.equal(existsSync(first.path), false);
  lockDataDir(dir).release();
});

test('a lock left by a process that is gone is taken over', () => {
  const dir = tmp();
  // A pid that certainly is not running: a child that has already exited.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
  writeFileSync(join(dir, '.pathtrace.lock'), `${dead}\n`);
  const lock = lockDataDir(dir);
  assert.equal(readFileSync(lock.path, 'utf8').trim(), String(process.pid));
  lock.release();
});

test('a lock with a live foreign pid is respected', () => {
  const dir = tmp();
  writeFileSync(join(dir, '.pathtrace.lock'), `${process.ppid}\n`);
  assert.throws(() => lockDataDir(dir), DataDirLockedError);
});
