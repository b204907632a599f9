// useRun's state over a long watch: 500 events, a preview image in every fifth, reduced the
// way the hook reduces them. What it holds stays bounded: the run, the latest preview, and
// the last 50 events without images.
import { describe, expect, it } from 'vitest';
import { RUN_EVENTS_KEPT, type RunState, reduceRunState } from '../src/react.ts';
import type { RunEvent } from '../src/runs.ts';

const IMAGE = `data:image/jpeg;base64,${'A'.repeat(40_000)}`;

function event(sequence: number, last: boolean): RunEvent {
  return {
    sequence,
    type: last ? 'RUN_FINISHED' : sequence % 5 === 0 ? 'PREVIEW' : 'STAGE_PROGRESS',
    stage: null,
    output: null,
    preview:
      sequence % 5 === 0 && !last
        ? { mimeType: 'image/jpeg', dataUrl: `${IMAGE}#${sequence}`, nodeId: '3' }
        : null,
    run: { id: 'UnVuOjE=', status: last ? 'SUCCEEDED' : 'RUNNING', sequence } as RunEvent['run'],
  } as RunEvent;
}

describe('useRun state (reduceRunState)', () => {
  it('over a 500-event run holds one preview and the last 50 events, however long it runs', () => {
    let state: RunState = {
      run: null,
      preview: null,
      events: [],
      received: 0,
      sequence: 0,
      finished: false,
      error: undefined,
    };
    let largest = 0;
    for (let i = 1; i <= 500; i++) {
      state = reduceRunState(state, event(i, i === 500));
      largest = Math.max(largest, JSON.stringify(state).length);
    }
    expect(state.received).toBe(500);
    expect(state.finished).toBe(true);
    expect(state.events).toHaveLength(RUN_EVENTS_KEPT);
    expect(state.events.map((e) => e.sequence)).toEqual(
      Array.from({ length: RUN_EVENTS_KEPT }, (_, i) => 451 + i),
    );
    // One image in memory: the latest preview (sequence 495), none inside the events.
    const held = JSON.stringify(state);
    expect(held.match(/data:image\/jpeg/g)).toHaveLength(1);
    expect(state.preview).toBe(`${IMAGE}#495`);
    expect(state.events.every((e) => e.preview === null)).toBe(true);
    // Bounded: about one image plus small events at every point (all 100 images: 4 MB).
    expect(largest).toBeLessThan(60_000);
  });

  it('keep: 0 holds no events, only the run and the latest preview', () => {
    let state: RunState = {
      run: null,
      preview: null,
      events: [],
      received: 0,
      sequence: 0,
      finished: false,
      error: undefined,
    };
    for (let i = 1; i <= 20; i++) state = reduceRunState(state, event(i, false), 0);
    expect(state.events).toEqual([]);
    expect(state.received).toBe(20);
    expect(state.preview).toBe(`${IMAGE}#20`);
  });

  it('drops repeats: the SNAPSHOT after a reconnect counts only when the run changed meanwhile', () => {
    let state: RunState = {
      run: null,
      preview: null,
      events: [],
      received: 0,
      sequence: 0,
      finished: false,
      error: undefined,
    };
    for (let i = 1; i <= 5; i++) state = reduceRunState(state, event(i, false));
    const before = state;
    // The resubscription's SNAPSHOT at the sequence already seen, and a stale event: no change.
    const snapshot = (sequence: number): RunEvent => ({
      ...event(sequence, false),
      type: 'SNAPSHOT',
    });
    state = reduceRunState(state, snapshot(5));
    state = reduceRunState(state, event(3, false));
    expect(state).toBe(before);
    // Something happened while the socket was down: the SNAPSHOT brings the run up to date.
    state = reduceRunState(state, snapshot(9));
    expect(state.received).toBe(6);
    expect(state.sequence).toBe(9);
    expect(state.run?.sequence).toBe(9);
    expect(state.events.map((e) => `${e.type}@${e.sequence}`).slice(-2)).toEqual([
      'PREVIEW@5',
      'SNAPSHOT@9',
    ]);
  });
});
