// Helpers for benchmarks that run the real service in a child process: a free port, a started child (`node --import tsx
// src/server.ts`, or another entry), its peak RSS from /proc, and a clean stop by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/net.js';

export { freePort };

export const root = fileURLToPath(new URL('..', import.meta.url));

export interface Started {
  child: ChildProcess;
  port: number;
  url: string;
}

/**
 * Starts `entry` (default src/server.ts, through tsx; with `compiled`, JavaScript as `npm start` runs it) with env and
 * waits for /readyz (or `ready`) to answer 200.
 */
export async function startService(
  env: NodeJS.ProcessEnv,
  opts: { entry?: string; nodeArgs?: string[]; ready?: string; compiled?: boolean; pollMs?: number } = {},
): Promise<Started> {
  const port = await freePort();
  const loader = opts.compiled ? [] : ['--import', 'tsx'];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...loader, opts.entry ?? 'src/server.ts'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'warn', ...env, PORT: String(port) },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}${opts.ready ?? '/readyz'}`)).status === 200) return { child, port, url };
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
  child.kill('SIGKILL');
  throw new Error('service did not start');
}

/** Peak resident set (VmHWM) of a process, in MB. */
export function peakRssMB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child has exited. */
export async function stopService(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Waits until every worker has compiled the revision (the compile histogram counts one per worker), asking for traces
 * several at once so that each worker gets some: no compile then runs during the measured seconds.
 */
export async function settled(url: string, workers: number, tracePath: () => string): Promise<void> {
  const compiles = async () => Number(/^pathtrace_compile_duration_seconds_count (\d+)/m.exec(await (await fetch(`${url}/metrics`)).text())?.[1] ?? 0);
  const deadline = Date.now() + 180_000;
  while ((await compiles()) < workers) {
    if (Date.now() > deadline) throw new Error(`the ${workers} workers did not all compile the revision within 180 s`);
    await Promise.all(Array.from({ length: 2 * workers }, () => fetch(`${url}${tracePath()}`).then((r) => r.arrayBuffer())));
  }
}
