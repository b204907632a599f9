// Pieces whose exact behaviour other tests rely on: Python-style JSON, the heapq-ordered
// queue, the deterministic picture and the background-removal mask.
import { describe, expect, it } from 'vitest';
import { PyFloat, pyDumps } from './pyjson.ts';
import { PromptQueue, type QueueItem } from './queue.ts';
import { captionSvg, foregroundMask, renderPicture } from './render.ts';

describe('pyDumps', () => {
  it('writes what json.dumps writes', () => {
    expect(pyDumps({ a: 1, b: [true, null, 'x'], c: { d: new PyFloat(12) }, e: 'é✓' })).toBe(
      '{"a": 1, "b": [true, null, "x"], "c": {"d": 12.0}, "e": "\\u00e9\\u2713"}',
    );
    expect(pyDumps(new PyFloat(0.5))).toBe('0.5');
    expect(pyDumps('line\n"q"')).toBe('"line\\n\\"q\\""');
  });
});

describe('PromptQueue', () => {
  const item = (number: number, promptId: string): QueueItem => ({
    number,
    promptId,
    prompt: {},
    extraData: {},
    outputsToExecute: [],
    sensitive: {},
  });

  it('pops the lowest number first, ties broken by prompt_id, and counts running items', async () => {
    let changes = 0;
    const q = new PromptQueue(() => changes++);
    q.put(item(2, 'b'));
    q.put(item(-1, 'z'));
    q.put(item(2, 'a'));
    q.put(item(0, 'c'));
    expect(q.tasksRemaining()).toBe(4);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) {
      const next = (await q.get())!;
      order.push(next.promptId);
      expect(q.tasksRemaining()).toBe(4 - i);
      q.taskDone(next.promptId, { outputs: {}, meta: {} }, null);
    }
    expect(order).toEqual(['z', 'c', 'a', 'b']);
    expect(Object.keys(q.getHistory())).toEqual(order);
    expect(changes).toBe(12); // put, get and task_done each broadcast
  });

  it('deletes a pending item and keeps the heap ordered', async () => {
    const q = new PromptQueue(() => {});
    for (const [n, id] of [
      [5, 'e'],
      [1, 'a'],
      [3, 'c'],
      [2, 'b'],
      [4, 'd'],
    ] as const) {
      q.put(item(n, id));
    }
    expect(q.deleteQueueItem((i) => i.promptId === 'b')).toBe(true);
    expect(q.deleteQueueItem((i) => i.promptId === 'b')).toBe(false);
    const order: string[] = [];
    while (q.tasksRemaining() > 0) {
      const next = (await q.get())!;
      order.push(next.promptId);
      q.taskDone(next.promptId, { outputs: {}, meta: {} }, null);
    }
    expect(order).toEqual(['a', 'c', 'd', 'e']);
  });
});

describe('the picture stand-in', () => {
  it('is deterministic in seed and prompt, and differs when they change', () => {
    const req = { seed: 42, text: 'a lighthouse', width: 48, height: 32 };
    const a = renderPicture(req);
    expect(renderPicture(req).data.equals(a.data)).toBe(true);
    expect(renderPicture({ ...req, seed: 43 }).data.equals(a.data)).toBe(false);
    expect(renderPicture({ ...req, text: 'a tower' }).data.equals(a.data)).toBe(false);
    expect(renderPicture({ ...req, time: 0.5 }).data.equals(a.data)).toBe(false);
  });

  it('keeps the base image outside an inpaint mask', () => {
    const base = renderPicture({ seed: 1, text: 'base', width: 20, height: 10 });
    const mask = { width: 20, height: 10, data: new Float32Array(200) };
    for (let i = 0; i < 100; i++) mask.data[i] = 1; // top half repainted
    const out = renderPicture({ seed: 2, text: 'edit', width: 20, height: 10, base, mask });
    expect(out.data.subarray(300).equals(base.data.subarray(300))).toBe(true);
    expect(out.data.subarray(0, 300).equals(base.data.subarray(0, 300))).toBe(false);
  });

  it('finds a subject on the gradient background', () => {
    const img = renderPicture({ seed: 9, text: 'subject', width: 80, height: 80 });
    const m = foregroundMask(img);
    const fg = m.data.reduce((s, v) => s + v, 0) / m.data.length;
    expect(fg).toBeGreaterThan(0.03);
    expect(fg).toBeLessThan(0.95);
    expect(m.data[0]).toBe(0); // a corner is background
  });

  it('captions with a SANDBOX badge drawn as shapes (no fonts needed)', () => {
    const svg = captionSvg(64, 64, 'hello', 'seed 1');
    expect(svg).toMatch(/^<svg [^>]*width="64" height="64"/);
    expect(svg).not.toContain('<text');
    expect(svg).toMatch(/<path fill="#fff" d="M/);
  });
});
