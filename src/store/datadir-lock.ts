// One process per embedded data folder, also across containers, PID namespaces and hosts that share the folder: a lease.
// The holder keeps a lock directory's modification time fresh (proper-lockfile); a lock not refreshed for STALE_MS is a
// dead holder's, and is taken over. A second process waits up to WAIT_MS for that, then refuses to start. On the same
// host and PID namespace a dead holder is recognised at once by its pid, so a restart after a crash does not wait.
// A holder that finds its lease taken (it was frozen longer than STALE_MS, or two starters raced for a stale lease) stops
// using the folder at once: see onLost.
import { existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import lockfile from 'proper-lockfile';

export interface DataDirLock {
  readonly path: string;
  /** True once another process has taken the folder over: nothing may be written any more. */
  readonly lost: boolean;
  release(): Promise<void>;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly owner: string,
  ) {
    super(
      `the data folder ${dataDir} is in use by another pathtrace process (${owner}); ` +
        'stop it, or give this one its own folder with DATA_DIR, or share a PostgreSQL server with DATABASE_URL',
    );
  }
}

export interface LockOptions {
  /** A lease not refreshed for this long is a dead holder's. */
  staleMs?: number;
  /** How long a second process waits for a lease to go stale before it refuses. */
  waitMs?: number;
  /** Called once if another process takes the folder over. */
  onLost?: (err: Error) => void;
}

/** Who holds the lease, written beside it: for the refusal message, and to recognise a dead holder on this very host. */
interface Owner {
  pid: number;
  host: string;
  /** The kernel's boot and PID namespace: a pid means something only within both. */
  boot: string;
  pidns: string;
  since: string;
}

const read = (path: string): string => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
};

function self(): Owner {
  let pidns = '';
  try {
    pidns = readlinkSync('/proc/self/ns/pid');
  } catch {
    // not Linux: the pid shortcut is simply not taken
  }
  return { pid: process.pid, host: hostname(), boot: read('/proc/sys/kernel/random/boot_id'), pidns, since: new Date().toISOString() };
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * What this process can tell of the holder by its pid: only when it runs in the same kernel boot and PID namespace
 * ('unknown' otherwise, and then only the lease's age tells).
 */
function holderHere(owner: Owner | undefined, me: Owner): 'alive' | 'dead' | 'unknown' {
  if (owner === undefined || owner.pidns === '' || owner.boot === '') return 'unknown';
  if (owner.host !== me.host || owner.boot !== me.boot || owner.pidns !== me.pidns) return 'unknown';
  return owner.pid === me.pid || alive(owner.pid) ? 'alive' : 'dead';
}

const describeOwner = (o: Owner | undefined): string => (o ? `pid ${o.pid} on ${o.host} since ${o.since}` : 'unknown holder');

export async function lockDataDir(dataDir: string, options: LockOptions = {}): Promise<DataDirLock> {
  const staleMs = options.staleMs ?? 20_000;
  const waitMs = options.waitMs ?? staleMs + 5_000;
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, '.pathtrace.lock');
  // Beside the lock directory, which proper-lockfile removes with rmdir. Written right after the lock is made: two
  // starters racing for a dead holder's lock could both take it, which the loser learns at its next refresh (onLost).
  const ownerPath = `${path}.owner`;
  const me = self();
  const owner = (): Owner | undefined => {
    try {
      return JSON.parse(readFileSync(ownerPath, 'utf8')) as Owner;
    } catch {
      return undefined;
    }
  };

  let lost = false;
  const attempt = () =>
    lockfile.lock(dir, {
      lockfilePath: path,
      realpath: false,
      stale: staleMs,
      onCompromised: (err) => {
        lost = true;
        options.onLost?.(err);
      },
    });
  const deadline = Date.now() + waitMs;
  let release: () => Promise<void>;
  for (;;) {
    // A holder seen alive on this host keeps the folder even when its lease is stale (it may be frozen in heavy work):
    // checked before proper-lockfile, which would take a stale lease over.
    const seen = owner();
    if (existsSync(path) && holderHere(seen, me) === 'alive') throw new DataDirLockedError(dir, describeOwner(seen));
    try {
      release = await attempt();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ELOCKED') throw err;
      const holder = owner();
      const here = holderHere(holder, me);
      if (here === 'dead' && existsSync(path)) {
        rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (here === 'alive' || Date.now() >= deadline) {
        throw new DataDirLockedError(dir, describeOwner(holder));
      }
      await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(50, deadline - Date.now()))));
    }
  }
  writeFileSync(ownerPath, JSON.stringify(me));
  let released = false;
  return {
    path,
    get lost() {
      return lost;
    },
    async release() {
      if (released) return;
      released = true;
      if (lost) return;
      rmSync(ownerPath, { force: true });
      await release();
    },
  };
}
