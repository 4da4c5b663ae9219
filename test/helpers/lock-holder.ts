// A process that takes a data folder's lock, for the lock's tests: `lock-holder.ts DIR HOLD_MS [FREEZE_MS] [STALE_MS]`.
// Prints "locked" once it holds the lock, "lost" if another process takes it over, "refused: …" if it cannot have it;
// FREEZE_MS blocks its event loop right after locking (a process stuck in heavy work).
import { DataDirLockedError, lockDataDir } from '../../src/store/datadir-lock.js';

const [dir, hold, freeze = '0', stale = '20000'] = process.argv.slice(2);
try {
  const lock = await lockDataDir(dir!, { staleMs: Number(stale), waitMs: 0, onLost: () => console.log('lost') });
  console.log('locked');
  const until = Date.now() + Number(freeze);
  while (Date.now() < until) {
    // frozen
  }
  await new Promise((resolve) => setTimeout(resolve, Number(hold)));
  await lock.release();
} catch (err) {
  if (!(err instanceof DataDirLockedError)) throw err;
  console.log(`refused: ${err.message}`);
}
