// Scenario "gpu-busy": 4 sandboxes at 200 ms per sampler step (≈ 0.86 s jobs), 200 runs
// submitted at once to Atelier on PostgreSQL (one `serve` process, in-process worker,
// COMFYUI_URLS = the 4 sandboxes) against a naive script that POSTs the same prompts
// round-robin to `/prompt` on the 4 sandboxes, keeping 2 in flight on each. Both measured
// from the sandboxes' own per-prompt start/end timestamps.
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import type { Sandbox } from '../../packages/comfyui-sandbox/src/index.ts';
import {
  createRun,
  fmtMs,
  median,
  percentile,
  runInput,
  startAtelier,
  startTappedSandbox,
  sum,
  summary,
  type TappedSandbox,
  variant,
  waitRuns,
  waitWorkers,
  workflowOf,
} from './lib.ts';

const SANDBOXES = 4;
const STEP_DELAY_MS = 200;
const STEPS = 4;
const IN_FLIGHT = 2;

interface Busy {
  label: string;
  jobs: number;
  jobMs: number;
  wallMs: number;
  busy: number;
  gapP50: number;
  gapP99: number;
  gapMax: number;
  firstStartMs: number;
  perWorker: number[];
  /** Submission → every createRun answered (naive: NaN). */
  submittedMs: number;
  doneMs: number;
  failed: number;
}

type Workflow = Awaited<ReturnType<typeof workflowOf>>;

function measureLogs(
  label: string,
  sandboxes: Sandbox[],
  t0: number,
  doneAt: number,
  failed: number,
  submittedAt = Number.NaN,
): Busy {
  const logs = sandboxes.map((s) =>
    s
      .stats()
      .log.filter((e) => e.outcome === 'success' && e.startedAt >= t0)
      .sort((a, b) => a.startedAt - b.startedAt),
  );
  const all = logs.flat();
  const exec = all.map((e) => e.endedAt - e.startedAt);
  const lastEnd = Math.max(...all.map((e) => e.endedAt));
  const wallMs = lastEnd - t0;
  const gaps = logs.flatMap((l) =>
    l.slice(1).map((e, i) => Math.max(0, e.startedAt - l[i]!.endedAt)),
  );
  return {
    label,
    jobs: all.length,
    jobMs: median(exec),
    wallMs,
    busy: sum(exec) / (SANDBOXES * wallMs),
    gapP50: percentile(gaps, 50),
    gapP99: percentile(gaps, 99),
    gapMax: Math.max(...gaps),
    firstStartMs: Math.min(...all.map((e) => e.startedAt)) - t0,
    perWorker: logs.map((l) => l.length),
    submittedMs: submittedAt - t0,
    doneMs: doneAt - t0,
    failed,
  };
}

async function atelier(
  taps: TappedSandbox[],
  runs: number,
): Promise<{ result: Busy; workflow: Workflow }> {
  const sandboxes = taps.map((t) => t.sandbox);
  const server = await startAtelier({
    db: 'postgres',
    env: { COMFYUI_URLS: sandboxes.map((s) => s.url).join(',') },
  });
  try {
    await waitWorkers(server.url, SANDBOXES);
    // Warm-up: JIT, connections, the sandboxes' model caches.
    const warm = await Promise.all(
      Array.from({ length: 8 }, (_, i) => createRun(server.url, runInput(`warm-up ${i}`, STEPS))),
    );
    await waitRuns(server.url, warm, 120_000);
    const promptId = sandboxes
      .flatMap((s) => s.stats().log)
      .find((e) => e.outcome === 'success')?.promptId;
    if (!promptId) throw new Error('no warm-up prompt succeeded');
    const owner = sandboxes.find((s) => s.stats().log.some((e) => e.promptId === promptId))!;
    const workflow = await workflowOf(owner, promptId);

    for (const s of sandboxes) s.resetStats();
    const t0 = Date.now();
    const ids = await Promise.all(
      Array.from({ length: runs }, (_, i) =>
        createRun(server.url, runInput(`gpu busy ${i}`, STEPS)),
      ),
    );
    const submittedAt = Date.now();
    const finished = await waitRuns(server.url, ids, 600_000);
    const doneAt = Math.max(...finished.map((r) => Date.parse(r.finishedAt ?? '') || Date.now()));
    const failed = finished.filter((r) => r.status !== 'SUCCEEDED').length;
    return {
      result: measureLogs('Atelier', sandboxes, t0, doneAt, failed, submittedAt),
      workflow,
    };
  } finally {
    await server.stop();
  }
}

