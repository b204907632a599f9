// A freed ComfyUI slot is refilled in the same tick: the job waiting for a slot gets it when
// the worker lets go of the previous prompt, before any timer or I/O callback runs (no
// polling loop in between), and before the previous job's outputs are downloaded.
import { afterAll, expect, test } from 'vitest';
import { jobFor, minimalGraph, startWorker, stopSandboxes } from './comfyui.fixtures.ts';
import { ComfyPool } from './pool.ts';

afterAll(stopSandboxes);

test('a job waiting for a slot takes it in the tick the previous prompt releases it', async () => {
  const sandbox = await startWorker({ stepDelayMs: 0 });
  const pool = new ComfyPool({ urls: [sandbox.url], slotsPerWorker: 1, healthIntervalMs: 60_000 });
  await pool.start();
  await pool.probed();
  try {
    const order: string[] = [];
    const never = new AbortController().signal;
    const first = pool.execute(
      await jobFor(minimalGraph('test/first')),
      (event) => {
        if (event.type !== 'released') return;
        order.push('first released');
        // Runs after every microtask of this tick and before the next timers or I/O.
        setImmediate(() => order.push('next macrotask'));
      },
      never,
    );
    const second = pool.execute(
      await jobFor(minimalGraph('test/second'), {
        beforeSubmit: async () => {
          order.push('second takes the slot');
        },
      }),
      () => {},
      never,
    );
    const [a, b] = await Promise.all([first, second]);
    expect(order.slice(0, 3)).toEqual([
      'first released',
      'second takes the slot',
      'next macrotask',
    ]);
    expect(a.outputs).toHaveLength(1);
    expect(b.outputs).toHaveLength(1);
  } finally {
    await pool.stop();
  }
});
