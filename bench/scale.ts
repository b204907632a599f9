// Scale-out benchmark: throughput of a cluster (one API replica, `atelier serve --no-worker`,
// plus 1, 2 or 4 `atelier worker` processes, each a child process) over 4 ComfyUI sandboxes
// at 200 ms per sampler step, on a fresh PostgreSQL database and Redis prefix per
// configuration. Each configuration gets a warm-up, then RUNS runs created at once; the
// result is compared with the ideal (RUNS × job time / 4 servers, job time being the
// sandbox's median execution time). Each sandbox's queue is watched over its WebSocket
// (status broadcasts) to check that it never holds more than 2 of our prompts.
//
//   TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres node --import tsx bench/scale.ts
//
// BENCH_RUNS (default 40), BENCH_SHARED=0 to skip the shared variant, BENCH_APPEND=0 to only
// print the table (otherwise it is appended to bench/RESULTS.md). Exits non-zero when a run
// fails, a configuration does not finish in time, or a ComfyUI gets more than 2 prompts.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { type Sandbox, startSandbox } from '@atelier/comfyui-sandbox';
import { Redis } from 'ioredis';
import WebSocket from 'ws';
import { derivedClientId } from '../packages/server/src/comfyui/pool.ts';
import { loadConfig } from '../packages/server/src/config.ts';
import { REPO_ROOT } from '../packages/server/src/db/paths.ts';
import { createDatabase } from './speed/lib.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 40);
const WARMUP_RUNS = 8;
const STEPS = 4;
const STEP_DELAY_MS = 200;
const SANDBOXES = 4;
const SLOTS_PER_COMFYUI = 2;
const DEADLINE_MS = 120_000;
const APPEND = process.env.BENCH_APPEND !== '0';
const SHARED = process.env.BENCH_SHARED !== '0';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const BIN = path.join(REPO_ROOT, 'packages/server/bin/atelier.mjs');

interface Layout {
  label: string;
  /** Per worker process: indexes of the sandboxes in its COMFYUI_URLS. */
  workers: number[][];
}

const LAYOUTS: Layout[] = [
  { label: '1 worker × 4 ComfyUI', workers: [[0, 1, 2, 3]] },
  {
    label: '2 workers × 2 ComfyUI',
    workers: [
      [0, 1],
      [2, 3],
    ],
  },
  { label: '4 workers × 1 ComfyUI', workers: [[0], [1], [2], [3]] },
  ...(SHARED
    ? [
        {
          label: '2 workers × all 4 ComfyUI (shared)',
          workers: [
            [0, 1, 2, 3],
            [0, 1, 2, 3],
          ],
        },
      ]
    : []),
];

// ---- helpers ----

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  if (!sorted.length) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Every child process started, so that even a crash of the bench leaves none behind. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping (the databases of an interrupted row are left behind)`);
    process.exit(130);
  });
}

interface AtelierProcess {
  url: string | null;
  log(): string;
  dispose(): Promise<void>;
}

/** `atelier <args>` as a child process with its own ATELIER_HOME; resolves once it is ready. */
async function startAtelier(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 90_000,
): Promise<AtelierProcess> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'atelier-bench-'));
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? home,
      ATELIER_HOME: home,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  let log = '';
  let url: string | null = null;
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    log += chunk;
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      children.delete(child);
      resolve();
    }),
  );
  const dispose = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(home, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`atelier ${args[0]} not ready in ${timeoutMs} ms:\n${log}`)),
        timeoutMs,
      );
      const check = () => {
        url ??= /Atelier listening on (\S+) /.exec(log)?.[1] ?? null;
        if (url || log.includes('Atelier worker ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stderr!.on('data', check);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`atelier ${args[0]} exited early:\n${log}`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    await dispose();
    throw error;
  }
  return { url, log: () => log, dispose };
}

async function gql<T>(api: string, query: string, variables?: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${api}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { data?: T; errors?: { message: string }[] };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`GraphQL answered ${res.status} with non-JSON: ${text.slice(0, 300)}`);
  }
  if (body.errors?.length || !body.data) {
    throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)} for ${query.slice(0, 80)}`);
  }
  return body.data;
}

const CREATE_RUN = `mutation($input: CreateRunInput!) { createRun(input: $input) {
  __typename ... on CreateRunSuccess { run { id } } ... on Error { code message } } }`;

