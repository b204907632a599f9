// The progress reporter: a redrawn bar on a terminal, one line per change elsewhere.
import type { Run } from '@atelier/sdk';
import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../src/progress.ts';

const STAGES = ['TRANSLATE', 'STYLE', 'OPTIMIZE', 'GENERATE'] as const;

function run(status: Run['status'], progress: number, stages: string[], message?: string): Run {
  return {
    status,
    progress,
    queuePosition: status === 'QUEUED' ? 2 : null,
    stages: STAGES.map((kind, i) => ({
      kind,
      status: stages[i],
      message: kind === 'GENERATE' ? (message ?? null) : null,
      durationMs: stages[i] === 'SUCCEEDED' ? 1500 : null,
    })),
  } as unknown as Run;
}

const STATES = [
  run('QUEUED', 0, ['PENDING', 'PENDING', 'PENDING', 'PENDING']),
  run('RUNNING', 0.3, ['SKIPPED', 'SUCCEEDED', 'SUCCEEDED', 'RUNNING'], 'KSampler step 1/4'),
  run('RUNNING', 0.6, ['SKIPPED', 'SUCCEEDED', 'SUCCEEDED', 'RUNNING'], 'KSampler step 3/4'),
  run('SUCCEEDED', 1, ['SKIPPED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']),
];

function report(isTTY: boolean) {
  let text = '';
  const reporter = createProgressReporter({
    isTTY,
    columns: 80,
    write: (t: string) => (text += t),
  });
  for (const state of STATES) reporter.update(state);
  reporter.end();
  return text;
}

describe('progress reporter', () => {
  it('prints one line per stage change when not on a terminal', () => {
    expect(report(false).split('\n')).toEqual([
      'run queued (position 2)',
      'run started',
      '  TRANSLATE skipped',
      '  STYLE     succeeded in 1.5 s',
      '  OPTIMIZE  succeeded in 1.5 s',
      '  GENERATE  running',
      '  GENERATE  succeeded in 1.5 s',
      'run succeeded',
      '',
    ]);
  });

  it('redraws a bar with the stage message on a terminal, and clears it at the end', () => {
    const text = report(true);
    expect(text).toContain('\r\x1b[2K[');
    expect(text).toMatch(/ 30% GENERATE KSampler step 1\/4/);
    expect(text).toMatch(/ 60% GENERATE KSampler step 3\/4/);
    expect(text.endsWith('  GENERATE  succeeded in 1.5 s\nrun succeeded\n')).toBe(true);
  });
});
