#!/usr/bin/env node
// `pathtrace`: the service from a terminal (`npx pathtrace …`), and a kubectl plugin (`kubectl pathtrace …`) when this file
// is on PATH as kubectl-pathtrace (package.json's bin installs both names).
import { basename } from 'node:path';
import { ApiError, ConnectionError, type ProblemDoc } from './pathtrace/client.js';
import {
  diff,
  dump,
  EXIT_API_ERROR,
  EXIT_UNAVAILABLE,
  EXIT_UNKNOWN_DISPOSITION,
  EXIT_USAGE,
  importCommand,
  matrix,
  trace,
  TRACE_EXIT_CODES,
  type Context,
} from './pathtrace/commands.js';
import { CommandError, UsageError } from './pathtrace/errors.js';
import { styleFor } from './pathtrace/terminal.js';

const program = basename(process.argv[1] ?? 'pathtrace').replace(/\.js$/, '') === 'kubectl-pathtrace' ? 'kubectl pathtrace' : 'pathtrace';

const drops = Object.entries(TRACE_EXIT_CODES)
  .filter(([, code]) => code !== 0)
  .map(([d, code]) => `${code} ${d}`)
  .join(', ');

const USAGE = `usage: ${program} <command> [options]

  trace <from> <to>      trace a packet (pods as namespace/name or a bare name, nodes, netns, addresses)
      [--port N] [--protocol icmp|tcp|udp] [--family 4|6] [--revision R] [--format text|json]
      (a port alone means tcp)
  matrix                 which pods reach which  [--namespace NS] [--node NODE] [--revision R]
      [--port N] [--protocol icmp|tcp|udp|sctp] [--format text|json|csv|svg]
      [--services]   (pods by Service ports: which pod reaches which Service on which port)
      (json: one object per pair, {from, to, disposition, …}; csv: the same columns)
  diff [<rev> [<rev>]]   what changed between two revisions (default: the newest and the one before)
      [--namespace NS] [--node NODE] [--format text|json]
  import --kubectl       ask kubectl for what the import reads (nodes, pods, namespaces, Services, EndpointSlices,
                         NetworkPolicies; kube-proxy's and the CNI's ConfigMaps, IPPools, AdminNetworkPolicies
                         where the cluster has them) and upload it as one List (creates or replaces)
      [--context C] [--kubeconfig F] [--cni P] [--mode M] [--description D] [--format text|json]
  import FILE|-          upload a List that kubectl printed, from a file or stdin
  import --dumps FILE…   upload the lines of pathtrace dump of every node as one fabric (- or nothing: stdin)
  dump                   print the ip -j dumps of this node and its network namespaces, one JSON line each
      [--name NODE] [--output FILE]   (as root; the node's name defaults to the host name)

Every command but dump takes --topology NAME (or PATHTRACE_TOPOLOGY), --url URL (or PATHTRACE_URL, default
http://127.0.0.1:8080) and --token TOKEN (or PATHTRACE_TOKEN). Colour on a terminal unless NO_COLOR is set.

Exit codes: 0 success (for trace: DELIVERED or EXITS_NETWORK); for trace, a dropped packet: ${drops},
${EXIT_UNKNOWN_DISPOSITION} a disposition this version does not know; ${EXIT_API_ERROR} the service answered with an error; ${EXIT_USAGE} a wrong command line;
${EXIT_UNAVAILABLE} the service could not be reached, or kubectl or ip failed.
`;

const COMMANDS: Record<string, (ctx: Context, args: string[]) => Promise<number>> = { trace, matrix, diff, import: importCommand, dump };

/** A problem document as a person reads it: what went wrong, where, and what may have been meant. */
function describeProblem(status: number, message: string, p: ProblemDoc | undefined): string {
  const lines = [`${p?.title ?? 'error'} (HTTP ${status}): ${message}`];
  for (const e of p?.errors ?? []) {
    const where = e.parameter ?? (e.pointer !== undefined ? e.pointer || '(the whole body)' : undefined);
    if (e.detail !== message || where === undefined) lines.push(`  ${where ?? ''}${where ? ': ' : ''}${e.detail}`);
  }
  if (p?.candidates?.length) lines.push(`  did you mean: ${p.candidates.join(', ')}?`);
  if (p?.currentRevision !== undefined) lines.push(`  the topology is at revision ${p.currentRevision}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const ctx: Context = { program, env: process.env, stdout: process.stdout, stderr: process.stderr };
  const [name, ...args] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    (name === undefined ? process.stderr : process.stdout).write(USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`${program}: there is no command ${name}\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const red = styleFor(process.stderr, process.env);
  try {
    return await command(ctx, args);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${program} ${name}: ${err.message}\n(${program} help tells more)\n`);
      return EXIT_USAGE;
    }
    if (err instanceof ApiError) {
      process.stderr.write(`${red('red', `${program} ${name}:`)} ${describeProblem(err.status, err.message, err.problem)}\n`);
      return EXIT_API_ERROR;
    }
    if (err instanceof ConnectionError || err instanceof CommandError) {
      process.stderr.write(`${red('red', `${program} ${name}:`)} ${err.message}\n`);
      return EXIT_UNAVAILABLE;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
