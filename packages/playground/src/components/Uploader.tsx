// Drag-and-drop (or pick) images, with a preview and a status per file: uploading, done, or
// the server's typed refusal (invalid image, too large) as a message.
import type { Media, MediaPurpose } from '@atelier/sdk';
import { useUpload } from '@atelier/sdk/react';
import { useId, useRef, useState } from 'react';

export interface UploadItem {
  key: string;
  name: string;
  /** Local object URL (while uploading) or the stored media URL. */
  previewUrl: string;
  status: 'uploading' | 'done' | 'error';
  media?: Media;
  error?: string;
  code?: string;
  /** A message row (files over the limit), not a file. */
  notice?: boolean;
}

/** An item for media already on the server (a result, a gallery image). */
export function itemFromMedia(media: Media, name?: string): UploadItem {
  return {
    key: `media-${media.id}`,
    name: name ?? media.originalName ?? 'image',
    previewUrl: media.thumbnailUrl ?? media.url,
    status: 'done',
    media,
  };
}

const ACCEPT = 'image/png,image/jpeg,image/webp,image/gif,image/avif,image/tiff';

interface Props {
  /** Used in test ids: dropzone-<slot>, file-input-<slot>, upload-<slot>-<i>. */
  slot: string;
  label: string;
  purpose: MediaPurpose;
  items: UploadItem[];
  onItemsChange: (update: (items: UploadItem[]) => UploadItem[]) => void;
  /** Most files kept (1 replaces the current one). */
  max: number;
  invalid?: boolean;
  help?: string;
}

let counter = 0;

export function Uploader({
  slot,
  label,
  purpose,
  items,
  onItemsChange,
  max,
  invalid,
  help,
}: Props) {
  const { upload } = useUpload();
  const inputRef = useRef<HTMLInputElement>(null);
  const [over, setOver] = useState(false);
  const inputId = useId();
  const multiple = max > 1;
  const full = multiple && items.length >= max;

  const add = (files: File[]) => {
    if (!files.length) return;
    const room = multiple ? Math.max(0, max - items.length) : 1;
    const taken = files.slice(0, room);
    const fresh: UploadItem[] = taken.map((file) => ({
      key: `file-${++counter}`,
      name: file.name || 'image',
      // Only images get a local preview; anything else waits for the server's verdict.
      previewUrl: file.type.startsWith('image/') ? URL.createObjectURL(file) : '',
      status: 'uploading',
    }));
    const skipped = files.length - taken.length;
    onItemsChange((current) => {
      const kept = multiple ? current : [];
      const notice: UploadItem[] =
        skipped > 0
          ? [
              {
                key: `skip-${++counter}`,
                name: `${skipped} more file${skipped === 1 ? '' : 's'}`,
                previewUrl: '',
                notice: true,
                status: 'error',
                error: `Only ${max} image${max === 1 ? '' : 's'} allowed here.`,
                code: 'TOO_MANY_FILES',
              },
            ]
          : [];
      return [...kept.filter((i) => i.status !== 'error' || i.media), ...fresh, ...notice];
    });
    const dropPreview = (key: string) => {
      const url = fresh.find((i) => i.key === key)?.previewUrl;
      if (url?.startsWith('blob:')) URL.revokeObjectURL(url);
    };
    taken.forEach((file, index) => {
      const key = fresh[index]!.key;
      const patch = (p: Partial<UploadItem>) =>
        onItemsChange((current) => current.map((i) => (i.key === key ? { ...i, ...p } : i)));
      upload(file, { purpose, filename: file.name || undefined }).then(
        (result) => {
          if (result.__typename === 'UploadMediaSuccess') {
            patch({ status: 'done', media: result.media });
          } else {
            dropPreview(key);
            patch({ status: 'error', error: result.message, code: result.code, previewUrl: '' });
          }
        },
        (error: unknown) => {
          dropPreview(key);
          patch({ status: 'error', error: (error as Error).message, previewUrl: '' });
        },
      );
    });
  };

  const remove = (key: string) => {
    const item = items.find((i) => i.key === key);
    if (item?.previewUrl.startsWith('blob:')) URL.revokeObjectURL(item.previewUrl);
    onItemsChange((current) => current.filter((i) => i.key !== key));
  };

  return (
    <div className="field" data-testid={`uploader-${slot}`}>
      <div className="field-label">
        <span>{label}</span>
        {multiple ? (
          <span className="hint">
            {items.filter((i) => i.media).length}/{max}
          </span>
        ) : null}
      </div>
      <label
        htmlFor={inputId}
        className={`dropzone${over ? ' over' : ''}${full ? ' disabled' : ''}${invalid ? ' invalid-box' : ''}`}
        data-testid={`dropzone-${slot}`}
        onDragEnter={(event) => {
          event.preventDefault();
          setOver(true);
        }}
        onDragOver={(event) => {
          event.preventDefault();
          event.dataTransfer.dropEffect = full ? 'none' : 'copy';
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(event) => {
          event.preventDefault();
          setOver(false);
          if (!full) add([...event.dataTransfer.files]);
        }}
      >
        <strong>{full ? 'Maximum reached' : 'Drop images here'}</strong>
        <span className="hint">
          or <span style={{ color: 'var(--accent)' }}>choose {multiple ? 'files' : 'a file'}</span>{' '}
          · PNG, JPEG, WebP
        </span>
        <input
          ref={inputRef}
          id={inputId}
          className="visually-hidden"
          type="file"
          accept={ACCEPT}
          multiple={multiple}
          disabled={full}
          data-testid={`file-input-${slot}`}
          onChange={(event) => {
            add([...(event.target.files ?? [])]);
            event.target.value = '';
          }}
        />
      </label>
      {help ? <div className="field-help">{help}</div> : null}
      {items.length ? (
        <div className="uploads">
          {items.map((item, index) => (
            <div
              className={`upload-item${item.notice ? ' notice' : ''}`}
              key={item.key}
              data-testid={`upload-${slot}-${index}`}
              data-status={item.status}
              data-media-id={item.media?.id}
            >
              {/* A refused file has no picture to show (its bytes may not be an image at all):
                  the placeholder and the server's message, never a broken-image icon. */}
              {item.notice ? null : item.previewUrl && (item.status !== 'error' || item.media) ? (
                <img src={item.previewUrl} alt={item.name} />
              ) : (
                <div className="upload-placeholder" aria-hidden="true">
                  {item.status === 'error' ? '✕' : '…'}
                </div>
              )}
              {multiple && item.media ? <span className="upload-index">#{index + 1}</span> : null}
              <button
                type="button"
                className="upload-remove"
                aria-label={`Remove ${item.name}`}
                onClick={() => remove(item.key)}
              >
                ×
              </button>
              <div className="upload-meta">
                <span className="upload-name" title={item.name}>
                  {item.name}
                </span>
                <span className={`upload-status ${item.status}`} data-testid="upload-status">
                  {item.status === 'uploading'
                    ? 'Uploading…'
                    : item.status === 'done'
                      ? '✓'
                      : item.code === 'TOO_MANY_FILES'
                        ? 'Skipped'
                        : 'Failed'}
                </span>
              </div>
              {item.media ? (
                <div className="upload-meta" style={{ paddingTop: 0 }}>
                  <span className="upload-name">
                    {item.media.width}×{item.media.height}
                  </span>
                </div>
              ) : null}
              {item.error ? (
                <div className="upload-error" data-testid="upload-error" data-code={item.code}>
                  {item.error}
                </div>
              ) : null}
            </div>
          ))}
        </div>
      ) : null}
    </div>
  );
}
