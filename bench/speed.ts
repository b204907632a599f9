// Issue 11's speed scenarios, each measured beside its baseline in the same run:
//   gpu-busy    4 sandboxes, 200 runs at once: Atelier vs a naive round-robin dispatcher
//   latency     createRun → /prompt and execution_success → RUN_FINISHED vs direct calls
//   throughput  createRun from 16 clients vs a bare graphql-yoga mutation; cheap query p99
//               at saturation and at the target rates (paced)
//   fanout      1,000 graphql-ws subscribers of one run vs a bare yoga + graphql-ws server
//   uploads     a 12 MP JPEG through uploadMedia vs sharp (and Pillow when present)
//   profile     `node --cpu-prof` of the server under the createRun load (PostgreSQL)
// The server under test is spawned from ATELIER_ROOT (default: this repository) as
// `node packages/server/bin/atelier.mjs serve`, on 127.0.0.1 only, with its own home and, for
// PostgreSQL, its own database (created on TEST_DATABASE_URL's server and dropped after).
//
//   node --import tsx bench/speed.ts [--scenario gpu-busy,latency,...] [--out file.md]
//        [--json file.json] [--append]   (compare two --json files: bench/speed/compare.ts)
//
// Sizes: BENCH_GPU_RUNS (200), BENCH_REPS (2), BENCH_LATENCY_N (20), BENCH_LOAD_MS (10000),
// BENCH_THROUGHPUT_REPS (3), BENCH_SUBSCRIBERS (1000), BENCH_SUBSCRIBERS_SMALL (100), BENCH_UPLOADS (31); BENCH_LABEL names the section (e.g. "before").
// BENCH_SERVER_NODE_FLAGS: node flags for the Atelier servers (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
import { execFileSync } from 'node:child_process';
import { appendFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fanout } from './speed/fanout.ts';
import { gpuBusy } from './speed/gpu-busy.ts';
import { latency } from './speed/latency.ts';
import { BENCH_DIR, machine, ROOT, serverBuild, summary } from './speed/lib.ts';
import { profileCreateRun, throughput } from './speed/throughput.ts';
import { uploads } from './speed/uploads.ts';

const ALL = ['gpu-busy', 'latency', 'throughput', 'fanout', 'uploads', 'profile'] as const;
type Scenario = (typeof ALL)[number];

const { values } = parseArgs({
  options: {
    scenario: { type: 'string' },
    out: { type: 'string' },
    append: { type: 'boolean' },
    json: { type: 'string' },
  },
});
const scenarios = (values.scenario ?? ALL.join(',')).split(',').map((s) => s.trim()) as Scenario[];
for (const s of scenarios) {
  if (!ALL.includes(s)) throw new Error(`unknown scenario ${s}; known: ${ALL.join(', ')}`);
}
const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const reps = env('BENCH_REPS', 2);
const loadMs = env('BENCH_LOAD_MS', 10_000);

function describeCommit(): string {
  try {
    const line = execFileSync('git', ['-C', ROOT, 'log', '--format=%h %s', '-1'], {
      encoding: 'utf8',
    }).trim();
    let text = line.length > 90 ? `${line.slice(0, 89)}…` : line;
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'packages'], {
      encoding: 'utf8',
    }).trim();
    if (dirty) text += ` + uncommitted changes under packages/ (${dirty.split('\n').length} files)`;
    return text;
  } catch {
    return '(not a git checkout)';
  }
}
const commit = describeCommit();

const label = process.env.BENCH_LABEL ? ` — ${process.env.BENCH_LABEL}` : '';
const out: string[] = [
  '',
  `### ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — issue 11 speed scenarios${label}`,
  '',
  `${machine()} at the start. Server: \`${ROOT}\` at \`${commit}\`, running ${serverBuild()}, with NODE_ENV=production where a scenario gives it ComfyUI servers (all but uploads; the bare server too). \`node --import tsx bench/speed.ts --scenario ${scenarios.join(',')}\`.`,
  '',
];
let failed = false;
const loads: number[] = [];
for (const scenario of scenarios) {
  const started = Date.now();
  const loadAtStart = os.loadavg()[0]!.toFixed(1);
  loads.push(os.loadavg()[0]!);
  console.error(`--- ${scenario} ---`);
  try {
    switch (scenario) {
      case 'gpu-busy':
        out.push(await gpuBusy({ runs: env('BENCH_GPU_RUNS', 200), reps }));
        break;
      case 'latency':
        out.push(await latency({ n: env('BENCH_LATENCY_N', 20) }));
        break;
      case 'throughput':
        out.push(
          await throughput({
            warmMs: 3000,
            measureMs: loadMs,
            reps: env('BENCH_THROUGHPUT_REPS', 3),
          }),
        );
        break;
      case 'fanout':
        out.push(
          await fanout({
            subscribers: env('BENCH_SUBSCRIBERS', 1000),
            small: env('BENCH_SUBSCRIBERS_SMALL', 100),
            reps,
          }),
        );
        break;
      case 'uploads':
        out.push(await uploads({ n: env('BENCH_UPLOADS', 31) }));
        break;
      case 'profile':
        out.push(await profileCreateRun({ warmMs: 3000, measureMs: loadMs }));
        break;
    }
  } catch (error) {
    failed = true;
    console.error(`${scenario} failed:`, error);
    out.push(
      `**${scenario}**: failed — ${String((error as Error).message ?? error).split('\n')[0]}`,
      '',
    );
  }
  const load = os.loadavg()[0]!.toFixed(1);
  out.push(
    `_${scenario}: ${((Date.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${loadAtStart} at its start, ${load} at its end (2 cores, shared)._`,
    '',
  );
  console.error(`--- ${scenario}: ${((Date.now() - started) / 1000).toFixed(0)} s ---`);
}
const commitAtEnd = describeCommit();
if (commitAtEnd !== commit) {
  out.push(
    `Note: the server's checkout changed during this run; at its end it was at \`${commitAtEnd}\` (each scenario spawned the code as it was when that scenario started).`,
    '',
  );
}
const text = out.join('\n');
console.log(text);
if (values.out) await writeFile(values.out, text);
if (values.json) {
  await writeFile(
    values.json,
    JSON.stringify(
      {
        label: process.env.BENCH_LABEL ?? '',
        date: new Date().toISOString(),
        root: ROOT,
        commit,
        build: serverBuild(),
        machine: machine(),
        loads,
        rows: summary,
      },
      null,
      2,
    ),
  );
}
if (values.append) await appendFile(path.join(BENCH_DIR, 'RESULTS.md'), text);
if (failed) process.exitCode = 1;
