// A cluster as users run it: two API replicas (`atelier serve --no-worker`) and two
// `atelier worker` processes, each a real child process, on one PostgreSQL database and one
// Redis (BullMQ queue, pub/sub); each worker has its own ComfyUI sandbox, owned by the test
// so it outlives a worker that is killed. Needs PostgreSQL and Redis (skipped loudly
// otherwise).
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Sandbox, startSandbox } from '@atelier/comfyui-sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { type AtelierProcess, startAtelierProcess } from './fixtures/cluster.ts';
import {
  createRunOk,
  getRun,
  type RunEventView,
  type TestServer,
  until,
  watchRunWs,
} from './fixtures/runs.ts';
import { createPostgresDatabase, type TestServer as FullTestServer, TEST_DB } from './harness.ts';

const REDIS_URL = process.env.TEST_REDIS_URL;
const enabled = TEST_DB === 'postgres' && Boolean(REDIS_URL);
if (TEST_DB === 'postgres' && !REDIS_URL) {
  console.warn('\n*** TEST_REDIS_URL is not set: the cluster tests are SKIPPED. ***\n');
}

/** A GraphQL client for a server running in a child process. */
function remote(url: string): TestServer {
  const gql = async (query: string, variables?: Record<string, unknown>) => {
    const res = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query, variables }),
    });
    return res.json();
  };
  return { url, gql: gql as FullTestServer['gql'] };
}

const run = (prompt: string, steps: number) => ({
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt,
  parameters: { steps, width: 256, height: 256 },
});

/** Prompt ids every sandbox executed, all outcomes. */
function executed(sandboxes: Sandbox[]): string[] {
  return sandboxes.flatMap((s) => s.stats().log.map((e) => e.promptId));
}

function expectWellFormed(events: RunEventView[]) {
  expect(events[0]!.type).toBe('SNAPSHOT');
  const last = events.at(-1)!;
  expect(['RUN_FINISHED', 'SNAPSHOT']).toContain(last.type);
  const sequences = events.map((e) => e.sequence);
  expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
  expect(new Set(sequences).size).toBe(sequences.length);
}

