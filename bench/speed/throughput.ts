// Scenario "throughput": createRun from 16 concurrent clients for a bounded time, runs/s on
// PostgreSQL and PGlite against a bare graphql-yoga server's trivial mutation, plus the p99
// of a cheap query (`{ models { key } }`) on the idle server and under that load (the server
// saturated), and again with createRun sent at the issue's target rates (200/s PostgreSQL,
// 100/s PGlite; open loop) with the cheap query beside it. The server's main thread's share
// of the window on a CPU and waiting for one is read from /proc. The runs are not generated: COMFYUI_URLS points at one sandbox whose sampler waits 60 s per step,
// so its two slots stay busy and every other run stays QUEUED (the queue grows as it would
// under a burst); the server is stopped afterwards. With `profile`, the PostgreSQL server
// runs under `node --cpu-prof` and the profile's samples inside the load window are grouped.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  type ChildServer,
  CREATE_RUN,
  fmtMs,
  now,
  percentile,
  runInput,
  sleep,
  startAtelier,
  startBare,
  startTappedSandbox,
  summary,
  track,
  waitWorkers,
} from './lib.ts';

const CLIENTS = 16;
const PROBES_IDLE = 400;

interface Load {
  label: string;
  runsPerSec: number;
  createP50: number;
  createP99: number;
  idleP50: number;
  idleP99: number;
  loadP50: number;
  loadP99: number;
  errors: number;
  window: [bigint, bigint];
  /** createRun sent at this rate (open loop) instead of by the 16 clients (closed loop). */
  pace?: number;
  /** The server's main thread over the counted window: share of the wall time on a CPU and
   *  waiting for one (runnable, not running), from /proc/<pid>/task/<pid>/schedstat. */
  thread?: { onCpu: number; waiting: number };
}

/** [ns on a CPU, ns runnable waiting for a CPU] of a process's main thread (Linux), or null. */
function schedstat(pid: number): [number, number] | null {
  try {
    const [on, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8')
      .trim()
      .split(' ')
      .map(Number);
    return on !== undefined && wait !== undefined ? [on, wait] : null;
  } catch {
    return null;
  }
}

async function post(url: string, body: string): Promise<boolean> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
    body,
  });
  const text = await res.text();
  return res.ok && !text.includes('"errors"');
}

/**
 * The cheap-query client (prober.ts) in a process of its own, so that its timings are the
 * server's and not the load generator's event loop: `idle(n)` probes back to back;
 * `start()` probes once per 25 ms at most, `measure()` starts keeping them, `stop()` answers
 * those kept and ends the process.
 */
