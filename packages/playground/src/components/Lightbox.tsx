// Fullscreen view of one image or video; Escape or a click outside closes it.
import { useEffect } from 'react';

export interface LightboxItem {
  url: string;
  kind: 'IMAGE' | 'VIDEO' | 'AUDIO';
  name?: string;
}

export function Lightbox({ item, onClose }: { item: LightboxItem; onClose: () => void }) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') onClose();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  return (
    // biome-ignore lint/a11y/useKeyWithClickEvents: Escape is handled on window
    <div
      className="lightbox"
      role="dialog"
      aria-modal="true"
      aria-label="Fullscreen view"
      data-testid="lightbox"
      onClick={(event) => {
        if (event.target === event.currentTarget) onClose();
      }}
    >
      {item.kind === 'VIDEO' ? (
        // biome-ignore lint/a11y/useMediaCaption: generated media has no captions
        <video src={item.url} controls autoPlay loop data-testid="lightbox-video" />
      ) : (
        <img src={item.url} alt={item.name ?? 'Result'} data-testid="lightbox-image" />
      )}
      <button
        type="button"
        className="lightbox-close"
        aria-label="Close"
        data-testid="lightbox-close"
        onClick={onClose}
      >
        ×
      </button>
      <div className="lightbox-bar">
        <a className="btn small" href={item.url} download={item.name ?? true}>
          Download
        </a>
      </div>
    </div>
  );
}
