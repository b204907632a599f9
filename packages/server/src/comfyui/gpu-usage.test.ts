import { describe, expect, it } from 'vitest';
import { GpuUsage } from './gpu-usage.ts';

/** A GpuUsage on a clock the test moves (ms). */
function usage(windowMs = 10_000) {
  let now = 0;
  const gpu = new GpuUsage(windowMs, () => now);
  return { gpu, at: (ms: number) => (now = ms) };
}

describe('GpuUsage', () => {
  it('reports the idle gap between one prompt ending and the next starting', () => {
    const { gpu, at } = usage();
    at(100);
    expect(gpu.started()).toBeNull(); // the first prompt ends no gap
    at(1_100);
    gpu.ended();
    at(1_350);
    expect(gpu.started()).toBeCloseTo(0.25);
    // The next one started before we saw this one end: no idle time at all.
    at(2_000);
    expect(gpu.started()).toBe(0);
    gpu.ended();
    at(2_500);
    gpu.ended();
    at(2_500);
    expect(gpu.started()).toBe(0);
  });

  it('counts busy time in total and as a share of the window', () => {
    const { gpu, at } = usage(10_000);
    at(0);
    gpu.started();
    at(3_000);
    gpu.ended();
    at(5_000);
    gpu.started();
    at(6_000);
    // Busy 0-3 s and 5-6 s (still running) out of 6 s.
    expect(gpu.busySeconds()).toBeCloseTo(4);
    expect(gpu.busyRatio()).toBeCloseTo(4 / 6);
    gpu.ended();
    at(20_000);
    // Window 10-20 s: nothing ran in it; the total stays.
    expect(gpu.busyRatio()).toBe(0);
    expect(gpu.busySeconds()).toBeCloseTo(4);
  });

  it('cuts a busy interval at the start of the window', () => {
    const { gpu, at } = usage(10_000);
    at(0);
    gpu.started();
    at(15_000);
    gpu.ended();
    at(20_000);
    // Window 10-20 s: busy 10-15 s.
    expect(gpu.busyRatio()).toBeCloseTo(0.5);
    gpu.started();
    at(25_000);
    // Window 15-25 s: busy 20-25 s (running).
    expect(gpu.busyRatio()).toBeCloseTo(0.5);
  });

  it('ignores an end without a start', () => {
    const { gpu, at } = usage();
    at(1_000);
    gpu.ended();
    expect(gpu.busySeconds()).toBe(0);
    expect(gpu.started()).toBeNull();
  });
});
