// Benchmarks on a started server with the bundled sandbox (step delay 0, so the numbers are
// Atelier's own overhead): upload throughput and memory, createRun latency, run
// throughput and end-to-end latency. `npm run bench` prints a Markdown table to append to
// bench/RESULTS.md, then runs issue 11's speed scenarios (bench/speed.ts, each beside its
// baseline; BENCH_SPEED=0 skips them). Loopback only, bounded in count and time.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { createRunOk, watchRunWs } from '../packages/server/test/fixtures/runs.ts';
import { uploadOk } from '../packages/server/test/fixtures/upload.ts';
import { startTestServer } from '../packages/server/test/harness.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 20);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}
const ms = (n: number) => `${n.toFixed(0)} ms`;

const server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0', LOG_LEVEL: 'error' });
const rows: [string, string][] = [];
try {
  // Uploads: distinct 2048x1536 JPEGs (no dedup), one at a time.
  const images = await Promise.all(
    Array.from({ length: UPLOADS }, (_, i) =>
      sharp({
        create: {
          width: 2048,
          height: 1536,
          channels: 3,
          background: { r: i * 9, g: 90, b: 200 - i },
        },
      })
        .jpeg({ quality: 90 })
        .toBuffer(),
    ),
  );
  const rssBefore = process.memoryUsage().rss;
  const uploadTimes: number[] = [];
  for (const image of images) {
    const t = performance.now();
    await uploadOk(server.url, image, { filename: 'bench.jpg' });
    uploadTimes.push(performance.now() - t);
  }
  const rssAfter = process.memoryUsage().rss;
  rows.push([
    'upload 3 MP JPEG, p50 / p95',
    `${ms(percentile(uploadTimes, 50))} / ${ms(percentile(uploadTimes, 95))}`,
  ]);
  rows.push(['RSS growth over the uploads', `${((rssAfter - rssBefore) / 1e6).toFixed(1)} MB`]);

  // Runs: all created at once, 2 sampler steps, 256 px.
  const input = {
    mode: 'TEXT_TO_IMAGE',
    model: 'flux1-dev',
    prompt: 'benchmark',
    parameters: { steps: 2, width: 256, height: 256 },
  };
  // createRun on an idle server, one at a time (each run is awaited before the next).
  const idleCreate: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    const run = await createRunOk(server, input);
    idleCreate.push(performance.now() - t);
    await watchRunWs(server, run.id);
  }
  rows.push([
    'createRun latency, idle server, p50 / p95',
    `${ms(percentile(idleCreate, 50))} / ${ms(percentile(idleCreate, 95))}`,
  ]);

  const createTimes: number[] = [];
  const started = performance.now();
  const runs = await Promise.all(
    Array.from({ length: RUNS }, async () => {
      const t = performance.now();
      const run = await createRunOk(server, input);
      createTimes.push(performance.now() - t);
      const created = performance.now();
      const events = await watchRunWs(server, run.id, { timeoutMs: 300_000 });
      return { latency: performance.now() - created, status: events.at(-1)!.run.status };
    }),
  );
  const total = performance.now() - started;
  const failed = runs.filter((r) => r.status !== 'SUCCEEDED').length;
  rows.push([
    `createRun latency, ${RUNS} at once, p50 / p95`,
    `${ms(percentile(createTimes, 50))} / ${ms(percentile(createTimes, 95))}`,
  ]);
  rows.push([
    `${RUNS} runs end to end, p50 / p95 (queued together)`,
    `${ms(
      percentile(
        runs.map((r) => r.latency),
        50,
      ),
    )} / ${ms(
      percentile(
        runs.map((r) => r.latency),
        95,
      ),
    )}`,
  ]);
  rows.push([
    'throughput (1 sandbox worker, 0 ms steps)',
    `${((RUNS / total) * 1000).toFixed(1)} runs/s`,
  ]);
  rows.push(['runs not SUCCEEDED', String(failed)]);
} finally {
  await server.stop();
}

console.log(
  `\n### ${new Date().toISOString().slice(0, 10)} — ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.env.ATELIER_TEST_DB ?? 'pglite'}\n`,
);
console.log('| measure | result |\n|---|---|');
for (const [name, value] of rows) console.log(`| ${name} | ${value} |`);

if (process.env.BENCH_SPEED !== '0') {
  // In a process of its own: it spawns the servers it measures and needs PostgreSQL
  // (TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres).
  const speed = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'speed.ts'), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  if (speed.status !== 0) process.exitCode = speed.status ?? 1;
}