/** The naive dispatcher: prompt i to sandbox i % 4, 2 in flight per sandbox, outputs fetched. */
async function naive(sandboxes: Sandbox[], workflow: Workflow, runs: number): Promise<Busy> {
  const waiters = new Map<string, { resolve(): void; reject(e: Error): void }>();
  const sockets = await Promise.all(
    sandboxes.map(
      (s, i) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(s.wsUrl(`naive-${i}`));
          ws.on('message', (raw, isBinary) => {
            if (isBinary) return;
            const msg = JSON.parse(String(raw)) as {
              type: string;
              data?: { prompt_id?: string; node?: string | null };
            };
            const id = msg.data?.prompt_id;
            if (!id) return;
            if (msg.type === 'execution_success') waiters.get(id)?.resolve();
            if (msg.type === 'execution_error') waiters.get(id)?.reject(new Error(String(raw)));
          });
          ws.once('open', () => resolve(ws));
          ws.once('error', reject);
        }),
    ),
  );
  const queues = sandboxes.map((_, s) =>
    Array.from({ length: runs }, (_, i) => i).filter((i) => i % SANDBOXES === s),
  );
  let failed = 0;
  for (const s of sandboxes) s.resetStats();
  const t0 = Date.now();
  const lane = async (s: number) => {
    const sandbox = sandboxes[s]!;
    for (let i = queues[s]!.shift(); i !== undefined; i = queues[s]!.shift()) {
      const promptId = randomUUID();
      const done = new Promise<void>((resolve, reject) =>
        waiters.set(promptId, { resolve, reject }),
      );
      const res = await fetch(`${sandbox.url}/prompt`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          prompt: variant(workflow, i),
          client_id: `naive-${s}`,
          prompt_id: promptId,
        }),
      });
      if (!res.ok) throw new Error(`POST /prompt: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      try {
        await done;
        const history = (await (
          await fetch(`${sandbox.url}/history/${promptId}`)
        ).json()) as Record<
          string,
          {
            outputs: Record<
              string,
              { images?: { filename: string; subfolder: string; type: string }[] }
            >;
          }
        >;
        const image = Object.values(history[promptId]!.outputs).flatMap((o) => o.images ?? [])[0];
        if (image) {
          const q = new URLSearchParams(image);
          await (await fetch(`${sandbox.url}/view?${q}`)).arrayBuffer();
        }
      } catch {
        failed++;
      } finally {
        waiters.delete(promptId);
      }
    }
  };
  await Promise.all(sandboxes.flatMap((_, s) => Array.from({ length: IN_FLIGHT }, () => lane(s))));
  const doneAt = Date.now();
  for (const ws of sockets) ws.close();
  return measureLogs('naive round-robin', sandboxes, t0, doneAt, failed);
}

export async function gpuBusy(options: { runs: number; reps: number }): Promise<string> {
  const taps: TappedSandbox[] = [];
  const rows: { atelier: Busy; naive: Busy }[] = [];
  try {
    for (let i = 0; i < SANDBOXES; i++) {
      taps.push(await startTappedSandbox({ stepDelayMs: STEP_DELAY_MS }));
    }
    for (let rep = 0; rep < options.reps; rep++) {
      const a = await atelier(taps, options.runs);
      const n = await naive(
        taps.map((t) => t.sandbox),
        a.workflow,
        options.runs,
      );
      rows.push({ atelier: a.result, naive: n });
      console.error(
        `gpu-busy rep ${rep + 1}: Atelier busy ${(a.result.busy * 100).toFixed(1)} % gap p99 ${a.result.gapP99.toFixed(0)} ms; ` +
          `naive ${(n.busy * 100).toFixed(1)} % gap p99 ${n.gapP99.toFixed(0)} ms`,
      );
    }
  } finally {
    for (const t of taps) await t.sandbox.stop();
  }
  const line = (b: Busy, base: Busy | null) =>
    `| ${b.label} | ${b.jobs} | ${fmtMs(b.jobMs)} | ${(b.wallMs / 1000).toFixed(2)} s | ` +
    `${(b.busy * 100).toFixed(1)} %${base ? ` (${(b.busy / base.busy).toFixed(3)} × naive)` : ''} | ` +
    `${fmtMs(b.gapP50)} / ${fmtMs(b.gapP99)} / ${fmtMs(b.gapMax)} | ${fmtMs(b.firstStartMs)} | ` +
    `${b.perWorker.join(' / ')} | ${Number.isFinite(b.submittedMs) ? `${(b.submittedMs / 1000).toFixed(2)} s` : '—'} | ${(b.doneMs / 1000).toFixed(2)} s | ${b.failed} |`;
  const busyRatios = rows.map((r) => r.atelier.busy / r.naive.busy);
  const gapP99s = rows.map((r) => r.atelier.gapP99);
  const medRatio = median(busyRatios);
  const medGap = median(gapP99s);
  const med = (f: (r: { atelier: Busy; naive: Busy }) => number) => median(rows.map(f));
  summary.push(
    {
      measure: `GPU busy, 4 workers, ${options.runs} runs at once (Atelier vs naive dispatcher)`,
      value: med((r) => r.atelier.busy) * 100,
      baseline: med((r) => r.naive.busy) * 100,
      unit: '%',
      target: 'ratio ≥ 0.99',
      met: medRatio >= 0.99,
    },
    {
      measure: 'idle gap between jobs on a worker, p99',
      value: medGap,
      baseline: med((r) => r.naive.gapP99),
      unit: 'ms',
      target: '≤ 50 ms',
      met: medGap <= 50,
    },
    {
      measure: 'first job started after the submission',
      value: med((r) => r.atelier.firstStartMs),
      baseline: med((r) => r.naive.firstStartMs),
      unit: 'ms',
      target: '—',
      met: null,
    },
  );
  return [
    `**GPU busy** — 4 sandboxes in the bench process at ${STEP_DELAY_MS} ms per step, ${options.runs} text-to-image runs (${STEPS} steps, 256 px) submitted at once; Atelier: \`serve\` on PostgreSQL with COMFYUI_URLS = the 4 sandboxes, after 8 warm-up runs; naive: the same workflow (taken from the sandbox's history of a warm-up run, seeds and texts made unique) POSTed round-robin to \`/prompt\`, 2 in flight per sandbox, each completion (\`execution_success\` on its socket) followed by /history and /view, then the next POST. From the sandboxes' own prompt logs: busy = Σ execution time / (4 × (last prompt end − submission)); gaps = idle time between consecutive prompts on one sandbox (p50 / p99 / max over all 4); first start = submission → first prompt started; all createRun answered = submission → the last of the ${options.runs} createRun calls returned; done = submission → last run finished (Atelier's finishedAt; naive: last output fetched). ${options.reps} repetitions, each Atelier then naive.`,
    '',
    '| rep | dispatcher | jobs | job time | wall (GPU) | busy | gap p50 / p99 / max | first start | jobs per worker | all createRun answered | done | failed |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows.flatMap((r, i) => [
      `| ${i + 1} ${line(r.atelier, r.naive)}`,
      `| ${i + 1} ${line(r.naive, null)}`,
    ]),
    '',
    `Median over the repetitions: busy ${medRatio.toFixed(3)} × naive (target ≥ 0.99: ${medRatio >= 0.99 ? 'met' : 'NOT met'}), Atelier gap p99 ${fmtMs(medGap)} (target ≤ 50 ms: ${medGap <= 50 ? 'met' : 'NOT met'}).`,
    '',
  ].join('\n');
}
