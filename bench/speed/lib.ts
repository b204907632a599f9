// Shared pieces of the speed benchmarks (bench/speed.ts): where the server under test lives
// (ATELIER_ROOT), starting it as a child process on a loopback port, PostgreSQL databases of
// our own, percentiles, a GraphQL client, and the in-process sandboxes with a tap on the
// messages they send.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type Sandbox, startSandbox } from '../../packages/comfyui-sandbox/src/index.ts';

/** The repository whose server is measured: ATELIER_ROOT, else the one this file is in. */
export const ROOT = path.resolve(
  process.env.ATELIER_ROOT ?? path.join(import.meta.dirname, '../..'),
);
export const BENCH_DIR = path.resolve(import.meta.dirname, '..');
export const PG_BASE_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgresql://postgres@127.0.0.1:5432/postgres';
export const CATALOG_MODELS = path.join(ROOT, 'packages/server/catalog/models');

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Wall-clock milliseconds with sub-millisecond resolution (comparable across processes). */
export const now = () => performance.timeOrigin + performance.now();

export function percentile(values: number[], p: number): number {
  if (!values.length) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}
export const median = (values: number[]) => percentile(values, 50);
export const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
export const fmtMs = (n: number, digits = 0) =>
  Number.isFinite(n) ? `${n.toFixed(digits)} ms` : '—';
export const ratio = (a: number, b: number) =>
  Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '—';

