import { describe, expect, it } from 'vitest';
import { eventReadKey, SharedReads } from './shared-reads.ts';

const run = 'r1';
const at = (sequence: number) => ({ runId: run, sequence });

describe('SharedReads', () => {
  it('shares a read among subscribers of one event, and reads again for a newer event', async () => {
    const reads = new SharedReads();
    let loads = 0;
    const load = async () => ++loads;
    const key = eventReadKey('run', at(1), { select: { id: true } });
    reads.arrived(at(1));
    expect(await reads.read(key, at(1), load)).toBe(1);
    expect(await reads.read(key, at(1), load)).toBe(1);
    reads.arrived(at(2));
    expect(await reads.read(key, at(2), load)).toBe(2);
    expect(reads.stats).toEqual({ loads: 2, shared: 1 });
  });

  it('lets the events written before a read started share it', async () => {
    const reads = new SharedReads();
    let loads = 0;
    const load = async () => ++loads;
    const key = eventReadKey('run', at(5), {});
    // The end of a run: events 5..8 written by one statement, all arrived before the first
    // delivery reads.
    for (const s of [5, 6, 7, 8]) reads.arrived(at(s));
    for (const s of [5, 6, 7, 8]) expect(await reads.read(key, at(s), load)).toBe(1);
    // An event after the read started reads anew.
    reads.arrived(at(9));
    expect(await reads.read(key, at(9), load)).toBe(2);
    expect(loads).toBe(2);
  });

  it('keeps different selections and different things apart, and drops failed reads', async () => {
    const reads = new SharedReads();
    reads.arrived(at(1));
    const a = eventReadKey('run', at(1), { select: { id: true } });
    const b = eventReadKey('run', at(1), { select: { status: true } });
    const c = eventReadKey('stage:GENERATE', at(1), { select: { id: true } });
    expect(new Set([a, b, c]).size).toBe(3);
    await expect(reads.read(a, at(1), () => Promise.reject(new Error('down')))).rejects.toThrow();
    expect(await reads.read(a, at(1), async () => 'again')).toBe('again');
  });
});
