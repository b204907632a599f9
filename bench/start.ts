// Start and footprint: `npm start` to `/readyz` 200, and the idle RSS after start.
// `npm start` is `node packages/server/bin/atelier.mjs serve` (npm's own start, ≈ 1–2 s, is
// left out: the same for any server); it is spawned here exactly so, from the repository
// root, with a new ATELIER_HOME (fresh home: database created and migrated) and then again on
// that home (existing home), on embedded PGlite and on PostgreSQL (BENCH_DATABASE_URL or
// TEST_DATABASE_URL names a server; a new database per round), no COMFYUI_URLS (the bundled
// sandbox, as in the README's quick start). The baseline is a bare graphql-yoga server with a
// /readyz route, spawned the same way in the same run. Every variant runs RUNS times,
// round-robin so load on the machine hits all alike; wall time from spawn to the first
// /readyz 200 (polled every 10 ms), RSS read from /proc after IDLE_MS of idling. Also the CPU
// time the process had used when /readyz first answered (user + system, all its threads, from
// /proc): on a shared machine the wall time mostly measures the others' load, the CPU time
// much less so. Readiness does not wait for the ComfyUI servers (here the bundled sandbox):
// for Atelier, also the time from spawn until `{ queue { workers { healthy } } }` shows every
// one healthy (polled every 10 ms after ready), when a run created at once would be dispatched.
//
//   node --import tsx bench/start.ts
//
// BENCH_APPEND=0 to only print the section (otherwise it is appended to bench/RESULTS.md);
// BENCH_LABEL names the row set. BENCH_BEFORE_ROOT names another checkout (e.g. an older
// commit unpacked with `git archive`, node_modules linked to this one's) whose server is
// measured the same way in the same rounds, rows marked "before". Targets: existing home
// ≤ 2 s, fresh ≤ 3 s, idle RSS ≤ 300 MB on PGlite and ≤ 200 MB on PostgreSQL. Exits non-zero
// when a start fails.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { serverBuild, stopChild } from './speed/lib.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 5000);
const APPEND = process.env.BENCH_APPEND !== '0';
const LABEL = process.env.BENCH_LABEL ?? '';
const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const BEFORE_ROOT = process.env.BENCH_BEFORE_ROOT;
const START_TIMEOUT_MS = 120_000;

const BARE_YOGA = `
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';
const yoga = createYoga({
  schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'world' } } }),
});
createServer((req, res) => {
  if (req.url === '/readyz') { res.writeHead(200, { 'content-type': 'application/json' }); return res.end('{"status":"ready"}'); }
  return yoga(req, res);
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** User + system CPU time of a process so far, in ms (/proc/<pid>/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

async function ready(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

interface Started {
  child: ChildProcess;
  ms: number;
  cpu: number;
  /** Spawn → every ComfyUI server healthy (Atelier only). */
  healthyMs: number | null;
  output: () => string;
}

/** Whether the server's GraphQL API shows its ComfyUI servers, all healthy. */
async function workersHealthy(graphqlUrl: string): Promise<boolean> {
  try {
    const res = await fetch(graphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ queue { workers { healthy } } }' }),
      signal: AbortSignal.timeout(2000),
    });
    const body = (await res.json()) as { data?: { queue: { workers: { healthy: boolean }[] } } };
    const workers = body.data?.queue.workers ?? [];
    return workers.length > 0 && workers.every((w) => w.healthy);
  } catch {
    return false;
  }
}

async function start(
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
  atelier = true,
): Promise<Started> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, NODE_ENV: '', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  child.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  /** Polls `check` every 10 ms until it holds; fails when the child exits or time runs out. */
  const until = async (check: () => Promise<boolean>, what: string): Promise<void> => {
    while (!(await check())) {
      if (exited) throw new Error(`${args.join(' ')} exited before ${what}:\n${output}`);
      if (performance.now() - t0 > START_TIMEOUT_MS) {
        child.kill('SIGKILL');
        throw new Error(`${args.join(' ')}: not ${what} after ${START_TIMEOUT_MS} ms:\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await until(() => ready(`http://127.0.0.1:${port}/readyz`), 'ready');
  const cpu = cpuMs(child.pid as number);
  const ms = performance.now() - t0;
  let healthyMs: number | null = null;
  if (atelier) {
    await until(
      () => workersHealthy(`http://127.0.0.1:${port}/graphql`),
      'its ComfyUI servers healthy',
    );
    healthyMs = performance.now() - t0;
  }
  return { child, ms, cpu, healthyMs, output: () => output };
}

