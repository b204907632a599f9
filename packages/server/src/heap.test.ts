import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapFlagsWhenReady } from './heap.ts';

describe('heapFlagsWhenReady', () => {
  it('lets the held young generation grow again and widens the old generation headroom', () => {
    expect(heapFlagsWhenReady('', true)).toEqual([
      '--semi-space-growth-factor=2',
      `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
    ]);
  });

  it('leaves the young generation alone when the bin did not hold it', () => {
    expect(heapFlagsWhenReady('--max-semi-space-size=8', false)).toEqual([
      `--heap-growing-percent=${HEAP_GROWING_PERCENT}`,
    ]);
  });

  it('keeps a growing factor the user passed, in execArgv or NODE_OPTIONS', () => {
    expect(heapFlagsWhenReady('--heap-growing-percent=30', true)).toEqual([
      '--semi-space-growth-factor=2',
    ]);
    expect(heapFlagsWhenReady('--inspect --heap_growing_percent=30', false)).toEqual([]);
  });
});
