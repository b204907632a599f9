// throttleLatest on fake timers: at most one call per interval, the latest value last, and a
// schedule that a late timer does not push back.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { throttleLatest } from './run-events.ts';

describe('throttleLatest', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers the first value at once and the latest of a burst at the next slot', async () => {
    const seen: [number, number][] = [];
    const t = throttleLatest(
      100,
      () => {},
      async (v: number) => {
        seen.push([Date.now() - 1_000_000, v]);
      },
    );
    t.push(1);
    t.push(2);
    t.push(3);
    await vi.advanceTimersByTimeAsync(150);
    expect(seen).toEqual([
      [0, 1],
      [100, 3],
    ]);
  });

  it('keeps its slots when a timer fires late, so the rate holds at the cap', async () => {
    // Only the timers are fake here; the clock moves by hand, so a timer can fire late.
    vi.useRealTimers();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const start = 10_000;
    let clock = start;
    vi.spyOn(Date, 'now').mockImplementation(() => clock);
    const seen: number[] = [];
    const t = throttleLatest(
      100,
      () => {},
      async () => {
        seen.push(clock - start);
      },
    );
    t.push(0); // slot 0
    t.push(1); // a timer for slot 100
    await vi.advanceTimersByTimeAsync(0); // slot 0's delivery runs
    clock = start + 140; // the event loop was busy: the timer fires 40 ms late
    await vi.advanceTimersByTimeAsync(100);
    t.push(2); // the next slot is 200, not 240
    clock = start + 200;
    await vi.advanceTimersByTimeAsync(60);
    t.push(3);
    clock = start + 300;
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toEqual([0, 140, 200, 300]);
    vi.restoreAllMocks();
  });

  it('starts its schedule again after a quiet spell', async () => {
    const seen: number[] = [];
    const t = throttleLatest(
      100,
      () => {},
      async () => {
        seen.push(Date.now() - 1_000_000);
      },
    );
    t.push(0);
    await vi.advanceTimersByTimeAsync(1_000);
    t.push(1); // long after the last slot: at once, and the next slot is 100 ms later
    t.push(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(seen).toEqual([0, 1_000, 1_100]);
  });

  it('take() hands over what is pending instead of delivering it', async () => {
    const seen: number[] = [];
    const t = throttleLatest(
      100,
      () => {},
      async (v: number) => {
        seen.push(v);
      },
    );
    t.push(1);
    t.push(2);
    expect(await t.take()).toBe(2);
    await vi.advanceTimersByTimeAsync(200);
    expect(seen).toEqual([1]);
    expect(await t.take()).toBeNull();
  });
});
