// How a module of src/ is started as a worker thread: compiled JavaScript as served; under tsx (tests, `npm run dev`)
// its TypeScript source, through tsx's loader, which Node 20 does not hand down to workers by itself. And how a thread
// that works in the background gives the main thread the CPU first.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/** The `Worker` constructor's first argument and `eval` option for the module `name` beside the caller's module. */
export function threadSource(callerUrl: string, name: string): { code: string | URL; eval: boolean } {
  if (!callerUrl.endsWith('.ts')) return { code: new URL(`./${name}.js`, callerUrl), eval: false };
  const tsx = import.meta.resolve('tsx/esm/api');
  const module = new URL(`./${name}.ts`, callerUrl).href;
  return { code: `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(module)}); });`, eval: true };
}

/**
 * Lowers the calling thread's priority to `nice` so that the main thread, which answers every request (health checks
 * first among them), gets the CPU first when every core is busy: the workers that run heavy jobs (10), and the embedded
 * database's thread (5: a request may wait for its statement, but writing a 45 MB import held a core for a second while
 * health checks waited their turn). The light workers keep the main thread's priority: a trace takes microseconds, and
 * the main thread waits for it to answer its request (niced, on a machine busy with other work, each trace waited its
 * turn). Linux sets a nice value per thread (a thread id where setpriority takes a process id); elsewhere, or without
 * the right, the thread runs at normal priority.
 */
export function yieldToMainThread(nice: number): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid !== process.pid) setPriority(tid, nice);
  } catch {
    // Not Linux, or not allowed: the same work at the same priority.
  }
}