/** Starts, waits until ready, idles, reads RSS, stops. */
async function measure(
  args: string[],
  env: Record<string, string>,
  cwd = ROOT,
  atelier = true,
): Promise<Measured> {
  const started = await start(args, env, cwd, atelier);
  try {
    await new Promise((r) => setTimeout(r, IDLE_MS));
    return {
      ms: started.ms,
      cpu: started.cpu,
      healthyMs: started.healthyMs,
      rss: rssMb(started.child.pid as number),
    };
  } finally {
    await stopChild(started.child);
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

interface Measured {
  ms: number;
  cpu: number;
  healthyMs: number | null;
  rss: number;
}

const results = new Map<
  string,
  { ms: number[]; cpu: number[]; healthy: number[]; rss: number[] }
>();
function record(name: string, m: Measured) {
  const entry = results.get(name) ?? { ms: [], cpu: [], healthy: [], rss: [] };
  entry.ms.push(m.ms);
  entry.cpu.push(m.cpu);
  if (m.healthyMs !== null) entry.healthy.push(m.healthyMs);
  entry.rss.push(m.rss);
  results.set(name, entry);
}

const pgAdmin = PG_URL ? new pg.Client({ connectionString: PG_URL }) : null;
await pgAdmin?.connect();
const tmp = await mkdtemp(path.join(os.tmpdir(), 'atelier-bench-start-'));
const bareScript = path.join(tmp, 'bare-yoga.mjs');
// Resolved from the repository's node_modules, as the server's own imports are.
await writeFile(
  bareScript,
  BARE_YOGA.replace("'graphql-yoga'", `'${import.meta.resolve('graphql-yoga')}'`),
);
const quiet = { LOG_LEVEL: 'warn' };
const databases: string[] = [];
try {
  for (let round = 0; round < RUNS; round++) {
    record('bare graphql-yoga server', await measure([bareScript], {}, ROOT, false));

    const trees: [string, string][] = [
      ['', ROOT],
      ...(BEFORE_ROOT ? [['before: ', BEFORE_ROOT] as [string, string]] : []),
    ];
    for (const [tag, root] of trees) {
      const bin = [path.join(root, 'packages/server/bin/atelier.mjs'), 'serve'];
      const home = path.join(tmp, `${tag ? 'before-' : ''}pglite-${round}`);
      const env = { ...quiet, ATELIER_HOME: home };
      record(`${tag}PGlite, fresh home`, await measure(bin, env, root));
      record(`${tag}PGlite, existing home`, await measure(bin, env, root));
    }
    for (const [tag, root] of pgAdmin && PG_URL ? trees : []) {
      const bin = [path.join(root, 'packages/server/bin/atelier.mjs'), 'serve'];
      const name = `atelier_bench_start_${process.pid}_${round}${tag ? '_before' : ''}`;
      await pgAdmin?.query(`CREATE DATABASE ${name}`);
      databases.push(name);
      const url = new URL(PG_URL as string);
      url.pathname = `/${name}`;
      const pgHome = path.join(tmp, `${tag ? 'before-' : ''}pg-${round}`);
      const env = { ...quiet, ATELIER_HOME: pgHome, DATABASE_URL: url.toString() };
      record(`${tag}PostgreSQL, fresh database and home`, await measure(bin, env, root));
      record(`${tag}PostgreSQL, existing`, await measure(bin, env, root));
    }
  }
} finally {
  for (const name of databases)
    await pgAdmin?.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await pgAdmin?.end();
  await rm(tmp, { recursive: true, force: true });
}

const fmt = (n: number) => n.toFixed(0);
const lines = [
  '',
  `### ${new Date().toISOString().slice(0, 10)} — Start and footprint${LABEL ? ` (${LABEL})` : ''}`,
  '',
  `${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, load average ${os.loadavg()[0]?.toFixed(1)} at the end. \`node --import tsx bench/start.ts\`: \`node packages/server/bin/atelier.mjs serve\` (what \`npm start\` runs; here it ran ${serverBuild(ROOT)}) spawned from the repository root with the bundled sandbox, LOG_LEVEL=warn, ${RUNS} rounds round-robin beside a bare graphql-yoga server spawned the same way; time from spawn to the first \`/readyz\` 200 and the server's CPU time (all threads) at that moment, then to its ComfyUI server (the sandbox) shown healthy (\`{ queue { workers { healthy } } }\`, polled every 10 ms after ready; readiness does not wait for it), RSS after ${IDLE_MS / 1000} s idle. Targets: existing home ≤ 2 s, fresh ≤ 3 s; idle RSS ≤ 300 MB PGlite, ≤ 200 MB PostgreSQL.`,
  '',
  '| start | median | min | max | CPU time to ready, median | ComfyUI healthy, median | idle RSS median |',
  '|---|---|---|---|---|---|---|',
  ...[...results].map(
    ([name, r]) =>
      `| ${name} | ${fmt(median(r.ms))} ms | ${fmt(Math.min(...r.ms))} ms | ${fmt(Math.max(...r.ms))} ms | ${fmt(median(r.cpu))} ms | ${r.healthy.length ? `${fmt(median(r.healthy))} ms` : '—'} | ${fmt(median(r.rss))} MB |`,
  ),
  '',
];
const section = lines.join('\n');
console.log(section);
if (APPEND) await appendFile(path.join(ROOT, 'bench/RESULTS.md'), section);
