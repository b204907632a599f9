// Interrupts land where ComfyUI's do: the flag is looked at before each node and at each
// sampler step, so a sampler step or a slow node in progress finishes first. The prompt log
// records when the interrupt arrived and when it took effect.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, startSandbox } from './sandbox.ts';
import type { Loose } from './testing.ts';
import { getJson, postJson, txt2img, WsClient } from './testing.ts';

let sb: Sandbox;
let c: WsClient;

beforeAll(async () => {
  sb = await startSandbox({ log: false });
  c = await WsClient.connect(sb.wsUrl('interrupts'));
});

afterAll(async () => {
  await c.close();
  await sb.stop();
});

async function submit(seed: number, steps: number): Promise<string> {
  const r = await postJson(`${sb.url}/prompt`, {
    prompt: txt2img(seed, steps, `interrupt ${seed}`),
    client_id: 'interrupts',
  });
  expect(r.status, r.text).toBe(200);
  return r.json.prompt_id as string;
}

function logEntry(id: string) {
  const entry = sb.stats().log.find((e) => e.promptId === id);
  if (!entry) throw new Error(`no log entry for ${id}`);
  return entry;
}

describe('interrupt semantics', () => {
  it('inside a sampler: the step in progress finishes, the next step check stops it', async () => {
    const stepMs = 300;
    sb.setStepDelay(stepMs);
    try {
      const id = await submit(201, 20);
      const first = await c.json((m) => m.type === 'progress' && m.data.prompt_id === id);
      expect(first.data.value).toBe(1);
      // Mid-step 2: the step keeps going to its end.
      const cancel = await postJson(`${sb.url}/api/jobs/${id}/cancel`, {});
      expect(cancel.json).toEqual({ cancelled: true });
      expect((await getJson(`${sb.url}/api/jobs/${id}`)).status).toBe('in_progress');
      await c.finished(id);

      const msgs = c.forPrompt(id);
      const interrupted = msgs.find((m) => m.type === 'execution_interrupted')!;
      expect(interrupted.data).toMatchObject({ node_id: '3', node_type: 'KSampler' });
      // The interrupt is checked before a step is reported: no step after the one running.
      const steps = msgs.filter((m) => m.type === 'progress').map((m) => m.data.value);
      expect(Math.max(...(steps as number[]))).toBeLessThanOrEqual(2);
      expect(msgs.map((m) => m.type)).not.toContain('execution_success');

      const entry = logEntry(id);
      expect(entry.outcome).toBe('interrupted');
      expect(entry.interruptedNode).toBe('3');
      expect(entry.interruptRequestedAt).toBeDefined();
      // It took effect at the end of the step, not at once.
      expect(entry.interruptedAt! - entry.interruptRequestedAt!).toBeGreaterThan(stepMs / 10);
      expect(entry.interruptedAt!).toBe(interrupted.data.timestamp);
      expect((await getJson(`${sb.url}/api/jobs/${id}`)).status).toBe('cancelled');
      const h = (await getJson(`${sb.url}/history/${id}`))[id] as Loose;
      expect(h.status.messages.at(-1)[0]).toBe('execution_interrupted');
    } finally {
      sb.setStepDelay(0);
    }
  });

  it('in a slow node without progress checks: the node finishes, the next node stops', async () => {
    sb.slowNode({ classType: 'VAEDecode', delayMs: 800, times: 1 });
    const id = await submit(202, 2);
    await c.json((m) => m.type === 'executing' && m.data.prompt_id === id && m.data.node === '8');
    const requestedAt = Date.now();
    await postJson(`${sb.url}/interrupt`, { prompt_id: id });
    expect((await getJson(`${sb.url}/api/jobs/${id}`)).status).toBe('in_progress');
    await c.finished(id);

    const interrupted = c.forPrompt(id).find((m) => m.type === 'execution_interrupted')!;
    // VAEDecode (8) ran to its end; SaveImage (9) was about to start.
    expect(interrupted.data).toMatchObject({ node_id: '9', node_type: 'SaveImage' });
    expect(interrupted.data.executed as string[]).toContain('8');
    const entry = logEntry(id);
    expect(entry.interruptedNode).toBe('9');
    expect(entry.interruptRequestedAt!).toBeGreaterThanOrEqual(requestedAt);
    expect(entry.interruptedAt!).toBeGreaterThan(entry.interruptRequestedAt!);
    expect((await getJson(`${sb.url}/api/jobs/${id}`)).status).toBe('cancelled');
    expect(sb.faults().slowNodes).toEqual([]);
  });

  it('arms slow nodes through the control route and counts requests', async () => {
    sb.resetStats();
    const r = await postJson(`${sb.url}/sandbox/faults`, {
      type: 'slow-node',
      classType: 'ImageInvert',
      delayMs: 5,
      times: 2,
    });
    expect(r.status).toBe(200);
    expect(sb.faults().slowNodes).toEqual([{ classType: 'ImageInvert', delayMs: 5, times: 2 }]);
    expect((await postJson(`${sb.url}/sandbox/faults`, { type: 'slow-node' })).status).toBe(400);
    sb.clearFaults();
    await getJson(`${sb.url}/api/jobs?limit=1`);
    expect(sb.requests().map((q) => `${q.method} ${q.path}`)).toEqual(['GET /api/jobs']);
  });
});
