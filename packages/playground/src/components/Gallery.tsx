// The gallery: your media, newest first, filtered by kind, one page per "Load more", with
// fullscreen view, download, delete (after a confirmation), and "Animate" for images. A
// result is titled with the prompt of the run that made it (from your recent runs; the media
// itself only knows ComfyUI's file name), an upload with its file name.
import { deleteMedia, type Media, type MediaKind } from '@atelier/sdk';
import { useAtelierClient, useGallery, useRuns } from '@atelier/sdk/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { LightboxItem } from './Lightbox.tsx';
import { formatBytes } from './RunView.tsx';

const PAGE_SIZE = 24;
/** How many recent runs are read for the results' prompts (the API's largest page). */
const PROMPT_RUNS = 100;
const KINDS: { kind: MediaKind | null; label: string }[] = [
  { kind: null, label: 'All' },
  { kind: 'IMAGE', label: 'Images' },
  { kind: 'VIDEO', label: 'Videos' },
  { kind: 'AUDIO', label: 'Audio' },
];

interface Props {
  onOpen: (item: LightboxItem) => void;
  onAnimate: (media: Media) => void;
}

export function Gallery({ onOpen, onAnimate }: Props) {
  const [kind, setKind] = useState<MediaKind | null>(null);
  // One entry per loaded page: the cursor it starts after (null for the first).
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [next, setNext] = useState<Record<number, { end: string | null; count: number }>>({});
  const [deleted, setDeleted] = useState<Set<string>>(new Set());
  const { runs } = useRuns({ first: PROMPT_RUNS });
  /** Output media id → the prompt of its run. */
  const prompts = useMemo(() => {
    const map = new Map<string, string>();
    for (const run of runs) for (const output of run.outputs) map.set(output.id, run.prompt);
    return map;
  }, [runs]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new filter starts over
  useEffect(() => {
    setCursors([null]);
    setNext({});
  }, [kind]);

  const more = next[cursors.length - 1]?.end;
  const loaded = Object.values(next);
  const empty =
    loaded.length === cursors.length && loaded.reduce((sum, page) => sum + page.count, 0) === 0;

  return (
    <section className="panel" data-testid="gallery-page">
      <div className="panel-head">
        <h2>Gallery</h2>
        <div className="toolbar">
          <fieldset className="segmented">
            <legend className="visually-hidden">Kind</legend>
            {KINDS.map((k) => (
              <button
                type="button"
                key={k.label}
                aria-pressed={kind === k.kind}
                data-testid={`gallery-filter-${k.kind ?? 'ALL'}`}
                onClick={() => setKind(k.kind)}
              >
                {k.label}
              </button>
            ))}
          </fieldset>
        </div>
      </div>
      <div className="panel-body">
        <div className="gallery" data-testid="gallery">
          {cursors.map((after, index) => (
            <GalleryPageTiles
              key={`${kind ?? 'ALL'}-${after ?? 'first'}`}
              kind={kind}
              after={after}
              deleted={deleted}
              onDeleted={(id) => setDeleted((s) => new Set(s).add(id))}
              onPageInfo={(end, count) =>
                setNext((n) =>
                  n[index]?.end === end && n[index]?.count === count
                    ? n
                    : { ...n, [index]: { end, count } },
                )
              }
              onOpen={onOpen}
              onAnimate={onAnimate}
              prompts={prompts}
            />
          ))}
        </div>
        {empty ? (
          <div className="empty" data-testid="gallery-empty">
            <strong>Nothing here yet</strong>
            Uploads and results appear here.
          </div>
        ) : null}
        {more ? (
          <div className="load-more">
            <button
              type="button"
              className="btn"
              data-testid="gallery-load-more"
              onClick={() => setCursors((c) => [...c, more])}
            >
              Load more
            </button>
          </div>
        ) : null}
      </div>
    </section>
  );
}

interface PageProps {
  kind: MediaKind | null;
  after: string | null;
  deleted: Set<string>;
  onDeleted: (id: string) => void;
  /** The cursor of the next page (null on the last page) and how many items are shown. */
  onPageInfo: (endCursor: string | null, count: number) => void;
  onOpen: (item: LightboxItem) => void;
  onAnimate: (media: Media) => void;
  prompts: Map<string, string>;
}

function GalleryPageTiles({
  kind,
  after,
  deleted,
  onDeleted,
  onPageInfo,
  onOpen,
  onAnimate,
  prompts,
}: PageProps) {
  const { data, items, error, fetching } = useGallery({
    first: PAGE_SIZE,
    after,
    ...(kind ? { kind } : {}),
  });
  const visible = items.filter((m) => !deleted.has(m.id));
  useEffect(() => {
    if (!data) return;
    onPageInfo(
      data.pageInfo.hasNextPage ? (data.pageInfo.endCursor ?? null) : null,
      visible.length,
    );
  }, [data, visible.length, onPageInfo]);

  if (error) {
    return (
      <div className="alert error" style={{ gridColumn: '1 / -1' }} data-testid="gallery-error">
        {error.message}
      </div>
    );
  }
  if (!data && fetching) {
    return (
      <div className="empty" style={{ gridColumn: '1 / -1' }}>
        Loading…
      </div>
    );
  }
  return (
    <>
      {visible.map((media) => (
        <Tile
          key={media.id}
          media={media}
          onDeleted={onDeleted}
          onOpen={onOpen}
          onAnimate={onAnimate}
          prompt={prompts.get(media.id) ?? null}
        />
      ))}
    </>
  );
}

function Tile({
  media,
  onDeleted,
  onOpen,
  onAnimate,
  prompt,
}: {
  media: Media;
  onDeleted: (id: string) => void;
  onOpen: (item: LightboxItem) => void;
  onAnimate: (media: Media) => void;
  /** The prompt of the run that made it (null for uploads, or a run not among the recent). */
  prompt: string | null;
}) {
  const client = useAtelierClient();
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const kindName = media.kind.toLowerCase();
  const title =
    prompt ??
    (media.purpose === 'OUTPUT'
      ? `Generated ${kindName}`
      : (media.originalName ?? `Uploaded ${kindName}`));
  const remove = async () => {
    setConfirming(false);
    setBusy(true);
    setError(null);
    try {
      const result = await deleteMedia(client, media.id);
      if (result.__typename === 'DeleteSuccess') onDeleted(media.id);
      else setError(result.message);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  const thumb = media.thumbnailUrl ?? (media.kind === 'IMAGE' ? media.url : null);
  return (
    <article className="tile" data-testid={`gallery-item-${media.id}`} data-kind={media.kind}>
      {media.kind === 'AUDIO' ? (
        <div
          className="tile-media"
          style={{ cursor: 'default', aspectRatio: 'auto', background: 'var(--panel)' }}
        >
          <div className="audio-art" aria-hidden="true">
            ♪
          </div>
          {/* biome-ignore lint/a11y/useMediaCaption: generated media has no captions */}
          <audio
            src={media.url}
            controls
            preload="none"
            style={{ width: 'calc(100% - 12px)', margin: 6 }}
          />
        </div>
      ) : (
        <button
          type="button"
          className="tile-media"
          aria-label={`Open ${title}`}
          onClick={() => onOpen({ url: media.url, kind: media.kind })}
        >
          {thumb ? <img src={thumb} alt="" loading="lazy" data-testid="gallery-thumb" /> : null}
          <span className="tile-kind">
            {media.kind}
            {media.purpose !== 'OUTPUT' ? ` · ${media.purpose}` : ''}
          </span>
        </button>
      )}
      <div className="tile-title" data-testid="gallery-title" title={title}>
        {title}
      </div>
      <div className="tile-info">
        {media.width && media.height ? `${media.width}×${media.height} · ` : ''}
        {media.durationMs ? `${(media.durationMs / 1000).toFixed(1)} s · ` : ''}
        {formatBytes(media.bytes)}
      </div>
      <div className="tile-foot">
        {media.kind === 'IMAGE' && media.purpose !== 'MASK' ? (
          <button
            type="button"
            className="btn small"
            title="Animate: open Image → Video with this image"
            data-testid="gallery-animate"
            onClick={() => onAnimate(media)}
          >
            ▶ Animate
          </button>
        ) : null}
        <a className="btn small" href={media.url} download title="Download" aria-label="Download">
          ↓
        </a>
        <span className="tile-spacer" />
        <button
          type="button"
          className="btn small danger"
          disabled={busy}
          data-testid="gallery-delete"
          onClick={() => setConfirming(true)}
        >
          {busy ? 'Deleting…' : 'Delete'}
        </button>
      </div>
      {error ? (
        <div className="tile-error" role="alert" data-testid="gallery-delete-error">
          {error}
        </div>
      ) : null}
      {confirming ? (
        <ConfirmDelete
          title={title}
          onCancel={() => setConfirming(false)}
          onConfirm={() => void remove()}
        />
      ) : null}
    </article>
  );
}

/** A modal "Delete …?" dialog; Cancel (focused first) or Escape keeps the item. */
function ConfirmDelete({
  title,
  onCancel,
  onConfirm,
}: {
  title: string;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  return (
    <dialog
      ref={dialog}
      className="confirm-dialog"
      role="alertdialog"
      aria-labelledby="confirm-delete-title"
      aria-describedby="confirm-delete-text"
      data-testid="confirm-dialog"
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <h2 id="confirm-delete-title">Delete this item?</h2>
      <p id="confirm-delete-text">
        “{title}” is removed from the gallery and its file is deleted. This cannot be undone.
      </p>
      <div className="confirm-actions">
        {/* First in the dialog: showModal() focuses it, the safe choice. */}
        <button type="button" className="btn" data-testid="confirm-cancel" onClick={onCancel}>
          Cancel
        </button>
        <button
          type="button"
          className="btn danger"
          data-testid="confirm-delete"
          onClick={onConfirm}
        >
          Delete
        </button>
      </div>
    </dialog>
  );
}