async function createRun(api: string, prompt: string): Promise<string> {
  const data = await gql<{
    createRun: { __typename: string; run?: { id: string }; code?: string; message?: string };
  }>(api, CREATE_RUN, {
    input: {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt,
      parameters: { steps: STEPS, width: 256, height: 256 },
    },
  });
  const result = data.createRun;
  if (!result.run)
    throw new Error(`createRun: ${result.__typename} ${result.code} ${result.message}`);
  return result.run.id;
}

interface RunView {
  id: string;
  status: string;
  worker: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  error: { code: string; message: string } | null;
}

async function getRuns(api: string, ids: string[]): Promise<RunView[]> {
  const fields = 'id status worker startedAt finishedAt error { code message }';
  const out: RunView[] = [];
  // The server allows 30 aliases per operation.
  for (let start = 0; start < ids.length; start += 20) {
    const chunk = ids.slice(start, start + 20);
    const query = `query { ${chunk.map((id, i) => `r${i}: run(id: ${JSON.stringify(id)}) { ${fields} }`).join(' ')} }`;
    const data = await gql<Record<string, RunView>>(api, query);
    out.push(...chunk.map((_, i) => data[`r${i}`]!));
  }
  return out;
}

/** Waits until the cluster has nothing queued or running; the time it saw that. */
async function drain(api: string, deadline: number): Promise<number> {
  for (;;) {
    const { queue } = await gql<{ queue: { queued: number; running: number } }>(
      api,
      '{ queue { queued running } }',
    );
    if (queue.queued === 0 && queue.running === 0) return Date.now();
    if (Date.now() > deadline) {
      throw new Error(
        `not drained by the deadline: ${queue.queued} queued, ${queue.running} running`,
      );
    }
    await sleep(100);
  }
}

/** Follows a sandbox's status broadcasts: the most prompts it held at once (queued + running). */
class QueueWatch {
  max = 0;
  private readonly ws: WebSocket;
  private constructor(sandbox: Sandbox) {
    this.ws = new WebSocket(sandbox.wsUrl(`bench-watch-${randomBytes(4).toString('hex')}`));
    this.ws.on('message', (raw, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(String(raw)) as {
        type: string;
        data?: { status?: { exec_info?: { queue_remaining?: number } } };
      };
      const n = msg.data?.status?.exec_info?.queue_remaining;
      if (msg.type === 'status' && typeof n === 'number') this.max = Math.max(this.max, n);
    });
  }
  static async open(sandbox: Sandbox): Promise<QueueWatch> {
    const watch = new QueueWatch(sandbox);
    await new Promise<void>((resolve, reject) => {
      watch.ws.once('open', () => resolve());
      watch.ws.once('error', reject);
    });
    return watch;
  }
  close(): void {
    this.ws.close();
  }
}

/** Deletes the keys the cluster left in Redis under `prefix` (BullMQ queues, slot sets). */
async function dropRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// ---- one configuration ----

interface Result {
  layout: Layout;
  jobMs: number;
  idealMs: number;
  wallMs: number;
  busyShare: number;
  perComfy: number[];
  perProcess: number[];
  maxInFlight: number[];
  failed: number;
  startLagMs: number;
  tailMs: number;
  gapMs: number;
  solo?: { execMs: number; e2eMs: number };
}

