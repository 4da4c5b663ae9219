// README's "From a terminal" section, run as a reader types it in this folder (`npx pathtrace …`), against the service,
// with a kubectl on PATH that prints the cluster the README's import section uses: every command succeeds, and prints
// what the README shows, up to its "…".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fakeBin, runProgram, serve, type Served } from '../helpers/cli.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let s: Served;
before(async () => {
  s = await serve();
});
after(() => s.close());

/** The commands of the section's code blocks, each with the comment lines below it. */
function commands(): { command: string; shows: string[] }[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## From a terminal');
  assert.ok(start > 0, 'README has a "From a terminal" section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const out: { command: string; shows: string[] }[] = [];
  for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.trimEnd().split('\n')) {
      if (line.startsWith('#')) out.at(-1)!.shows.push(line.replace(/^# ?/, ''));
      else out.push({ command: line, shows: [] });
    }
  }
  return out;
}

test('README: the three commands run, in this folder, and print what the README shows', async () => {
  const list = fileURLToPath(new URL('../fixtures/kubernetes/flannel-host-gw.json', import.meta.url));
  // The cluster's objects for the import's first command; the kinds it asks for apart, a cluster without them (nothing).
  const bin = fakeBin({ kubectl: `#!/bin/sh\ncase "$*" in *nodes,pods,*) exec cat "${list}" ;; esac\n` });
  try {
    const all = commands();
    assert.equal(all.length, 3);
    for (const { command, shows } of all) {
      assert.match(command, /^npx pathtrace /);
      const r = await runProgram('bash', ['-c', `cd '${root}' && ${command}`], { PATH: `${bin.dir}:${process.env.PATH}`, HOME: process.env.HOME, PATHTRACE_URL: s.url });
      assert.equal(r.code, 0, `${command}\n${r.stderr}`);
      const printed = r.stdout.split('\n');
      shows.forEach((line, i) => assert.ok(printed[i]?.startsWith(line.split('…')[0]!), `${command}\nREADME shows: ${line}\nit prints:    ${printed[i]}`));
    }
  } finally {
    bin.remove();
  }
});