/** Every child process started, so that a crash of the bench leaves none behind. */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** An empty PostgreSQL database of our own, dropped by `drop()`. */
export async function createDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `bench_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_BASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(PG_BASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: PG_BASE_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Resident set size of a process, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

export interface ChildServer {
  url: string;
  pid: number;
  child: ChildProcess;
  log(): string;
  stop(): Promise<void>;
}

async function waitReady(
  url: string,
  child: ChildProcess,
  log: () => string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`server exited early (${child.exitCode ?? child.signalCode}):\n${log()}`);
    }
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`server not ready in ${timeoutMs} ms:\n${log()}`);
    await sleep(50);
  }
}

function spawnChild(
  command: string[],
  env: Record<string, string>,
  execArgv: string[] = [],
): { child: ChildProcess; log: () => string } {
  const child = track(
    spawn(process.execPath, [...execArgv, ...command], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    }),
  );
  let log = '';
  const keep = (chunk: Buffer) => {
    log += chunk.toString('utf8');
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, log: () => log };
}

/** SIGTERM, then SIGKILL after 20 s; resolves when the child has exited. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

/**
 * BENCH_SERVER_NODE_FLAGS: node flags for every Atelier server a scenario starts, e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the server under a scenario's load.
 */
function serverNodeFlags(): string[] {
  return (process.env.BENCH_SERVER_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
}

export interface AtelierOptions {
  db: 'postgres' | 'pglite';
  env?: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  execArgv?: string[];
}

/**
 * `node packages/server/bin/atelier.mjs serve` of ROOT as a child process: its own
 * ATELIER_HOME, its own PostgreSQL database or an on-disk PGlite, a free loopback port;
 * resolves once /readyz answers 200. Limits that would refuse a benchmark's load (requests
 * per minute, queued runs per account) are lifted. With COMFYUI_URLS it runs as the README's
 * production install does, with NODE_ENV=production (graphql-js and Pothos skip their
 * development checks); without, on the bundled sandbox, which production refuses.
 */
export async function startAtelier(options: AtelierOptions): Promise<ChildServer> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'atelier-speed-'));
  const db = options.db === 'postgres' ? await createDatabase() : null;
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child, log } = spawnChild(
    [path.join(ROOT, 'packages/server/bin/atelier.mjs'), 'serve'],
    {
      ATELIER_HOME: home,
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      NODE_ENV: options.env?.COMFYUI_URLS ? 'production' : '',
      RATE_LIMIT_PER_MINUTE: '0',
      MAX_QUEUED_RUNS_PER_ACCOUNT: '1000000',
      ...(db ? { DATABASE_URL: db.url } : {}),
      ...options.env,
    },
    [...(options.execArgv ?? []), ...serverNodeFlags()],
  );
  const stop = async () => {
    await stopChild(child);
    await db?.drop();
    await rm(home, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, log, 180_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, pid: child.pid!, child, log, stop };
}

/** bench/speed/bare-server.ts (a bare graphql-yoga + graphql-ws server) as a child process. */
export async function startBare(): Promise<ChildServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const { child, log } = spawnChild(
    [path.join(BENCH_DIR, 'speed/bare-server.ts')],
    // Production mode like the Atelier servers it is compared with.
    { PORT: String(port), NODE_ENV: 'production' },
    ['--import', 'tsx'],
  );
  try {
    await waitReady(url, child, log, 60_000);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { url, pid: child.pid!, child, log, stop: () => stopChild(child) };
}

export interface GqlResult<T> {
  data?: T;
  errors?: { message: string }[];
}

export async function gql<T>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GqlResult<T>;
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

export const CREATE_RUN = /* GraphQL */ `mutation Create($input: CreateRunInput!) {
  createRun(input: $input) { __typename ... on CreateRunSuccess { run { id } } ... on Error { code message } } }`;

export function runInput(prompt: string, steps: number, extra: Record<string, unknown> = {}) {
  return {
    mode: 'TEXT_TO_IMAGE',
    model: 'flux1-dev',
    prompt,
    parameters: { steps, width: 256, height: 256 },
    ...extra,
  };
}

export async function createRun(url: string, input: Record<string, unknown>): Promise<string> {
  const data = await gql<{
    createRun: { __typename: string; run?: { id: string }; code?: string; message?: string };
  }>(url, CREATE_RUN, { input });
  if (!data.createRun.run) throw new Error(`createRun refused: ${JSON.stringify(data.createRun)}`);
  return data.createRun.run.id;
}

/** Statuses of runs, 20 aliases per request (the server allows 30). */
export async function runStatuses(
  url: string,
  ids: string[],
): Promise<{ id: string; status: string; finishedAt: string | null }[]> {
  const out: { id: string; status: string; finishedAt: string | null }[] = [];
  for (let start = 0; start < ids.length; start += 20) {
    const chunk = ids.slice(start, start + 20);
    const query = `query { ${chunk
      .map((id, i) => `r${i}: run(id: ${JSON.stringify(id)}) { id status finishedAt }`)
      .join(' ')} }`;
    const data = await gql<
      Record<string, { id: string; status: string; finishedAt: string | null }>
    >(url, query);
    out.push(...chunk.map((_, i) => data[`r${i}`]!));
  }
  return out;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELED']);

/** Polls until every run is finished; returns their statuses. */
export async function waitRuns(url: string, ids: string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await runStatuses(url, ids);
    if (runs.every((r) => TERMINAL.has(r.status))) return runs;
    if (Date.now() > deadline) {
      const open = runs.filter((r) => !TERMINAL.has(r.status)).length;
      throw new Error(`${open} of ${ids.length} runs not finished in ${timeoutMs} ms`);
    }
    await sleep(250);
  }
}

/** Waits until the server reports `count` healthy ComfyUI workers. */
export async function waitWorkers(url: string, count: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { queue } = await gql<{ queue: { workers: { healthy: boolean }[] } }>(
      url,
      '{ queue { workers { healthy } } }',
    );
    if (queue.workers.filter((w) => w.healthy).length >= count) return;
    if (Date.now() > deadline) throw new Error(`workers not healthy: ${JSON.stringify(queue)}`);
    await sleep(100);
  }
}

/** A message a sandbox sent over its WebSocket, seen by the tap. */
export interface TappedMessage {
  at: number;
  event: string;
  data: Record<string, unknown>;
}

export interface TappedSandbox {
  sandbox: Sandbox;
  /** HTTP requests received since the last `clear()`, with sub-millisecond times. */
  requests: { at: number; method: string; path: string }[];
  /** Messages sent since the last `clear()` (progress, execution_success, executing). */
  messages: TappedMessage[];
  clear(): void;
}

/**
 * Starts a sandbox in this process and taps its WebSocket hub and its request log, so the
 * moments it received POST /prompt and sent `progress` or `execution_success` are known to
 * a fraction of a millisecond (the taps wrap the hub's `send`, the one place every JSON
 * message goes out, and `noteRequest`, called as each request arrives; nothing else changes).
 */
export async function startTappedSandbox(options: {
  stepDelayMs: number;
  baseDir?: string;
}): Promise<TappedSandbox> {
  const sandbox = await startSandbox({
    port: 0,
    host: '127.0.0.1',
    stepDelayMs: options.stepDelayMs,
    catalogDir: CATALOG_MODELS,
    log: false,
    ...(options.baseDir ? { baseDir: options.baseDir } : {}),
  });
  const tapped: TappedSandbox = {
    sandbox,
    messages: [],
    requests: [],
    clear() {
      tapped.messages.length = 0;
      tapped.requests.length = 0;
    },
  };
  const core = (
    sandbox as unknown as { core?: { hub?: { send?: unknown }; noteRequest?: unknown } }
  ).core;
  if (!core || typeof core.noteRequest !== 'function') {
    throw new Error('cannot tap the sandbox: its core.noteRequest is not where it used to be');
  }
  const noteRequest = core.noteRequest as (method: string, path: string) => void;
  core.noteRequest = function tapRequest(this: unknown, method: string, path: string) {
    tapped.requests.push({ at: now(), method, path });
    if (tapped.requests.length > 100_000) tapped.requests.splice(0, 50_000);
    return noteRequest.call(this, method, path);
  };
  const hub = core.hub;
  if (!hub || typeof hub.send !== 'function') {
    throw new Error('cannot tap the sandbox: its core.hub.send is not where it used to be');
  }
  const send = hub.send as (event: string, data: unknown, sid: string | null) => void;
  const keep = new Set(['progress', 'execution_success', 'executing', 'execution_start']);
  hub.send = function tap(this: unknown, event: string, data: unknown, sid: string | null) {
    if (keep.has(event)) {
      tapped.messages.push({ at: now(), event, data: data as Record<string, unknown> });
      if (tapped.messages.length > 200_000) tapped.messages.splice(0, 100_000);
    }
    return send.call(this, event, data, sid);
  };
  return tapped;
}

/** The workflow (API format) a server sent for a prompt, from the sandbox's /history. */
export async function workflowOf(sandbox: Sandbox, promptId: string) {
  const res = await fetch(`${sandbox.url}/history/${promptId}`);
  const history = (await res.json()) as Record<string, { prompt: unknown[] }>;
  const entry = history[promptId];
  if (!entry) throw new Error(`no history for ${promptId}`);
  return structuredClone(entry.prompt[2]) as Record<
    string,
    { class_type: string; inputs: Record<string, unknown> }
  >;
}

/** A copy of a workflow with its seeds and prompt texts made unique (no cached nodes). */
export function variant(
  workflow: Record<string, { class_type: string; inputs: Record<string, unknown> }>,
  i: number,
) {
  const copy = structuredClone(workflow);
  for (const node of Object.values(copy)) {
    for (const key of ['seed', 'noise_seed']) {
      if (typeof node.inputs[key] === 'number') node.inputs[key] = 1000 + i;
    }
    for (const key of ['text', 'prompt']) {
      if (typeof node.inputs[key] === 'string') node.inputs[key] = `${node.inputs[key]} #${i}`;
    }
  }
  return copy;
}

