// The throughput scenario's cheap-query client, in a process of its own (forked with IPC by
// throughput.ts): it measures the server's answer to `{ models { key } }`, not how late the
// load generator's own event loop (hundreds of createRun requests a second, and the tapped
// sandbox) lets a probe be sent and its answer be read. Commands from the parent:
// - { idle: n }: 20 warm-up probes, then n back to back; answers { idle: ms[] };
// - { start: true }: probes one per 25 ms at most until { stop: true }, keeping those sent
//   after { measure: true }; answers { underLoad: ms[] } on stop.
const url = process.argv[2];
if (!url || !process.send) throw new Error('usage: forked with IPC, the server URL as argument');
const send = (message: unknown) => process.send?.(message);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const body = JSON.stringify({ query: '{ models { key } }' });

async function probe(): Promise<number> {
  const t = performance.now();
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body,
  });
  const text = await res.text();
  if (!res.ok || text.includes('"errors"')) throw new Error(`models query failed: ${text}`);
  return performance.now() - t;
}

let phase: 'idle' | 'warm' | 'measure' | 'stop' = 'idle';
let loop: Promise<number[]> | null = null;

async function probeLoop(): Promise<number[]> {
  const underLoad: number[] = [];
  while (phase !== 'stop') {
    const measuring = phase === 'measure';
    const t = await probe();
    if (measuring && phase === 'measure') underLoad.push(t);
    await sleep(Math.max(0, 25 - t));
  }
  return underLoad;
}

process.on('message', (message: { idle?: number; start?: true; measure?: true; stop?: true }) => {
  void (async () => {
    if (message.idle !== undefined) {
      for (let i = 0; i < 20; i++) await probe();
      const idle: number[] = [];
      for (let i = 0; i < message.idle; i++) idle.push(await probe());
      send({ idle });
    } else if (message.start) {
      phase = 'warm';
      loop = probeLoop();
    } else if (message.measure) {
      phase = 'measure';
    } else if (message.stop) {
      phase = 'stop';
      send({ underLoad: (await loop) ?? [] });
      process.disconnect();
    }
  })().catch((error: unknown) => {
    send({ error: String(error) });
    process.exitCode = 1;
    process.disconnect();
  });
});
