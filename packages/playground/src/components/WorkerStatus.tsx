// A small status line for the header: the workers (and whether they are the bundled sandbox)
// and the queue counts, live from the queue subscription.
import type { QueueStatus } from '@atelier/sdk';

interface Props {
  queue: QueueStatus | null;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

export function WorkerStatus({ queue }: Props) {
  if (!queue) {
    return (
      <div className="worker-status" data-testid="worker-status" data-state="connecting">
        <span className="worker-dot" aria-hidden="true" /> Connecting…
      </div>
    );
  }
  const healthy = queue.workers.filter((w) => w.healthy).length;
  const sandbox = queue.workers.length > 0 && queue.workers.every((w) => w.sandbox);
  const state = healthy === 0 ? 'down' : healthy < queue.workers.length ? 'degraded' : 'ok';
  const title = queue.workers
    .map(
      (w) =>
        `${w.url}${w.sandbox ? ' (bundled sandbox)' : ''}: ${w.healthy ? 'healthy' : 'unavailable'}, ` +
        `${w.running} running, ${w.queued} queued`,
    )
    .join('\n');
  return (
    <div
      className="worker-status"
      data-testid="worker-status"
      data-state={state}
      data-sandbox={sandbox}
      title={title || 'No workers'}
    >
      <span className={`worker-dot ${state}`} aria-hidden="true" />
      {queue.workers.length === 0
        ? 'No workers'
        : sandbox
          ? `Sandbox worker${queue.workers.length > 1 ? 's' : ''} (stand-in images)`
          : `${healthy}/${queue.workers.length} workers · ${queue.workers.map((w) => hostOf(w.url)).join(', ')}`}
      <span className="worker-queue" data-testid="queue-counts">
        {queue.running} running · {queue.queued} queued
      </span>
    </div>
  );
}
