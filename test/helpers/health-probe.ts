// Asks `<base>/healthz` every 20 ms until its stdin closes, then prints the latencies (ms) as JSON; it prints a line
// when the first answer came, so the test starts its heavy requests only once the probe is watching. It runs in a process
// of its own so that what the test process does meanwhile (building bodies, collecting garbage) is not counted as the
// service's latency.
//
// With each health check it asks, at the same moment, a trivial HTTP server in a process of its own (the control): a
// shared 2-core virtual machine now and then stalls every process for hundreds of milliseconds (the host, or other
// jobs), which says nothing of the service. Each sample is [service ms, control ms]: a sample whose control was slow
// too measured the machine, not the service's event loop.
import { spawn } from 'node:child_process';

const base = process.argv[2];
const control = spawn(
  process.execPath,
  ['-e', "const s = require('node:http').createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', () => console.log(s.address().port))"],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const controlPort = await new Promise<number>((resolve) => control.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));

let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => (stopping = true));

async function timed(url: string): Promise<number> {
  const sent = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return performance.now() - sent;
}

const samples: [number, number][] = [];
while (!stopping) {
  const [service, machine] = await Promise.all([timed(`${base}/healthz`), timed(`http://127.0.0.1:${controlPort}/`)]);
  samples.push([service, machine]);
  if (samples.length === 1) process.stderr.write('watching\n');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
control.kill();
process.stdout.write(JSON.stringify(samples));
