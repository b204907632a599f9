// Your recent runs, newest first, as the server lists them (`useRuns`); click to view.
import { modeInfo } from '../modes.ts';
import type { RunSummary } from '../state.ts';

interface Props {
  runs: RunSummary[];
  currentId: string | null;
  /** True until the first page arrived. */
  loading: boolean;
  /** Why the list could not be loaded. */
  error: string | null;
  onSelect: (id: string) => void;
  onRefresh: () => void;
}

function ago(iso: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

const KIND_ICON: Record<string, string> = { VIDEO: '▶', AUDIO: '♪' };

export function RecentRuns({ runs, currentId, loading, error, onSelect, onRefresh }: Props) {
  return (
    <section className="panel" data-testid="recent-runs">
      <div className="panel-head">
        <h2>Recent runs</h2>
        <button
          type="button"
          className="btn small"
          data-testid="recent-refresh"
          onClick={onRefresh}
        >
          Refresh
        </button>
      </div>
      {error ? (
        <div className="alert error" role="alert" data-testid="recent-error">
          {error}
        </div>
      ) : null}
      {runs.length ? (
        <ul className="recent">
          {runs.map((run) => (
            <li key={run.id}>
              <button
                type="button"
                aria-current={run.id === currentId}
                data-testid="recent-run"
                data-run-id={run.id}
                data-status={run.status}
                onClick={() => onSelect(run.id)}
              >
                {run.thumbnailUrl ? (
                  <img className="recent-thumb" src={run.thumbnailUrl} alt="" loading="lazy" />
                ) : (
                  <span className="recent-thumb">{KIND_ICON[run.outputKind ?? ''] ?? '◻'}</span>
                )}
                <span className="recent-text">
                  <span className="recent-title">{run.prompt}</span>
                  <span className="recent-sub">
                    {modeInfo(run.mode).label} · {run.modelKey} · {ago(run.createdAt)}
                  </span>
                </span>
                <span className={`status-pill ${run.status}`}>{run.status}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <div className="empty" style={{ padding: 20 }}>
          {loading ? 'Loading…' : 'Runs you start appear here.'}
        </div>
      )}
    </section>
  );
}