describe.skipIf(!enabled)('a cluster: two API replicas, two atelier worker processes', () => {
  let db: { url: string; drop(): Promise<void> };
  let sandboxDir: string;
  const sandboxes: Sandbox[] = [];
  const apis: AtelierProcess[] = [];
  const workers: AtelierProcess[] = [];
  const spare: AtelierProcess[] = [];
  let env: Record<string, string>;
  const api = (i: number) => remote(apis[i % apis.length]!.url!);

  const startWorker = async (sandbox: Sandbox) =>
    startAtelierProcess(['worker'], { ...env, COMFYUI_URLS: sandbox.url });

  beforeAll(async () => {
    db = await createPostgresDatabase();
    sandboxDir = await mkdtemp(path.join(tmpdir(), 'atelier-cluster-'));
    const catalogDir = path.join(loadConfig({}).catalogDir, 'models');
    for (const name of ['a', 'b']) {
      sandboxes.push(
        await startSandbox({
          port: 0,
          host: '127.0.0.1',
          stepDelayMs: 20,
          catalogDir,
          baseDir: path.join(sandboxDir, name),
        }),
      );
    }
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: REDIS_URL as string,
      REDIS_PREFIX: `atelier-cluster-${randomBytes(4).toString('hex')}`,
      // A killed worker's runs are taken over after 2 s; processes beat twice a second.
      RUN_LEASE_MS: '2000',
      WORKER_HEARTBEAT_MS: '500',
    };
    // The first process migrates the database; the others then find it up to date.
    apis.push(await startAtelierProcess(['serve', '--no-worker'], env));
    apis.push(await startAtelierProcess(['serve', '--no-worker'], env));
    workers.push(...(await Promise.all(sandboxes.map(startWorker))));
  }, 120_000);

  afterAll(async () => {
    for (const p of [...apis, ...workers, ...spare]) await p.dispose();
    for (const s of sandboxes) await s.stop();
    await rm(sandboxDir, { recursive: true, force: true });
    await db?.drop();
  });

  it('every replica lists both worker processes and their ComfyUI servers', async () => {
    const QUERY = '{ queue { workers { url healthy } processes { id role comfyui { url } } } }';
    type Q = {
      queue: {
        workers: { url: string; healthy: boolean }[];
        processes: { id: string; role: string; comfyui: { url: string }[] }[];
      };
    };
    const urls = sandboxes.map((s) => s.url).sort();
    for (const i of [0, 1]) {
      await until(async () => {
        const { data } = await api(i).gql<Q>(QUERY);
        return (
          data?.queue.processes.length === 2 &&
          data.queue.workers.filter((w) => w.healthy).length === 2
        );
      }, `replica ${i} to list both workers`);
      const { data } = await api(i).gql<Q>(QUERY);
      expect(data!.queue.workers.map((w) => w.url).sort()).toEqual(urls);
      expect(data!.queue.processes.map((p) => p.role)).toEqual(['worker', 'worker']);
      expect(data!.queue.processes.flatMap((p) => p.comfyui.map((c) => c.url)).sort()).toEqual(
        urls,
      );
    }
  });

  it('40 runs created alternately on both replicas: each executed once, every event reaches a subscriber on the other replica, positions agree', async () => {
    // Blockers take every slot of the cluster first (2 servers × 1 running + 1 queued) and
    // the run each worker process prepares ahead (DISPATCH_AHEAD: one per server), so the
    // 40 runs wait in the queue until their subscribers are there; then they run fast.
    const before = new Set(executed(sandboxes));
    const succeededBefore = sandboxes.map((s) => s.stats().succeeded);
    for (const s of sandboxes) s.setKnobs({ stepDelayMs: 200 });
    const blockers = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => createRunOk(api(i), run(`blocker ${i}`, 50))),
    );
    await until(async () => {
      const { data } = await api(0).gql<{ queue: { running: number } }>('{ queue { running } }');
      return data?.queue.running === 6;
    }, 'the blockers to take every slot and the runs prepared ahead');
    const created = await Promise.all(
      Array.from({ length: 40 }, (_, i) => createRunOk(api(i), run(`cluster run ${i}`, 8))),
    );
    const watches = created.map((r, i) => watchRunWs(api(i + 1), r.id, { timeoutMs: 90_000 }));

    // Positions come from one place: while runs wait, both replicas show the same ones.
    type Q = { queue: { viewerRuns: { run: { id: string }; position: number | null }[] } };
    const QUERY = '{ queue { viewerRuns { run { id } position } } }';
    let compared = false;
    for (let tries = 0; tries < 50 && !compared; tries++) {
      const [a, b] = await Promise.all([api(0).gql<Q>(QUERY), api(1).gql<Q>(QUERY)]);
      const queued = (r: typeof a) => r.data!.queue.viewerRuns.filter((v) => v.position !== null);
      const qa = queued(a);
      const qb = queued(b);
      if (!qa.length) break;
      const ids = (q: typeof qa) => q.map((v) => v.run.id).join();
      if (ids(qa) !== ids(qb)) continue; // a run was claimed between the two reads
      expect(qb.map((v) => v.position)).toEqual(qa.map((v) => v.position));
      expect(qa.map((v) => v.position)).toEqual(qa.map((_, i) => i + 1));
      compared = true;
    }
    expect(compared, 'both replicas read the same queued runs at least once').toBe(true);
    // Every subscriber is in place (its SNAPSHOT shows the run queued): let them go.
    await until(
      async () =>
        (await Promise.all(created.map((r) => getRun(api(0), r.id)))).every(
          (r) => r.status === 'QUEUED',
        ),
      'the runs to wait',
    );
    for (const s of sandboxes) s.setKnobs({ stepDelayMs: 20 });

    for (const b of blockers) {
      await until(async () => (await getRun(api(0), b.id)).status === 'SUCCEEDED', 'a blocker');
    }
    const events = await Promise.all(
      watches.map((w, i) =>
        w.catch(async (error: unknown) => {
          const now = await getRun(api(0), created[i]!.id);
          throw new Error(`${String(error)}; the run is now ${JSON.stringify(now)}`);
        }),
      ),
    );
    for (const [i, list] of events.entries()) {
      expectWellFormed(list);
      expect(list[0]!.run.status).toBe('QUEUED');
      expect(list.map((e) => e.type)).toEqual(
        expect.arrayContaining(['STAGE_STARTED', 'STAGE_PROGRESS', 'OUTPUT', 'RUN_FINISHED']),
      );
      const last = list.at(-1)!;
      expect(last.run.status, `run ${i}`).toBe('SUCCEEDED');
      expect(last.run.attempt).toBe(1);
      expect(list.some((e) => e.type === 'OUTPUT')).toBe(true);
      expect(last.run.outputs).toHaveLength(1);
    }
    // Exactly once: 46 new prompts (40 runs, 6 blockers) executed in all, none twice, on
    // both sandboxes.
    const fresh = executed(sandboxes).filter((id) => !before.has(id));
    expect(fresh).toHaveLength(46);
    expect(new Set(fresh).size).toBe(46);
    const perSandbox = sandboxes.map((s, i) => s.stats().succeeded - succeededBefore[i]!);
    expect(perSandbox[0]! + perSandbox[1]!).toBe(46);
    expect(Math.min(...perSandbox)).toBeGreaterThan(0);
  }, 120_000);

  it('cancelRun on a replica that does not execute the run stops it on its ComfyUI', async () => {
    const created = await createRunOk(api(0), run('a long cluster run', 50));
    const watch = watchRunWs(api(1), created.id, { timeoutMs: 60_000 });
    await until(async () => {
      const r = await getRun(api(1), created.id);
      return r.status === 'RUNNING' && r.worker !== null && (r.progress ?? 0) > 0.1;
    }, 'the run to be sampling');
    const { worker } = await getRun(api(1), created.id);
    const sandbox = sandboxes.find((s) => s.url === worker)!;
    const interrupted = sandbox.stats().interrupted;
    const result = await api(1).gql<{ cancelRun: { __typename: string } }>(
      'mutation($id: ID!) { cancelRun(id: $id) { __typename } }',
      { id: created.id },
    );
    expect(result.data!.cancelRun.__typename).toBe('CancelRunSuccess');
    const events = await watch;
    expect(events.at(-1)!.type).toBe('RUN_FINISHED');
    expect(events.at(-1)!.run.status).toBe('CANCELED');
    expect(sandbox.stats().interrupted).toBe(interrupted + 1);
  }, 90_000);

  it('kill -9 of a worker process at several moments: every run still succeeds, no prompt runs twice', async () => {
    const before = new Set(executed(sandboxes));
    const moments: { what: string; when: (r: Awaited<ReturnType<typeof getRun>>) => boolean }[] = [
      // its prompt has just reached the ComfyUI server
      { what: 'submitted', when: (r) => r.status === 'RUNNING' && r.worker !== null },
      // half through sampling
      { what: 'sampling', when: (r) => r.status === 'RUNNING' && r.progress > 0.5 },
    ];
    const runs: string[] = [];
    for (const [round, moment] of moments.entries()) {
      const batch = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          createRunOk(api(i), run(`kill round ${round} run ${i}`, 12)),
        ),
      );
      runs.push(...batch.map((r) => r.id));
      const victim = workers[round % 2]!;
      const victimSandbox = sandboxes[round % 2]!.url;
      await until(async () => {
        for (const r of batch) {
          const now = await getRun(api(0), r.id);
          if (now.worker === victimSandbox && moment.when(now)) return true;
        }
        return false;
      }, `a run on the victim to be ${moment.what}`);
      await victim.kill();
      // The cluster gets its worker back (a new process, a new instance) for the next round.
      const replacement = await startWorker(sandboxes[round % 2]!);
      spare.push(victim);
      workers[round % 2] = replacement;
    }
    for (const id of runs) {
      await until(
        async () => !['QUEUED', 'RUNNING'].includes((await getRun(api(1), id)).status),
        `run ${id} to finish`,
        60_000,
      ).catch(async (error: unknown) => {
        // Say where the run is stuck: its row, and what every process logged about it.
        const lines = [...workers, ...spare, ...apis].flatMap((p, i) =>
          p
            .log()
            .split('\n')
            .filter((line) => line.includes(id))
            .map((line) => `process ${i} (pid ${p.child.pid}): ${line}`),
        );
        throw new Error(
          `${String(error)}\nrun: ${JSON.stringify(await getRun(api(1), id))}\n${lines.join('\n')}`,
        );
      });
      const done = await getRun(api(1), id);
      expect(done.status, JSON.stringify(done.error)).toBe('SUCCEEDED');
      expect(done.outputs).toHaveLength(1);
    }
    const fresh = executed(sandboxes).filter((id) => !before.has(id));
    expect(new Set(fresh).size).toBe(fresh.length);
    expect(fresh).toHaveLength(runs.length);
  }, 180_000);

  it('kill -9 of an API replica: a subscriber that reconnects to the other replica sees the run finish', async () => {
    const created = await createRunOk(api(0), run('watched through a dying replica', 50));
    const seen: RunEventView[] = [];
    const first = watchRunWs(api(1), created.id, {
      timeoutMs: 60_000,
      onEvent: (e) => seen.push(e),
    }).catch((error: unknown) => error);
    await until(async () => seen.some((e) => e.type === 'STAGE_PROGRESS'), 'live progress');
    const dying = apis[1]!;
    await dying.kill();
    await first; // the socket closed under the subscriber, before the run finished
    expect(seen.map((e) => e.type)).not.toContain('RUN_FINISHED');
    const again = await watchRunWs(api(0), created.id, { timeoutMs: 60_000 });
    expectWellFormed(again);
    expect(again.at(-1)!.run.status).toBe('SUCCEEDED');
    expect(again.at(-1)!.run.outputs).toHaveLength(1);
    spare.push(dying);
    apis[1] = await startAtelierProcess(['serve', '--no-worker'], env);
  }, 90_000);
});
