// Paint the area to repaint over the source image. The strokes live on a canvas of the
// source's stored size; `toMaskBlob()` turns them into an RGBA PNG of that size whose painted
// pixels are TRANSPARENT and the rest opaque (the server's inpainting model repaints the
// transparent pixels of the mask).
import {
  type RefObject,
  useCallback,
  useEffect,
  useImperativeHandle,
  useRef,
  useState,
} from 'react';

export interface MaskHandle {
  /** Whether anything is painted. */
  isEmpty(): boolean;
  /** The mask as a PNG (painted = transparent), or null when nothing is painted. */
  toMaskBlob(): Promise<Blob | null>;
}

interface Props {
  source: { url: string; width: number; height: number };
  handle: RefObject<MaskHandle | null>;
  /** Called after every stroke and clear with whether anything is painted. */
  onChange?: (painted: boolean) => void;
}

const PAINT = 'rgb(244 63 94)';

export function MaskPainter({ source, handle, onChange }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [brush, setBrush] = useState(32);
  const [erase, setErase] = useState(false);
  const [painted, setPainted] = useState(false);
  const last = useRef<{ x: number; y: number } | null>(null);

  // A new source starts with an empty mask.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the source changes
  useEffect(() => {
    const canvas = canvasRef.current;
    canvas?.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
    setPainted(false);
    onChange?.(false);
  }, [source.url, source.width, source.height]);

  const measure = useCallback((): boolean => {
    const canvas = canvasRef.current;
    const ctx = canvas?.getContext('2d', { willReadFrequently: true });
    if (!canvas || !ctx) return false;
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) return true;
    return false;
  }, []);

  useImperativeHandle(
    handle,
    () => ({
      isEmpty: () => !measure(),
      async toMaskBlob() {
        const paint = canvasRef.current;
        if (!paint || !measure()) return null;
        const out = document.createElement('canvas');
        out.width = paint.width;
        out.height = paint.height;
        const ctx = out.getContext('2d');
        if (!ctx) return null;
        ctx.fillStyle = '#000';
        ctx.fillRect(0, 0, out.width, out.height);
        ctx.globalCompositeOperation = 'destination-out';
        ctx.drawImage(paint, 0, 0);
        return new Promise<Blob | null>((resolve) => out.toBlob(resolve, 'image/png'));
      },
    }),
    [measure],
  );

  const point = (event: React.PointerEvent<HTMLCanvasElement>) => {
    const canvas = event.currentTarget;
    const rect = canvas.getBoundingClientRect();
    const scale = canvas.width / rect.width;
    return {
      x: (event.clientX - rect.left) * scale,
      y: (event.clientY - rect.top) * scale,
      width: brush * scale,
    };
  };

  const stroke = (to: { x: number; y: number; width: number }) => {
    const ctx = canvasRef.current?.getContext('2d');
    if (!ctx) return;
    const from = last.current ?? to;
    ctx.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
    ctx.strokeStyle = PAINT;
    ctx.fillStyle = PAINT;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.lineWidth = to.width;
    ctx.beginPath();
    if (from.x === to.x && from.y === to.y) {
      ctx.arc(to.x, to.y, to.width / 2, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.moveTo(from.x, from.y);
      ctx.lineTo(to.x, to.y);
      ctx.stroke();
    }
    last.current = to;
  };

  const finish = () => {
    if (!last.current) return;
    last.current = null;
    const now = measure();
    setPainted(now);
    onChange?.(now);
  };

  const clear = () => {
    const canvas = canvasRef.current;
    canvas?.getContext('2d')?.clearRect(0, 0, canvas.width, canvas.height);
    setPainted(false);
    onChange?.(false);
  };

  return (
    <div className="mask-painter" data-testid="mask-painter">
      <div className="mask-stage">
        <img src={source.url} alt="Source to inpaint" draggable={false} />
        <canvas
          ref={canvasRef}
          data-testid="mask-canvas"
          width={source.width}
          height={source.height}
          onPointerDown={(event) => {
            if (event.button !== 0) return;
            event.currentTarget.setPointerCapture(event.pointerId);
            last.current = null;
            stroke(point(event));
          }}
          onPointerMove={(event) => {
            if (last.current) stroke(point(event));
          }}
          onPointerUp={finish}
          onPointerCancel={finish}
        />
      </div>
      <div className="mask-tools">
        <label>
          Brush
          <input
            type="range"
            min={4}
            max={160}
            value={brush}
            data-testid="mask-brush"
            onChange={(e) => setBrush(Number(e.target.value))}
          />
          <span>{brush}px</span>
        </label>
        <button
          type="button"
          className={`btn small ${erase ? '' : 'active'}`}
          aria-pressed={!erase}
          data-testid="mask-paint"
          onClick={() => setErase(false)}
        >
          Paint
        </button>
        <button
          type="button"
          className={`btn small ${erase ? 'active' : ''}`}
          aria-pressed={erase}
          data-testid="mask-erase"
          onClick={() => setErase(true)}
        >
          Erase
        </button>
        <button type="button" className="btn small" data-testid="mask-clear" onClick={clear}>
          Clear
        </button>
        <span
          className="field-help"
          data-testid="mask-status"
          data-painted={painted ? 'true' : 'false'}
        >
          {painted ? 'Painted area will be repainted.' : 'Paint over what should change.'}
        </span>
      </div>
    </div>
  );
}
