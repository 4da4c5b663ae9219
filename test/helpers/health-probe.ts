// Asks `<base>/healthz` every 20 ms until its stdin closes, then prints the latencies (ms) as JSON; it prints a line
// when the first answer came, so the test starts its heavy requests only once the probe is watching. It runs in a process
// of its own so that what the test process does meanwhile (building bodies, collecting garbage) is not counted as the
// service's latency.
const base = process.argv[2];
let stopping = false;
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => (stopping = true));
const latencies: number[] = [];
while (!stopping) {
  const sent = performance.now();
  const res = await fetch(`${base}/healthz`);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`/healthz answered ${res.status}`);
  latencies.push(performance.now() - sent);
  if (latencies.length === 1) process.stderr.write('watching\n');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
process.stdout.write(JSON.stringify(latencies));
