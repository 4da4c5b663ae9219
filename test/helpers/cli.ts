// The service listening on a real port, and the CLI as it is shipped (dist/cli/pathtrace.js, built by `npm run build`,
// which `npm test` runs first) run against it as a child process.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTestApp, type TestApp } from './app.js';
import type { AppOptions } from '../../src/app.js';

export const CLI = fileURLToPath(new URL('../../dist/cli/pathtrace.js', import.meta.url));

export interface Served extends TestApp {
  url: string;
}

export async function serve(options: Omit<AppOptions, 'db'> = {}): Promise<Served> {
  const t = await openTestApp(options);
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
  return { ...t, url: address };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program with args, asynchronously (the service answering it runs in this process), with only the environment
 * given (and PATH): no PATHTRACE_* or NO_COLOR of the caller leaks in.
 */
export function runProgram(program: string, args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

export const pathtrace = (args: string[], env: Record<string, string | undefined> = {}, input?: string) =>
  runProgram(process.execPath, [CLI, ...args], env, input);

/** A folder of executables that tests put first on PATH (a fake kubectl, a fake ip); removed by the returned function. */
export function fakeBin(scripts: Record<string, string>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cli-bin-'));
  for (const [name, text] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