async function measure(
  layout: Layout,
  sandboxes: Sandbox[],
  watches: QueueWatch[],
  options: { solo: boolean },
): Promise<Result> {
  const db = await createDatabase();
  const prefix = `atelier-bench-${randomBytes(4).toString('hex')}`;
  const processes: AtelierProcess[] = [];
  try {
    const env = { DATABASE_URL: db.url, REDIS_URL, REDIS_PREFIX: prefix };
    // The API replica migrates the database; the workers start once it is up to date.
    const apiProcess = await startAtelier(['serve', '--no-worker'], env);
    processes.push(apiProcess);
    const api = apiProcess.url!;
    const started = await Promise.allSettled(
      layout.workers.map(async (indexes) => {
        const p = await startAtelier(['worker'], {
          ...env,
          COMFYUI_URLS: indexes.map((i) => sandboxes[i]!.url).join(','),
        });
        processes.push(p);
        return p;
      }),
    );
    const workers: AtelierProcess[] = [];
    for (const s of started) {
      if (s.status === 'rejected') throw s.reason;
      workers.push(s.value);
    }
    // Each process sends its prompts with a client_id derived from its instance id and the
    // ComfyUI URL: that tells, on the sandbox, which process sent a prompt.
    const clientIds = workers.map((w, i) => {
      const instance = /Atelier worker ready \{"instance":"([^"]+)"/.exec(w.log())?.[1];
      if (!instance) throw new Error(`no instance id in the worker log:\n${w.log()}`);
      return new Set(layout.workers[i]!.map((s) => derivedClientId(instance, sandboxes[s]!.url)));
    });
    // Every process registered and every ComfyUI healthy before the clock starts.
    const ready = Date.now() + 60_000;
    for (;;) {
      const { queue } = await gql<{
        queue: { workers: { healthy: boolean }[]; processes: { id: string }[] };
      }>(api, '{ queue { workers { healthy } processes { id } } }');
      if (
        queue.processes.length === layout.workers.length &&
        queue.workers.filter((w) => w.healthy).length === SANDBOXES
      ) {
        break;
      }
      if (Date.now() > ready) throw new Error(`cluster not ready: ${JSON.stringify(queue)}`);
      await sleep(200);
    }

    // Warm-up: every process and ComfyUI has done a few runs (JIT, connections, caches).
    const warm = await Promise.all(
      Array.from({ length: WARMUP_RUNS }, (_, i) => createRun(api, `warm-up ${i}`)),
    );
    await drain(api, Date.now() + DEADLINE_MS);
    const warmFailed = (await getRuns(api, warm)).filter((r) => r.status !== 'SUCCEEDED');
    if (warmFailed.length) throw new Error(`warm-up runs failed: ${JSON.stringify(warmFailed)}`);

    let solo: Result['solo'];
    if (options.solo) {
      for (const s of sandboxes) s.resetStats();
      const t = Date.now();
      const id = await createRun(api, 'solo');
      await drain(api, Date.now() + DEADLINE_MS);
      const [run] = await getRuns(api, [id]);
      if (run!.status !== 'SUCCEEDED') throw new Error(`solo run: ${JSON.stringify(run)}`);
      const entry = sandboxes.flatMap((s) => s.stats().log)[0]!;
      solo = { execMs: entry.endedAt - entry.startedAt, e2eMs: Date.parse(run!.finishedAt!) - t };
    }

    for (const s of sandboxes) s.resetStats();
    for (const w of watches) w.max = 0;
    const t0 = Date.now();
    const ids = await Promise.all(
      Array.from({ length: RUNS }, (_, i) => createRun(api, `bench ${i}`)),
    );
    await drain(api, t0 + DEADLINE_MS);
    const runs = await getRuns(api, ids);
    const failed = runs.filter((r) => r.status !== 'SUCCEEDED');
    for (const r of failed) console.error(`run ${r.id}: ${r.status} ${JSON.stringify(r.error)}`);
    const finishedAt = Math.max(...runs.map((r) => Date.parse(r.finishedAt ?? '') || Date.now()));
    const wallMs = finishedAt - t0;

    const logs = sandboxes.map((s) => s.stats().log.filter((e) => e.outcome === 'success'));
    const all = logs.flat();
    const exec = all.map((e) => e.endedAt - e.startedAt);
    const jobMs = median(exec);
    const idealMs = (RUNS * jobMs) / SANDBOXES;
    const ids2 = new Set(all.map((e) => e.promptId));
    if (all.length !== RUNS || ids2.size !== RUNS) {
      console.error(`${layout.label}: ${all.length} prompts executed (${ids2.size} distinct)`);
    }
    // Where the time beyond the ideal went: before each ComfyUI's first prompt, between its
    // prompts, and after the last prompt ended until the last run was SUCCEEDED.
    const used = logs.filter((l) => l.length);
    const startLagMs = median(used.map((l) => Math.min(...l.map((e) => e.startedAt)) - t0));
    const lastEnd = Math.max(...all.map((e) => e.endedAt));
    const gapMs = sum(
      used.map((l) => {
        const sorted = [...l].sort((a, b) => a.startedAt - b.startedAt);
        return sum(sorted.slice(1).map((e, i) => Math.max(0, e.startedAt - sorted[i]!.endedAt)));
      }),
    );
    return {
      layout,
      jobMs,
      idealMs,
      wallMs,
      busyShare: sum(exec) / (SANDBOXES * wallMs),
      perComfy: logs.map((l) => l.length),
      perProcess: clientIds.map((set) => all.filter((e) => set.has(e.clientId ?? '')).length),
      maxInFlight: watches.map((w) => w.max),
      failed: failed.length + Math.max(0, RUNS - all.length),
      startLagMs,
      tailMs: finishedAt - lastEnd,
      gapMs,
      ...(solo ? { solo } : {}),
    };
  } catch (error) {
    for (const p of processes) console.error(`--- log of a process ---\n${p.log().slice(-4000)}`);
    throw error;
  } finally {
    for (const p of processes.reverse()) await p.dispose();
    await db.drop();
    await dropRedisKeys(prefix);
  }
}

