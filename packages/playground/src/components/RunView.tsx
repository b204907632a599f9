// One run, live: status, queue position, the four stages with progress and the current node
// and step, the latest preview, errors, Cancel while active, and the results.
import type { Media, Run, RunStage } from '@atelier/sdk';
import { STAGE_HINTS, STAGE_LABELS } from '../modes.ts';
import type { LightboxItem } from './Lightbox.tsx';

const STAGE_ICON: Record<string, string> = {
  PENDING: '·',
  RUNNING: '…',
  SUCCEEDED: '✓',
  SKIPPED: '–',
  FAILED: '!',
  CANCELED: '×',
};

function percent(value: number): string {
  return `${Math.round(Math.max(0, Math.min(1, value)) * 100)}%`;
}

function duration(ms: number | null | undefined): string {
  if (ms == null) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function StageRow({ stage, index }: { stage: RunStage; index: number }) {
  const message =
    stage.message ??
    (stage.status === 'RUNNING' && stage.step != null && stage.maxSteps
      ? `${stage.nodeType ?? 'step'} ${stage.step}/${stage.maxSteps}`
      : stage.status === 'PENDING'
        ? 'Waiting'
        : '');
  return (
    <li
      className={`stage ${stage.status}`}
      data-testid={`stage-${stage.kind}`}
      data-status={stage.status}
    >
      <span className="stage-icon" aria-hidden="true">
        {stage.status === 'PENDING' ? index + 1 : STAGE_ICON[stage.status]}
      </span>
      <span className="stage-name">
        {STAGE_LABELS[stage.kind] ?? stage.kind}
        <span className="hint">{STAGE_HINTS[stage.kind]}</span>
      </span>
      <span className="stage-status" data-testid={`stage-${stage.kind}-status`}>
        {stage.status}
        {stage.durationMs != null && stage.status !== 'RUNNING'
          ? ` · ${duration(stage.durationMs)}`
          : ''}
      </span>
      <div className="stage-detail">
        <div
          className="progress"
          role="progressbar"
          aria-label={`${STAGE_LABELS[stage.kind]} progress`}
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={Math.round(stage.progress * 100)}
          data-testid={`stage-${stage.kind}-progress`}
          data-value={stage.progress}
        >
          <div style={{ width: percent(stage.progress) }} />
        </div>
        <span className="stage-message" data-testid={`stage-${stage.kind}-message`} title={message}>
          {message}
        </span>
      </div>
    </li>
  );
}

export function RunErrorBox({ run }: { run: Run }) {
  if (!run.error) return null;
  const { code, message, stage, nodeId, nodeType } = run.error;
  const where = [
    stage && `stage ${stage}`,
    nodeType && `node ${nodeType}${nodeId ? ` #${nodeId}` : ''}`,
  ]
    .filter(Boolean)
    .join(', ');
  const tone = run.status === 'CANCELED' ? 'warn' : 'error';
  return (
    <div className={`alert ${tone}`} role="alert" data-testid="run-error" data-code={code}>
      <span className="code">{code}</span>
      {message}
      {where ? <div className="field-help">{where}</div> : null}
    </div>
  );
}

interface Props {
  run: Run;
  /** Position in the queue (1 = next), live from the queue subscription; null when unknown. */
  queuePosition: number | null;
  preview: string | null;
  connectionError: string | null;
  onCancel: () => void;
  canceling: boolean;
  onRetry: () => void;
  onAnimate: (media: Media) => void;
  onOpen: (item: LightboxItem) => void;
  actionError: string | null;
}

export function RunView({
  run,
  queuePosition,
  preview,
  connectionError,
  onCancel,
  canceling,
  onRetry,
  onAnimate,
  onOpen,
  actionError,
}: Props) {
  const active = run.status === 'QUEUED' || run.status === 'RUNNING';
  const generate = run.stages.find((s) => s.kind === 'GENERATE');
  return (
    <section className="panel" data-testid="run-view" data-run-id={run.id}>
      <div className="panel-head">
        <div>
          <h2>
            Run {/* Announced by screen readers as it changes (queued, running, succeeded…). */}
            <span role="status" aria-live="polite" aria-atomic="true">
              <span
                className={`status-pill ${run.status}`}
                data-testid="run-status"
                data-status={run.status}
              >
                {active ? <span className="spinner" aria-hidden="true" /> : null}
                {run.status}
              </span>
            </span>
          </h2>
          <div className="run-meta" style={{ marginTop: 6 }}>
            <span>
              {run.modelKey}
              {run.styleKey ? ` · style ${run.styleKey}` : ''}
            </span>
            <span>seed {run.seed}</span>
            <span>
              {run.count} output{run.count === 1 ? '' : 's'}
            </span>
            {run.worker ? <span>worker {run.worker}</span> : null}
            {run.attempt > 1 ? <span>attempt {run.attempt}</span> : null}
          </div>
        </div>
        <div className="run-actions">
          {active ? (
            <button
              type="button"
              className="btn danger"
              data-testid="cancel-run"
              disabled={canceling}
              onClick={onCancel}
            >
              {canceling ? 'Canceling…' : 'Cancel'}
            </button>
          ) : (
            <button type="button" className="btn" data-testid="retry-run" onClick={onRetry}>
              ↻ Retry with a new seed
            </button>
          )}
        </div>
      </div>
      <div className="panel-body">
        {run.status === 'QUEUED' ? (
          <div className="queue-note" data-testid="queue-position">
            <span className="spinner" aria-hidden="true" />
            {queuePosition != null
              ? `Waiting in the queue: position ${queuePosition}`
              : 'Waiting in the queue'}
          </div>
        ) : null}
        {connectionError ? (
          <div className="alert warn" data-testid="connection-error">
            Live updates interrupted: {connectionError}
          </div>
        ) : null}
        {actionError ? (
          <div className="alert error" role="alert" data-testid="action-error">
            {actionError}
          </div>
        ) : null}
        <RunErrorBox run={run} />

        <div className="overall" style={{ marginTop: 12 }}>
          <span>Overall</span>
          <div
            className="progress"
            role="progressbar"
            aria-label="Overall progress"
            aria-valuenow={Math.round(run.progress * 100)}
            data-testid="run-progress"
            data-value={run.progress}
          >
            <div style={{ width: percent(run.progress) }} />
          </div>
          <span>{percent(run.progress)}</span>
        </div>

        <div
          className={`run-grid${run.mode === 'TEXT_TO_AUDIO' || run.mode === 'IMAGE_TO_AUDIO' ? ' no-preview' : ''}`}
        >
          <ol className="timeline" data-testid="stage-timeline">
            {run.stages.map((stage, index) => (
              <StageRow key={stage.kind} stage={stage} index={index} />
            ))}
          </ol>
          <div className="preview-column">
            <div className="preview-box">
              {preview ? (
                <img src={preview} alt="Latest preview" data-testid="run-preview" />
              ) : (
                <span>{active ? 'Preview appears while generating' : 'No preview'}</span>
              )}
            </div>
            <div className="preview-caption">
              {generate?.step != null && generate.maxSteps
                ? `Step ${generate.step} of ${generate.maxSteps}`
                : 'Latest preview'}
            </div>
          </div>
        </div>

        <p className="run-prompt">
          <strong>Prompt:</strong> {run.prompt}
          {run.effectivePrompt && run.effectivePrompt !== run.prompt ? (
            <span className="effective" data-testid="effective-prompt">
              Sent to the model: {run.effectivePrompt}
            </span>
          ) : null}
        </p>

        {run.outputs.length ? (
          <div className="run-results">
            <h3 className="section-title">Results</h3>
            <Results outputs={run.outputs} onAnimate={onAnimate} onOpen={onOpen} />
          </div>
        ) : null}
      </div>
    </section>
  );
}

export function Results({
  outputs,
  onAnimate,
  onOpen,
}: {
  outputs: readonly Media[];
  onAnimate: (media: Media) => void;
  onOpen: (item: LightboxItem) => void;
}) {
  return (
    <div className="results" data-testid="results">
      {outputs.map((media, index) => (
        <article
          className="result"
          key={media.id}
          data-testid={`result-${index}`}
          data-kind={media.kind}
        >
          <div className={`result-media ${media.kind.toLowerCase()}`}>
            {media.kind === 'IMAGE' ? (
              // biome-ignore lint/a11y/useKeyWithClickEvents: the button below opens it too
              <img
                src={media.url}
                alt={`Result ${index + 1}`}
                data-testid="result-image"
                onClick={() => onOpen({ url: media.url, kind: 'IMAGE' })}
              />
            ) : media.kind === 'VIDEO' ? (
              // biome-ignore lint/a11y/useMediaCaption: generated media has no captions
              <video
                src={media.url}
                poster={media.thumbnailUrl ?? undefined}
                controls
                loop
                playsInline
                preload="metadata"
                data-testid="result-video"
              />
            ) : (
              <>
                <div className="audio-art" aria-hidden="true">
                  ♪
                </div>
                {/* biome-ignore lint/a11y/useMediaCaption: generated media has no captions */}
                <audio src={media.url} controls preload="metadata" data-testid="result-audio" />
              </>
            )}
          </div>
          <div className="result-foot">
            <div className="result-info">
              {media.width && media.height ? `${media.width}×${media.height} · ` : ''}
              {media.durationMs ? `${(media.durationMs / 1000).toFixed(1)} s · ` : ''}
              {media.mimeType} · {formatBytes(media.bytes)}
            </div>
            <a className="btn small" href={media.url} download data-testid="download-link">
              Download
            </a>
            {media.kind === 'IMAGE' ? (
              <>
                <button
                  type="button"
                  className="btn small"
                  data-testid="fullscreen-button"
                  onClick={() => onOpen({ url: media.url, kind: 'IMAGE' })}
                >
                  Fullscreen
                </button>
                <button
                  type="button"
                  className="btn small"
                  data-testid="animate-button"
                  onClick={() => onAnimate(media)}
                >
                  ▶ Animate
                </button>
              </>
            ) : null}
            {media.kind === 'VIDEO' ? (
              <button
                type="button"
                className="btn small"
                onClick={() => onOpen({ url: media.url, kind: 'VIDEO' })}
              >
                Fullscreen
              </button>
            ) : null}
          </div>
        </article>
      ))}
    </div>
  );
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
