// Scenario "latency": what Atelier adds at both ends of a run, one run at a time on an idle
// server. Dispatch: createRun sent → the sandbox receives POST /prompt (its request log),
// against a direct POST /prompt to the same sandbox. Completion: the sandbox sends
// `execution_success` (tapped in its hub) → the client has RUN_FINISHED over graphql-ws,
// against a client of the sandbox itself that, on `execution_success`, fetches /history and
// the output file. On PostgreSQL and PGlite.
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  CREATE_RUN,
  fmtMs,
  gql,
  median,
  now,
  percentile,
  runInput,
  startAtelier,
  startTappedSandbox,
  summary,
  type TappedSandbox,
  variant,
  waitRuns,
  waitWorkers,
  workflowOf,
} from './lib.ts';

const STEPS = 4;
const STEP_DELAY_MS = 50;
/**
 * Runs made exactly like the measured ones before measuring (BENCH_LATENCY_WARMUP): the
 * figures are a running server's, not those of code V8 has not compiled yet. Both paths get
 * them.
 */
const WARMUP = Number(process.env.BENCH_LATENCY_WARMUP ?? 20);

const WATCH = /* GraphQL */ `
  subscription Watch($id: ID!) {
    runEvents(id: $id) {
      sequence type
      stage { kind status progress message step maxSteps }
      run { id status progress sequence outputs { id kind mimeType width height url } }
    }
  }
`;

interface Samples {
  dispatch: number[];
  finish: number[];
  create: number[];
}

const isPrompt = (e: { method: string; path: string }) =>
  e.method === 'POST' && /^\/(api\/)?prompt$/.test(e.path);

async function atelier(
  tap: TappedSandbox,
  db: 'postgres' | 'pglite',
  n: number,
): Promise<{ samples: Samples; workflow: Awaited<ReturnType<typeof workflowOf>> }> {
  const { sandbox } = tap;
  const server = await startAtelier({ db, env: { COMFYUI_URLS: sandbox.url } });
  const client = createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
  });
  try {
    await waitWorkers(server.url, 1);
    const warm: string[] = [];
    for (let i = 0; i < 3; i++) {
      const data = await gql<{ createRun: { run: { id: string } } }>(server.url, CREATE_RUN, {
        input: runInput(`warm-up ${i}`, STEPS),
      });
      warm.push(data.createRun.run.id);
    }
    await waitRuns(server.url, warm, 60_000);
    const last = sandbox.stats().log.at(-1)!;
    const workflow = await workflowOf(sandbox, last.promptId);

    const samples: Samples = { dispatch: [], finish: [], create: [] };
    for (let i = -WARMUP; i < n; i++) {
      tap.clear();
      const t0 = now();
      const data = await gql<{ createRun: { run: { id: string } } }>(server.url, CREATE_RUN, {
        input: runInput(`latency ${i}`, STEPS),
      });
      samples.create.push(now() - t0);
      const id = data.createRun.run.id;
      const finishedAt = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`run ${id}: no RUN_FINISHED`)), 60_000);
        const dispose = client.subscribe<{ runEvents: { type: string; run: { status: string } } }>(
          { query: WATCH, variables: { id } },
          {
            next: (value) => {
              const event = value.data?.runEvents;
              if (event?.type === 'RUN_FINISHED') {
                const at = now();
                clearTimeout(timer);
                dispose();
                if (event.run.status !== 'SUCCEEDED')
                  reject(new Error(`run ${id}: ${event.run.status}`));
                else resolve(at);
              }
            },
            error: (e) => {
              clearTimeout(timer);
              reject(e instanceof Error ? e : new Error(JSON.stringify(e)));
            },
            complete: () => {},
          },
        );
      });
      const request = tap.requests.find((e) => isPrompt(e) && e.at >= t0);
      const success = tap.messages.find((m) => m.event === 'execution_success');
      if (!request || !success) throw new Error(`run ${id}: no /prompt or execution_success seen`);
      if (i < 0) continue; // warm-up
      samples.dispatch.push(request.at - t0);
      samples.finish.push(finishedAt - success.at);
    }
    return { samples, workflow };
  } finally {
    await client.dispose();
    await server.stop();
  }
}