// ---- main ----

const sandboxDir = await mkdtemp(path.join(os.tmpdir(), 'atelier-bench-sandboxes-'));
const sandboxes: Sandbox[] = [];
const watches: QueueWatch[] = [];
const results: Result[] = [];
let ok = false;
try {
  const catalogDir = path.join(loadConfig({}).catalogDir, 'models');
  for (let i = 0; i < SANDBOXES; i++) {
    sandboxes.push(
      await startSandbox({
        port: 0,
        host: '127.0.0.1',
        stepDelayMs: STEP_DELAY_MS,
        catalogDir,
        baseDir: path.join(sandboxDir, String(i)),
        log: false,
      }),
    );
    watches.push(await QueueWatch.open(sandboxes[i]!));
  }
  for (const [i, layout] of LAYOUTS.entries()) {
    const started = Date.now();
    const result = await measure(layout, sandboxes, watches, { solo: i === 0 });
    results.push(result);
    console.error(
      `${layout.label}: wall ${secs(result.wallMs)}, ideal ${secs(result.idealMs)}, ` +
        `per ComfyUI ${result.perComfy.join('/')}, max in flight ${result.maxInFlight.join('/')} ` +
        `(${secs(Date.now() - started)} with start-up)`,
    );
  }
  ok = results.every((r) => r.failed === 0 && r.maxInFlight.every((n) => n <= SLOTS_PER_COMFYUI));
} finally {
  for (const w of watches) w.close();
  for (const s of sandboxes) await s.stop();
  await rm(sandboxDir, { recursive: true, force: true });
}

const solo = results[0]?.solo;
const lines = [
  '',
  `### ${new Date().toISOString().slice(0, 10)} — scale-out: worker processes over 4 sandboxes`,
  '',
  `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, PostgreSQL + Redis (BullMQ). ` +
    `\`node --import tsx bench/scale.ts\`: one API replica (\`serve --no-worker\`) and N \`atelier worker\` ` +
    `processes (child processes), 4 ComfyUI sandboxes in the bench process at ${STEP_DELAY_MS} ms per step; ` +
    `${RUNS} text-to-image runs (${STEPS} steps, 256 px) created at once after ${WARMUP_RUNS} warm-up runs, ` +
    'fresh database and Redis prefix per row. Job time: median of the sandboxes’ own execution times ' +
    `(endedAt − startedAt) in that row${solo ? `; one run alone took ${solo.execMs} ms on its sandbox, ${solo.e2eMs} ms from createRun to finishedAt` : ''}. ` +
    `Ideal = ${RUNS} × job time / 4; wall = first createRun sent → last run’s finishedAt; ratio = ideal / wall ` +
    '(1.00 = every ComfyUI busy from the first moment to the last). Busy = sandbox execution time / (4 × wall). ' +
    'Lost time: start lag (median, createRun burst → a ComfyUI’s first prompt), idle gaps between prompts ' +
    '(sum over the 4), tail (last prompt ended → last run SUCCEEDED). Max in flight: the most prompts a ' +
    'sandbox held at once (queued + running, from its status broadcasts; the limit is 2). Runs per ' +
    'process: told apart on the sandboxes by the client_id each process derives from its instance id.',
  '',
  '| configuration | job time | ideal | wall | runs/s | ratio | busy | start lag / gaps / tail | runs per ComfyUI | runs per process | max in flight | not SUCCEEDED |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map(
    (r) =>
      `| ${r.layout.label} | ${r.jobMs.toFixed(0)} ms | ${secs(r.idealMs)} | ${secs(r.wallMs)} | ` +
      `${((RUNS / r.wallMs) * 1000).toFixed(2)} | ${(r.idealMs / r.wallMs).toFixed(2)} | ` +
      `${(r.busyShare * 100).toFixed(0)} % | ${r.startLagMs.toFixed(0)} / ${r.gapMs.toFixed(0)} / ${r.tailMs.toFixed(0)} ms | ` +
      `${r.perComfy.join(' / ')} | ${r.perProcess.join(' / ')} | ${r.maxInFlight.join(' / ')} | ${r.failed} |`,
  ),
  '',
];
console.log(lines.join('\n'));
if (!ok) {
  console.error('FAILED: runs not SUCCEEDED or more than 2 prompts on a ComfyUI (see above)');
  process.exitCode = 1;
} else if (APPEND) {
  await appendFile(path.join(REPO_ROOT, 'bench/RESULTS.md'), lines.join('\n'));
  console.error('appended to bench/RESULTS.md');
}