function startProber(url: string) {
  const child = track(
    fork(path.join(import.meta.dirname, 'prober.ts'), [url], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const ask = (message: object, key: string) =>
    new Promise<number[]>((resolve, reject) => {
      const done = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      const onMessage = (answer: Record<string, unknown>) => {
        if (typeof answer.error === 'string') {
          done();
          reject(new Error(`prober: ${answer.error}`));
        } else if (key in answer) {
          done();
          resolve(answer[key] as number[]);
        }
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`prober exited (${code}) before answering`));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(message);
    });
  return {
    idle: (n: number) => ask({ idle: n }, 'idle'),
    start: () => child.send({ start: true }),
    measure: () => child.send({ measure: true }),
    stop: () => ask({ stop: true }, 'underLoad'),
  };
}

async function load(
  label: string,
  server: ChildServer,
  options: { warmMs: number; measureMs: number; pace?: number },
): Promise<Load> {
  const { url } = server;
  const { pace } = options;
  const prober = startProber(url);
  const idle = await prober.idle(PROBES_IDLE);

  let phase: 'warm' | 'measure' | 'stop' = 'warm';
  let completed = 0;
  let errors = 0;
  const latencies: number[] = [];
  let counter = 0;
  const createOne = async () => {
    const body = JSON.stringify({
      query: CREATE_RUN,
      variables: { input: runInput(`throughput ${counter++}`, 4) },
    });
    const t = now();
    const ok = await post(url, body).catch(() => false);
    const inWindow = phase === 'measure';
    if (!ok) errors++;
    else if (inWindow) {
      completed++;
      latencies.push(now() - t);
    }
  };
  const client = async () => {
    while (phase !== 'stop') await createOne();
  };
  // Open loop: one createRun every 1000/pace ms, whatever the answers; at most 256 in flight
  // (a server that falls behind shows as a rate under the pace, not as an unbounded backlog).
  const pacer = async (rate: number) => {
    const start = now();
    const inFlight = new Set<Promise<void>>();
    for (let k = 0; phase !== 'stop'; k++) {
      const wait = start + (k * 1000) / rate - now();
      if (wait > 0) await sleep(wait);
      if (inFlight.size >= 256) await Promise.race(inFlight);
      const sent: Promise<void> = createOne().finally(() => inFlight.delete(sent));
      inFlight.add(sent);
    }
    await Promise.all(inFlight);
  };
  // The prober is paced (one query per 25 ms at most) so that it samples latency without
  // adding much load.
  prober.start();
  const workers = pace ? [pacer(pace)] : Array.from({ length: CLIENTS }, client);
  await sleep(options.warmMs);
  phase = 'measure';
  prober.measure();
  const m0 = now();
  const w0 = process.hrtime.bigint();
  const s0 = schedstat(server.pid);
  await sleep(options.measureMs);
  const s1 = schedstat(server.pid);
  const w1 = process.hrtime.bigint();
  const elapsed = now() - m0;
  const done = completed;
  phase = 'stop';
  const underLoad = await prober.stop();
  await Promise.all(workers);
  return {
    label,
    runsPerSec: (done / elapsed) * 1000,
    createP50: percentile(latencies, 50),
    createP99: percentile(latencies, 99),
    idleP50: percentile(idle, 50),
    idleP99: percentile(idle, 99),
    loadP50: percentile(underLoad, 50),
    loadP99: percentile(underLoad, 99),
    errors,
    window: [w0, w1],
    ...(pace ? { pace } : {}),
    ...(s0 && s1
      ? {
          thread: {
            onCpu: (s1[0] - s0[0]) / 1e6 / elapsed,
            waiting: (s1[1] - s0[1]) / 1e6 / elapsed,
          },
        }
      : {}),
  };
}

async function atelierLoad(
  db: 'postgres' | 'pglite',
  options: { warmMs: number; measureMs: number; pace?: number; cpuProfDir?: string },
): Promise<Load> {
  const tap = await startTappedSandbox({ stepDelayMs: 60_000 });
  const server = await startAtelier({
    db,
    env: { COMFYUI_URLS: tap.sandbox.url },
    ...(options.cpuProfDir
      ? { execArgv: ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`] }
      : {}),
  });
  try {
    await waitWorkers(server.url, 1);
    const label = `Atelier, ${db === 'postgres' ? 'PostgreSQL' : 'PGlite'}${options.pace ? `, paced ${options.pace}/s` : ''}${options.cpuProfDir ? ' (under --cpu-prof)' : ''}`;
    return await load(label, server, options);
  } finally {
    // Let the two runs on the sandbox finish so the server stops promptly (and, under
    // --cpu-prof, exits normally and writes its profile).
    tap.sandbox.setStepDelay(0);
    if (tap.sandbox.hanging) tap.sandbox.releaseHang();
    await server.stop();
    await tap.sandbox.stop();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
const row = (l: Load, base: Load | null) =>
  `| ${l.label} | ${l.runsPerSec.toFixed(0)}/s${base ? ` (${(l.runsPerSec / base.runsPerSec).toFixed(2)} × bare)` : ''} | ${fmtMs(l.createP50, 1)} / ${fmtMs(l.createP99, 1)} | ${fmtMs(l.idleP50, 1)} / ${fmtMs(l.idleP99, 1)} | ${fmtMs(l.loadP50, 1)} / ${fmtMs(l.loadP99, 1)} (${(l.loadP99 / l.idleP99).toFixed(1)}× idle) | ${l.thread ? `${pct(l.thread.onCpu)} / ${pct(l.thread.waiting)}` : '—'} | ${l.errors} |`;

/** The issue's createRun targets, at which the cheap query is also measured (open loop). */
const PACE = { bare: 200, postgres: 200, pglite: 100 } as const;

export async function throughput(options: {
  warmMs: number;
  measureMs: number;
  reps: number;
}): Promise<string> {
  const rows: Load[] = [];
  const paced: Load[] = [];
  const bareLoad = async (pace?: number) => {
    const bare = await startBare();
    try {
      return await load(`bare graphql-yoga${pace ? `, paced ${pace}/s` : ''}`, bare, {
        ...options,
        ...(pace ? { pace } : {}),
      });
    } finally {
      await bare.stop();
    }
  };
  for (let rep = 0; rep < options.reps; rep++) {
    const b = await bareLoad();
    const pgLoad = await atelierLoad('postgres', options);
    const liteLoad = await atelierLoad('pglite', options);
    rows.push(b, pgLoad, liteLoad);
    const bp = await bareLoad(PACE.bare);
    const pgp = await atelierLoad('postgres', { ...options, pace: PACE.postgres });
    const litep = await atelierLoad('pglite', { ...options, pace: PACE.pglite });
    paced.push(bp, pgp, litep);
    console.error(
      `throughput rep ${rep + 1}: bare ${b.runsPerSec.toFixed(0)}/s, PostgreSQL ${pgLoad.runsPerSec.toFixed(0)}/s, PGlite ${liteLoad.runsPerSec.toFixed(0)}/s; paced: cheap query ${(pgp.loadP99 / pgp.idleP99).toFixed(1)}× / ${(litep.loadP99 / litep.idleP99).toFixed(1)}× idle`,
    );
  }
  const lines = [
    `**Throughput** — ${CLIENTS} clients in the bench process, each sending createRun (text-to-image, 4 steps, 256 px) as soon as its previous one was answered (closed loop: the server saturated), ${options.warmMs / 1000} s warm-up then ${options.measureMs / 1000} s counted; a 17th client, in a process of its own (so its timings are the server's, not the load generator's event loop), sends \`{ models { key } }\` at most once per 25 ms during the counted window (p50 / p99), and ${PROBES_IDLE} times back to back before the load (idle). Paced rows: the same, but createRun is sent at a fixed rate whatever the answers (open loop, at most 256 in flight): the issue's targets, ${PACE.postgres}/s on PostgreSQL and ${PACE.pglite}/s on PGlite (the bare server at ${PACE.bare}/s), each on a server of its own. Atelier: \`serve\` with COMFYUI_URLS = one sandbox that waits 60 s per sampler step, so 2 runs hold its slots and every other run stays QUEUED (no generation work; the queue grows by thousands of runs, as under a burst). Baseline: a bare graphql-yoga server (bench/speed/bare-server.ts) whose createRun returns a fresh id. Main thread: the server's main thread over the counted window, share of the wall time on a CPU / runnable but waiting for a CPU (its /proc schedstat; the 2 cores are shared with PostgreSQL and the bench's clients). ${options.reps} repetition(s), in order bare, PostgreSQL, PGlite, then the paced three.`,
    '',
    '| server | createRun throughput | createRun p50 / p99 | models p50 / p99 idle | models p50 / p99 under load | main thread on CPU / waiting | errors |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const set of [rows, paced]) {
    for (let i = 0; i < set.length; i += 3) {
      const bare = set[i]!;
      lines.push(row(bare, null), row(set[i + 1]!, bare), row(set[i + 2]!, bare));
    }
  }
  const med = (ls: Load[], f: (l: Load) => number) => percentile(ls.map(f), 50);
  const ratioOf = (l: Load) => l.loadP99 / l.idleP99;
  const nth = (set: Load[], k: number) => set.filter((_, i) => i % 3 === k);
  const [bareRows, pg, lite] = [nth(rows, 0), nth(rows, 1), nth(rows, 2)];
  const [bareP, pgP, liteP] = [nth(paced, 0), nth(paced, 1), nth(paced, 2)];
  const pgRate = med(pg, (l) => l.runsPerSec);
  const liteRate = med(lite, (l) => l.runsPerSec);
  const pgQ = med(pg, ratioOf);
  const liteQ = med(lite, ratioOf);
  const pgPQ = med(pgP, ratioOf);
  const litePQ = med(liteP, ratioOf);
  const pgPRate = med(pgP, (l) => l.runsPerSec);
  const litePRate = med(liteP, (l) => l.runsPerSec);
  const v = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const bareRate = med(bareRows, (l) => l.runsPerSec);
  summary.push(
    {
      measure: 'createRun/s, 16 clients, PostgreSQL (vs bare yoga mutation)',
      value: pgRate,
      baseline: bareRate,
      unit: '/s',
      target: '≥ 200/s',
      met: pgRate >= 200,
    },
    {
      measure: 'createRun/s, 16 clients, PGlite (vs bare yoga mutation)',
      value: liteRate,
      baseline: bareRate,
      unit: '/s',
      target: '≥ 100/s',
      met: liteRate >= 100,
    },
    {
      measure: `\`{ models { key } }\` p99 under ${PACE.postgres} createRun/s ÷ idle, PostgreSQL (vs bare at ${PACE.bare}/s)`,
      value: pgPQ,
      baseline: med(bareP, ratioOf),
      unit: '×',
      target: '≤ 3×',
      met: pgPQ <= 3 && pgPRate >= PACE.postgres * 0.95,
    },
    {
      measure: `\`{ models { key } }\` p99 under ${PACE.pglite} createRun/s ÷ idle, PGlite (vs bare at ${PACE.bare}/s)`,
      value: litePQ,
      baseline: med(bareP, ratioOf),
      unit: '×',
      target: '≤ 3×',
      met: litePQ <= 3 && litePRate >= PACE.pglite * 0.95,
    },
    {
      measure:
        '`{ models { key } }` p99 at saturation (16 clients) ÷ idle, PostgreSQL (vs bare at its own)',
      value: pgQ,
      baseline: med(bareRows, ratioOf),
      unit: '×',
      target: '≤ 3×',
      met: pgQ <= 3,
    },
    {
      measure:
        '`{ models { key } }` p99 at saturation (16 clients) ÷ idle, PGlite (vs bare at its own)',
      value: liteQ,
      baseline: med(bareRows, ratioOf),
      unit: '×',
      target: '≤ 3×',
      met: liteQ <= 3,
    },
  );
  lines.push(
    '',
    `Targets (median of the repetitions): PostgreSQL ${pgRate.toFixed(0)}/s ≥ 200/s: ${v(pgRate >= 200)}; PGlite ${liteRate.toFixed(0)}/s ≥ 100/s: ${v(liteRate >= 100)}; cheap query p99 ≤ 3× idle under the target load: PostgreSQL at ${pgPRate.toFixed(0)}/s ${pgPQ.toFixed(1)}× ${v(pgPQ <= 3 && pgPRate >= PACE.postgres * 0.95)}, PGlite at ${litePRate.toFixed(0)}/s ${litePQ.toFixed(1)}× ${v(litePQ <= 3 && litePRate >= PACE.pglite * 0.95)}; at saturation: PostgreSQL ${pgQ.toFixed(1)}× ${v(pgQ <= 3)}, PGlite ${liteQ.toFixed(1)}× ${v(liteQ <= 3)} (the bare server ${med(bareRows, ratioOf).toFixed(1)}× at its own).`,
    '',
  );
  return lines.join('\n');
}

// ---- CPU profile ----

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function group(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return '(idle)';
  if (fn === '(program)') return '(program: V8/native, unattributed)';
  if (
    /\/generated\/prisma\//.test(url) ||
    /node_modules\/@prisma\/(client|client-runtime|driver-adapter-utils)/.test(url)
  )
    return 'Prisma client';
  if (/node_modules\/@prisma\/adapter-pg/.test(url)) return 'Prisma pg adapter';
  if (/node_modules\/(pg|pg-protocol|pg-pool|pg-types|pg-connection-string|pgpass)\//.test(url))
    return 'pg (node-postgres)';
  if (
    /node_modules\/(@electric-sql\/pglite|pglite-prisma-adapter)/.test(url) ||
    url.startsWith('wasm://')
  )
    return 'PGlite (JS + WASM)';
  if (
    /node_modules\/(graphql|graphql-yoga|@graphql-yoga|@envelop|@pothos|@whatwg-node|graphql-ws|@escape\.tech|graphql-scalars|@graphql-tools|dset|@repeaterjs)\//.test(
      url,
    )
  )
    return 'graphql / yoga / envelop / pothos';
  if (
    /node_modules\/(pino|pino-std-serializers|sonic-boom|thread-stream|pino-pretty|prom-client|@opentelemetry)/.test(
      url,
    )
  )
    return 'logging / metrics / tracing';
  if (/node_modules\/zod\//.test(url)) return 'zod';
  if (/node_modules\/(tsx|esbuild|get-tsconfig)\//.test(url)) return 'tsx (module loading)';
  if (/packages\/server\/(src|dist)\//.test(url)) return 'Atelier (packages/server)';
  if (/packages\/comfyui-sandbox\//.test(url)) return 'sandbox';
  if (/node_modules\//.test(url))
    return `other: ${/node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1]}`;
  if (url.startsWith('node:') || url === '') return 'Node.js core (node:*)';
  return `other: ${url}`;
}

function frame(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url
    .replace(/^file:\/\//, '')
    .replace(/^.*node_modules\//, '')
    .replace(/^.*packages\//, 'packages/');
  return `${functionName || '(anonymous)'} — ${short || '(native)'}${url ? `:${lineNumber + 1}` : ''}`;
}

export interface ProfileSummary {
  file: string;
  windowSec: number;
  busyMs: number;
  groups: [string, number][];
  charged: [string, number][];
  functions: [string, number][];
  inWindow: boolean;
}

/** Self time per group and per function, for samples inside [w0, w1] (monotonic µs). */
export function summarize(
  profile: CpuProfile,
  window?: [bigint, bigint],
): Omit<ProfileSummary, 'file'> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n);
  // Native frames (no URL: writev, runMicrotasks, ...) are charged to their nearest JS caller,
  // so the table says whose work they were.
  const special = new Set(['(garbage collector)', '(idle)', '(program)', '(root)']);
  const caller = (node: ProfileNode): ProfileNode | null => {
    for (let p = parent.get(node.id); p; p = parent.get(p.id)) {
      if (p.callFrame.url) return p;
    }
    return null;
  };
  // The nearest caller that is not Node itself (node:* or native): whose work it was.
  const appCaller = (node: ProfileNode): ProfileNode | null => {
    for (let p = parent.get(node.id); p; p = parent.get(p.id)) {
      if (p.callFrame.url && !p.callFrame.url.startsWith('node:')) return p;
    }
    return null;
  };
  const charged = new Map<string, number>();
  const lo = window ? Number(window[0] / 1000n) : -Infinity;
  const hi = window ? Number(window[1] / 1000n) : Infinity;
  let t = profile.startTime;
  const groups = new Map<string, number>();
  const functions = new Map<string, number>();
  let counted = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < lo || t > hi) continue;
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(profile.samples[i]!)!;
    const { functionName, url } = node.callFrame;
    const native = !url && !special.has(functionName);
    const by = native ? caller(node) : null;
    const g = by ? group(by.callFrame.url, by.callFrame.functionName) : group(url, functionName);
    groups.set(g, (groups.get(g) ?? 0) + dt);
    const nodeCore = native || url.startsWith('node:');
    const app = nodeCore ? appCaller(node) : null;
    const cg = app
      ? group(app.callFrame.url, app.callFrame.functionName)
      : nodeCore
        ? 'Node.js core (no package caller: timers, sockets)'
        : g;
    charged.set(cg, (charged.get(cg) ?? 0) + dt);
    if (g !== '(idle)') {
      counted += dt;
      const key = native
        ? `${functionName || '(anonymous)'} (native) ← ${by ? frame(by) : '?'}`
        : frame(node);
      functions.set(key, (functions.get(key) ?? 0) + dt);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    windowSec: window ? (hi - lo) / 1e6 : (profile.endTime - profile.startTime) / 1e6,
    busyMs: counted,
    groups: sorted(groups),
    charged: sorted(charged),
    functions: sorted(functions).slice(0, 20),
    inWindow: counted > 0 && window !== undefined,
  };
}

export async function profileCreateRun(options: {
  warmMs: number;
  measureMs: number;
}): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'atelier-cpuprof-'));
  try {
    const result = await atelierLoad('postgres', { ...options, cpuProfDir: dir });
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
    if (!files.length)
      return '**CPU profile**: the server wrote no .cpuprofile (did it exit normally?).\n';
    // The server is the largest profile (tsx may start helper threads with their own).
    let best: { file: string; profile: CpuProfile; size: number } | null = null;
    for (const f of files) {
      const text = await readFile(path.join(dir, f), 'utf8');
      if (!best || text.length > best.size)
        best = { file: f, profile: JSON.parse(text), size: text.length };
    }
    let s = summarize(best!.profile, result.window);
    if (!s.inWindow) s = summarize(best!.profile);
    const total = s.busyMs;
    const pct = (v: number) => `${((v / total) * 100).toFixed(1)} %`;
    return [
      `**CPU profile of createRun** — \`node --cpu-prof\` on the server (\`serve\`, PostgreSQL, same setup as the throughput rows) under the ${CLIENTS}-client createRun load; ${s.inWindow ? `only the samples of the ${s.windowSec.toFixed(1)} s counted window (profile timestamps and the bench's \`process.hrtime\` share CLOCK_MONOTONIC)` : 'whole process life (the load window could not be matched to the profile clock)'}: ${(total / 1000).toFixed(2)} s of non-idle self time, ${result.runsPerSec.toFixed(0)} createRun/s while profiled. Self time by origin (share of non-idle; native frames such as writev are charged to their nearest JavaScript caller):`,
      '',
      '| origin | self time | share |',
      '|---|---|---|',
      ...s.groups
        .filter(([g]) => g !== '(idle)')
        .slice(0, 14)
        .map(([g, v]) => `| ${g} | ${v.toFixed(0)} ms | ${pct(v)} |`),
      '',
      'The same samples with Node core (node:*) and native time charged to the package that called into Node (e.g. a socket write to the package that wrote):',
      '',
      '| origin | time | share |',
      '|---|---|---|',
      ...s.charged
        .filter(([g]) => g !== '(idle)')
        .slice(0, 14)
        .map(([g, v]) => `| ${g} | ${v.toFixed(0)} ms | ${pct(v)} |`),
      '',
      'Top functions by self time:',
      '',
      '| function — file:line | self time | share |',
      '|---|---|---|',
      ...s.functions
        .slice(0, 15)
        .map(([f, v]) => `| ${f.replace(/\|/g, '\\|')} | ${v.toFixed(0)} ms | ${pct(v)} |`),
      '',
    ].join('\n');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
