// Dispatch keeps ComfyUI busy: a run holds a slot only while ComfyUI holds its prompt. Its
// prompt stages run before it takes one (prepared ahead, it waits in the pool and takes the
// slot in the tick it frees); its outputs are stored after it gave the slot back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { T2I } from './fixtures/hardening.ts';
import { createRunOk, getRun, until, watchRunWs } from './fixtures/runs.ts';
import { type TestServer as FullTestServer, startTestServer } from './harness.ts';

describe('dispatch', () => {
  describe('one slot, nothing prepared ahead', () => {
    let server: FullTestServer;
    beforeAll(async () => {
      server = await startTestServer({
        COMFYUI_SLOTS_PER_WORKER: '1',
        DISPATCH_AHEAD: '0',
        SANDBOX_STEP_DELAY_MS: '0',
      });
    });
    afterAll(() => server?.stop());

    it('the next run reaches ComfyUI while the previous run is still storing its outputs', async () => {
      const sandbox = server.app.sandbox!;
      const storage = server.app.services.storage;
      const put = storage.put.bind(storage);
      let openGate: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      let blocked = 0;
      storage.put = async (key, data) => {
        if (key.startsWith('outputs/')) {
          blocked++;
          await gate;
        }
        return put(key, data);
      };
      try {
        const a = await createRunOk(server, { ...T2I, prompt: 'first, stored slowly' });
        await until(async () => blocked > 0, 'the first run to be storing its output');
        const b = await createRunOk(server, { ...T2I, prompt: 'second, while the first stores' });
        // The only slot is free while the first run stores: the second is executed meanwhile.
        await until(
          async () => sandbox.stats().log.some((p) => p.outcome === 'success' && p.number >= 1),
          'the second prompt to run on the sandbox while the first run stores',
        );
        expect((await getRun(server, a.id)).status).toBe('RUNNING');
        expect(sandbox.stats().log.length).toBe(2);
        openGate();
        const [doneA, doneB] = await Promise.all([
          watchRunWs(server, a.id),
          watchRunWs(server, b.id),
        ]);
        expect(doneA.at(-1)?.run.status).toBe('SUCCEEDED');
        expect(doneB.at(-1)?.run.status).toBe('SUCCEEDED');
      } finally {
        openGate();
        storage.put = put;
      }
    });
  });

  describe('an empty queue', () => {
    let server: FullTestServer;
    beforeAll(async () => {
      server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
    });
    afterAll(() => server?.stop());

    it('is not asked again when a run frees its slot and ends, unless a run was queued since', async () => {
      const queue = server.app.services.queue;
      const next = queue.next.bind(queue);
      const answers: string[] = [];
      queue.next = async (capable, claim) => {
        const run = await next(capable, claim);
        answers.push(run ? 'run' : 'none');
        return run;
      };
      try {
        // The scheduler's first look (or its poll) finds nothing.
        await until(async () => answers.includes('none'), 'a claim that finds the queue empty');
        answers.length = 0;
        const since = Date.now();
        const runs = [];
        for (let i = 0; i < 3; i++) {
          const run = await createRunOk(server, { ...T2I, prompt: `claimed on create ${i}` });
          const events = await watchRunWs(server, run.id);
          expect(events.at(-1)?.run.status).toBe('SUCCEEDED');
          runs.push(run);
        }
        // Each run freed a slot and ended (wake-ups that asked the queue each time before: 12
        // claims here); only the safety-net poll may have asked meanwhile, once a second.
        const polls = Math.floor((Date.now() - since) / 1000) + 1;
        expect(answers.length).toBeLessThanOrEqual(polls);
      } finally {
        queue.next = next;
      }
    });

    it('is asked again after a claim that gave up because other processes took its runs first', async () => {
      const { queue, scheduler } = server.app.services;
      const next = queue.next.bind(queue);
      let asked = 0;
      let contend = false;
      let answering: Promise<unknown> = Promise.resolve();
      queue.next = (capable, claim) => {
        asked++;
        if (contend) {
          // What BullMQ's queue does after every job it tried went to another process.
          contend = false;
          claim.contended?.();
          answering = Promise.resolve(null);
        } else {
          answering = next(capable, claim);
        }
        return answering as ReturnType<typeof next>;
      };
      // The claim answered and the scheduler's pump has ended.
      const settled = async () => {
        await answering;
        await new Promise((resolve) => setImmediate(resolve));
      };
      try {
        // Right after the safety-net poll asked (the next one is a second away).
        await until(async () => asked > 0, "the poll's claim");
        await settled();
        // Empty: a wake-up for a freed slot does not ask the queue.
        asked = 0;
        scheduler.notify();
        await settled();
        expect(asked).toBe(0);
        // A claim that gave up with runs still waiting...
        contend = true;
        scheduler.notify(true);
        await settled();
        expect(asked).toBe(1);
        // ...leaves the queue not empty: the next wake-up asks again.
        asked = 0;
        scheduler.notify();
        await settled();
        expect(asked).toBe(1);
      } finally {
        queue.next = next;
      }
    });
  });

  describe('stopping', () => {
    let server: FullTestServer;
    beforeAll(async () => {
      server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
    });
    afterAll(() => server?.stop());

    it('waits for an upkeep under way, which ends before the database closes', async () => {
      const { queue, scheduler } = server.app.services;
      const repair = queue.repair.bind(queue);
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let repairing = 0;
      queue.repair = async () => {
        repairing++;
        await gate;
        return repair();
      };
      const order: string[] = [];
      try {
        // The first upkeep (a second after start) looks for jobs the queue lost.
        await until(async () => repairing > 0, 'an upkeep under way');
        const stopped = scheduler.stop().then(() => order.push('stopped'));
        // Time for a stop that does not wait to end.
        await new Promise((resolve) => setTimeout(resolve, 200));
        order.push('released');
        release();
        await stopped;
        expect(order).toEqual(['released', 'stopped']);
        expect(repairing).toBe(1);
      } finally {
        release();
        queue.repair = repair;
      }
    });
  });

  describe('two slots, one run prepared ahead', () => {
    let server: FullTestServer;
    beforeAll(async () => {
      server = await startTestServer({
        COMFYUI_SLOTS_PER_WORKER: '2',
        DISPATCH_AHEAD: '1',
        SANDBOX_STEP_DELAY_MS: '0',
      });
    });
    afterAll(() => server?.stop());

    it('a run beyond the slots runs its prompt stages, then waits for a slot, and takes it when one frees', async () => {
      const sandbox = server.app.sandbox!;
      sandbox.hangNextPrompt({ afterSteps: 0 });
      const a = await createRunOk(server, { ...T2I, prompt: 'holds the first slot' });
      const b = await createRunOk(server, { ...T2I, prompt: 'holds the second slot' });
      const c = await createRunOk(server, { ...T2I, prompt: 'prepared ahead' });
      const d = await createRunOk(server, { ...T2I, prompt: 'stays queued' });
      await until(async () => sandbox.hanging, 'the first prompt to hang');
      await until(async () => {
        const run = await getRun(server, c.id);
        return run.stages.find((s) => s.kind === 'GENERATE')?.status === 'RUNNING';
      }, 'the third run to finish its prompt stages');
      const prepared = await getRun(server, c.id);
      expect(prepared.status).toBe('RUNNING');
      expect(prepared.worker).toBeNull();
      expect(prepared.effectivePrompt).toContain('prepared ahead');
      for (const stage of prepared.stages.filter((s) => s.kind !== 'GENERATE')) {
        expect(['SUCCEEDED', 'SKIPPED']).toContain(stage.status);
      }
      expect(prepared.stages.find((s) => s.kind === 'GENERATE')?.message).toBe(
        'Waiting for a worker',
      );
      // Slots plus one prepared: the fourth waits in the queue.
      const queued = await getRun(server, d.id);
      expect(queued.status).toBe('QUEUED');
      expect(queued.queuePosition).toBe(1);
      // ComfyUI holds two prompts (the hanging one and the one behind it), not the third.
      expect(
        sandbox.requests().filter((r) => r.method === 'POST' && r.path === '/prompt').length,
      ).toBe(2);

      sandbox.releaseHang();
      const runs = await Promise.all([a, b, c, d].map((r) => watchRunWs(server, r.id)));
      for (const events of runs) expect(events.at(-1)?.run.status).toBe('SUCCEEDED');
    });
  });
});
