// Shows a run's progress on stderr: on a terminal a redrawn bar with the current stage, plus a
// line per stage change; elsewhere (logs, pipes, CI) only the lines.
import type { Run } from '@atelier/sdk';

interface Output {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Reports each run state it is given; call `end()` before printing anything else. */
export function createProgressReporter(out: Output) {
  const tty = Boolean(out.isTTY);
  const stages = new Map<string, string>();
  let runStatus = '';
  let barShown = false;

  const line = (text: string) => {
    if (barShown) out.write('\r\x1b[2K');
    barShown = false;
    out.write(`${text}\n`);
  };

  return {
    update(run: Run) {
      // A finished run reports its last stage changes first, then the outcome.
      const finished = run.status !== 'QUEUED' && run.status !== 'RUNNING';
      const statusChanged = run.status !== runStatus;
      runStatus = run.status;
      const statusLine = () => {
        const position = run.queuePosition != null ? ` (position ${run.queuePosition})` : '';
        line(
          run.status === 'QUEUED'
            ? `run queued${position}`
            : `run ${run.status === 'RUNNING' ? 'started' : run.status.toLowerCase()}`,
        );
      };
      if (statusChanged && !finished) statusLine();
      for (const stage of run.stages) {
        if (stages.get(stage.kind) === stage.status) continue;
        stages.set(stage.kind, stage.status);
        if (stage.status === 'PENDING') continue;
        const took =
          stage.durationMs != null && stage.status !== 'RUNNING' && stage.status !== 'SKIPPED'
            ? ` in ${(stage.durationMs / 1000).toFixed(1)} s`
            : '';
        const why =
          stage.status === 'SKIPPED' && stage.message
            ? ` (${stage.message.replace(/^skipped:\s*/i, '')})`
            : '';
        line(`  ${stage.kind.padEnd(9)} ${stage.status.toLowerCase()}${took}${why}`);
      }
      if (statusChanged && finished) statusLine();
      if (tty && run.status === 'RUNNING') {
        const current = run.stages.find((s) => s.status === 'RUNNING');
        const columns = out.columns || 80;
        const width = Math.max(10, Math.min(30, columns - 50));
        const filled = Math.round(Math.max(0, Math.min(1, run.progress)) * width);
        const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
        const room = Math.max(0, columns - width - 8);
        const label = (current ? `${current.kind} ${current.message ?? ''}` : '').trim();
        const percent = `${Math.round(run.progress * 100)}`.padStart(3);
        out.write(`\r\x1b[2K[${bar}] ${percent}% ${label.slice(0, room)}`);
        barShown = true;
      }
    },
    end() {
      if (barShown) out.write('\r\x1b[2K');
      barShown = false;
    },
  };
}
