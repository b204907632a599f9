import { describe, expect, it } from 'vitest';
import { IDLE, withIdleTicks } from './idle-ticks.ts';

describe('withIdleTicks', () => {
  it('passes every item through once, with IDLE between items that are slow to come', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* source() {
      yield 1;
      await gate;
      yield 2;
    }
    const seen: (number | typeof IDLE)[] = [];
    for await (const item of withIdleTicks(source(), 5, 20)) {
      seen.push(item);
      if (seen.filter((i) => i === IDLE).length === 3) release();
    }
    expect(seen.filter((i) => i !== IDLE)).toEqual([1, 2]);
    expect(seen[0]).toBe(1);
    expect(seen.at(-1)).toBe(2);
    expect(seen.filter((i) => i === IDLE)).toHaveLength(3);
  });
});