/** A client of the sandbox itself: direct POST /prompt; on execution_success, history + file. */
async function direct(
  tap: TappedSandbox,
  workflow: Awaited<ReturnType<typeof workflowOf>>,
  n: number,
): Promise<Samples> {
  const { sandbox } = tap;
  const clientId = `direct-${randomUUID()}`;
  const waiters = new Map<string, () => void>();
  const ws = await new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(sandbox.wsUrl(clientId));
    socket.on('message', (raw, isBinary) => {
      if (isBinary) return;
      const msg = JSON.parse(String(raw)) as { type: string; data?: { prompt_id?: string } };
      if (msg.type === 'execution_success' && msg.data?.prompt_id)
        waiters.get(msg.data.prompt_id)?.();
    });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
  const samples: Samples = { dispatch: [], finish: [], create: [] };
  try {
    for (let i = -WARMUP; i < n; i++) {
      const promptId = randomUUID();
      const success = new Promise<void>((resolve) => waiters.set(promptId, resolve));
      tap.clear();
      const t0 = now();
      const res = await fetch(`${sandbox.url}/prompt`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          prompt: variant(workflow, 10_000 + i),
          client_id: clientId,
          prompt_id: promptId,
        }),
      });
      if (!res.ok) throw new Error(`POST /prompt: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      await success;
      const history = (await (await fetch(`${sandbox.url}/history/${promptId}`)).json()) as Record<
        string,
        {
          outputs: Record<
            string,
            { images?: { filename: string; subfolder: string; type: string }[] }
          >;
        }
      >;
      const image = Object.values(history[promptId]!.outputs).flatMap((o) => o.images ?? [])[0];
      if (!image) throw new Error('no output image in history');
      const file = await (
        await fetch(`${sandbox.url}/view?${new URLSearchParams(image)}`)
      ).arrayBuffer();
      const doneAt = now();
      if (file.byteLength === 0) throw new Error('empty output file');
      waiters.delete(promptId);
      const request = tap.requests.find((e) => isPrompt(e) && e.at >= t0);
      const emitted = tap.messages.find(
        (m) => m.event === 'execution_success' && m.data.prompt_id === promptId,
      );
      if (!request || !emitted) throw new Error('direct: no /prompt or execution_success seen');
      if (i < 0) continue; // warm-up
      samples.dispatch.push(request.at - t0);
      samples.finish.push(doneAt - emitted.at);
    }
  } finally {
    ws.close();
  }
  return samples;
}

export async function latency(options: { n: number }): Promise<string> {
  const tap = await startTappedSandbox({ stepDelayMs: STEP_DELAY_MS });
  const results: { label: string; samples: Samples }[] = [];
  let base: Samples | null = null;
  try {
    for (const db of ['postgres', 'pglite'] as const) {
      const a = await atelier(tap, db, options.n);
      results.push({
        label: `Atelier, ${db === 'postgres' ? 'PostgreSQL' : 'PGlite'}`,
        samples: a.samples,
      });
      // The direct client runs once, after the first server (it needs a workflow the server sent).
      base ??= await direct(tap, a.workflow, options.n);
      console.error(
        `latency ${db}: dispatch p50 ${median(a.samples.dispatch).toFixed(1)} ms, finish p50 ${median(a.samples.finish).toFixed(1)} ms`,
      );
    }
  } finally {
    await tap.sandbox.stop();
  }
  const b = base!;
  const pgRow = results[0]!.samples;
  const liteRow = results[1]!.samples;
  const cell = (v: number[], ref: number[] | null) =>
    `${fmtMs(median(v), 1)} / ${fmtMs(percentile(v, 90), 1)}${ref ? ` (${(median(v) - median(ref)).toFixed(1)} ms over direct)` : ''}`;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const row = (measure: string, v: number[], base: number[], limit: number) =>
    summary.push({
      measure,
      value: median(v),
      baseline: median(base),
      unit: 'ms',
      target: `≤ ${limit} ms`,
      met: median(v) <= limit,
    });
  row(
    'createRun → ComfyUI receives /prompt, p50, PostgreSQL (vs direct POST)',
    pgRow.dispatch,
    b.dispatch,
    10,
  );
  row(
    'createRun → ComfyUI receives /prompt, p50, PGlite (vs direct POST)',
    liteRow.dispatch,
    b.dispatch,
    20,
  );
  row(
    'execution_success → client has RUN_FINISHED, p50, PostgreSQL (vs /history + file)',
    pgRow.finish,
    b.finish,
    20,
  );
  row(
    'execution_success → client has RUN_FINISHED, p50, PGlite (vs /history + file)',
    liteRow.finish,
    b.finish,
    40,
  );
  return [
    `**Added latency** — one sandbox in the bench process (${STEP_DELAY_MS} ms per step), text-to-image, ${STEPS} steps, 256 px; \`serve\` with COMFYUI_URLS = that sandbox, 3 warm-up runs at once, then ${WARMUP} made like the measured ones (both paths), then ${options.n} runs one at a time on an idle server. Dispatch: createRun sent → the sandbox noted POST /prompt (its request log, tapped for sub-ms times). Completion: the sandbox's hub sent \`execution_success\` (tapped) → RUN_FINISHED arrived on a graphql-ws subscription opened right after createRun returned. Direct: a client of the sandbox POSTs the same workflow (dispatch), and on \`execution_success\` on its socket GETs /history and the output file (completion). p50 / p90.`,
    '',
    '| path | createRun → /prompt | execution_success → finished | createRun answered |',
    '|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.label} | ${cell(r.samples.dispatch, null)} | ${cell(r.samples.finish, null)} | ${fmtMs(median(r.samples.create), 1)} |`,
    ),
    `| direct to the sandbox | ${cell(b.dispatch, null)} | ${cell(b.finish, null)} | — |`,
    '',
    `Targets on PostgreSQL: dispatch p50 ${fmtMs(median(pgRow.dispatch), 1)} ≤ 10 ms: ${verdict(median(pgRow.dispatch) <= 10)}; completion p50 ${fmtMs(median(pgRow.finish), 1)} ≤ 20 ms: ${verdict(median(pgRow.finish) <= 20)}. PGlite within 2× of PostgreSQL's targets (≤ 20 ms / ≤ 40 ms): dispatch ${fmtMs(median(liteRow.dispatch), 1)} ${verdict(median(liteRow.dispatch) <= 20)}, completion ${fmtMs(median(liteRow.finish), 1)} ${verdict(median(liteRow.finish) <= 40)}.`,
    '',
  ].join('\n');
}
