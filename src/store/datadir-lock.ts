// A lock file with the owner's pid, created atomically (O_EXCL). A stale lock, left by a process that died without
// releasing it, is taken over; a live owner makes the second process refuse to start.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface DataDirLock {
  readonly path: string;
  release(): void;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly ownerPid: number,
  ) {
    super(
      `the data folder ${dataDir} is in use by another pathtrace process (pid ${ownerPid}); ` +
        'stop it, or give this one its own folder with DATA_DIR, or share a PostgreSQL server with DATABASE_URL',
    );
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else, which still means the folder is taken.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

// In a container the service is often pid 1 on every start, so a lock with our own pid is stale unless this very process
// holds it.
const heldHere = new Set<string>();

export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '.pathtrace.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      heldHere.add(path);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(path);
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number.parseInt(readFileSync(path, 'utf8'), 10);
      const live = owner === process.pid ? heldHere.has(path) : Number.isInteger(owner) && owner > 0 && alive(owner);
      if (live) {
        throw new DataDirLockedError(dir, owner);
      }
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock the data folder ${dir}`);
}