export function machine(): string {
  return `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

/** One line of the before/after summary (bench/speed/compare.ts). */
export interface SummaryRow {
  measure: string;
  value: number;
  /** The baseline measured in the same run, if the measure has one. */
  baseline: number | null;
  unit: 'ms' | '%' | '/s' | 'MB' | '×';
  target: string;
  met: boolean | null;
}

/** Filled by the scenarios as they finish; written by bench/speed.ts with --json. */
export const summary: SummaryRow[] = [];

/** Whether the bin of `root` (default ROOT) will run the server's compiled dist/ or its sources through tsx. */
export function serverBuild(root = ROOT): string {
  const pkgs = ['packages/server', 'packages/comfyui-sandbox'].map((p) => path.join(root, p));
  const fresh = (pkg: string) => {
    let built: number;
    try {
      built = statSync(path.join(pkg, 'dist/.build')).mtimeMs;
    } catch {
      return false;
    }
    const entries = readdirSync(path.join(pkg, 'src'), { recursive: true, withFileTypes: true });
    return entries.every(
      (e) =>
        !e.isFile() ||
        e.name.endsWith('.test.ts') ||
        statSync(path.join(e.parentPath, e.name)).mtimeMs <= built,
    );
  };
  if (!existsSync(path.join(root, 'packages/server/dist/main.js'))) {
    return 'TypeScript sources through tsx (no dist/ build)';
  }
  return pkgs.every(fresh)
    ? 'compiled dist/ (up to date with src/)'
    : 'TypeScript sources through tsx (dist/ older than src/)';
}
