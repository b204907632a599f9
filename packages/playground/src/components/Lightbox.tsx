// Fullscreen view of one image or video, as a modal dialog: focus moves into it and stays
// there (Tab and Shift+Tab cycle through its controls), Escape or a click outside closes it,
// and focus goes back to what opened it.
import { type KeyboardEvent, useEffect, useRef } from 'react';

export interface LightboxItem {
  url: string;
  kind: 'IMAGE' | 'VIDEO' | 'AUDIO';
  name?: string;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), video[controls], input:not([disabled]), [tabindex]:not([tabindex="-1"])';

export function Lightbox({ item, onClose }: { item: LightboxItem; onClose: () => void }) {
  const dialog = useRef<HTMLDivElement>(null);
  const close = useRef<HTMLButtonElement>(null);

  // Focus the close button on open; give focus back to the opener on close.
  useEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    close.current?.focus();
    return () => {
      if (opener?.isConnected) opener.focus();
    };
  }, []);

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      onClose();
      return;
    }
    if (event.key !== 'Tab' || !dialog.current) return;
    const focusable = [...dialog.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (!focusable.length) return;
    const first = focusable[0]!;
    const last = focusable[focusable.length - 1]!;
    const active = document.activeElement;
    const outside = !dialog.current.contains(active);
    if (event.shiftKey && (active === first || outside)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || outside)) {
      event.preventDefault();
      first.focus();
    }
  };

  return (
    <div
      ref={dialog}
      className="lightbox"
      role="dialog"
      aria-modal="true"
      aria-label="Fullscreen view"
      data-testid="lightbox"
      onKeyDown={onKeyDown}
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
        ref={close}
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
