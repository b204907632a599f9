// The React app react-hooks.test.ts bundles with esbuild and opens in Chromium: the SDK's
// hooks under AtelierProvider (in StrictMode, which runs reducers twice), and a probe on
// `window.hooks` with what they returned and what happened across renders.
import { createElement, StrictMode, useEffect, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createAtelierClient } from '../src/client.ts';
import {
  AtelierProvider,
  type QueueState,
  type RunState,
  type UploadState,
  useCreateRun,
  useQueue,
  useRun,
  useUpload,
} from '../src/react.ts';

/** How many events the app's `useRun` keeps. */
export const KEEP = 5;

/** What the test reads from `window.hooks` (only plain data crosses to the test). */
export interface HooksProbe {
  uploads: UploadState[];
  /** Every `progress` value rendered for the first upload, in order. */
  progress: number[];
  run: RunState;
  /** The run being watched. */
  runId: string | null;
  /** Largest `events.length` rendered. */
  mostEvents: number;
  /** Renders that showed events of another run than `run.run` (there should be none). */
  mixed: string[];
  /** `__typename` of useCreateRun's last result. */
  created: string | null;
  queue: QueueState['queue'];
  queueError: string | null;
  /** Uploads the image the page serves at /image.png. */
  uploadImage(): Promise<void>;
  /** Uploads bytes that are no image. */
  uploadText(): Promise<void>;
  /** Creates a small text-to-image run with useCreateRun and watches it with useRun. */
  createRun(prompt: string): Promise<string>;
}

declare global {
  interface Window {
    hooks?: HooksProbe;
  }
}

function Probe() {
  const { uploads, upload } = useUpload();
  const { createRun, result } = useCreateRun();
  const [runId, setRunId] = useState<string | null>(null);
  const run = useRun(runId, { keep: KEEP });
  const { queue, error: queueError } = useQueue();
  const progress = useRef<number[]>([]);
  const mostEvents = useRef(0);
  const mixed = useRef<string[]>([]);

  const first = uploads[0]?.progress;
  useEffect(() => {
    if (first !== undefined && progress.current.at(-1) !== first) progress.current.push(first);
  }, [first]);
  useEffect(() => {
    mostEvents.current = Math.max(mostEvents.current, run.events.length);
    const other = run.events.find((e) => e.run.id !== run.run?.id);
    if (other) mixed.current.push(`${run.run?.id} showed an event of ${other.run.id}`);
  }, [run]);

  useEffect(() => {
    window.hooks = {
      uploads,
      progress: progress.current,
      run,
      runId,
      mostEvents: mostEvents.current,
      mixed: mixed.current,
      created: result?.__typename ?? null,
      queue,
      queueError: queueError ? String(queueError) : null,
      async uploadImage() {
        const blob = await (await fetch('/image.png')).blob();
        await upload(new File([blob], 'noise.png', { type: 'image/png' }));
      },
      async uploadText() {
        const bytes = new TextEncoder().encode('these are no pixels');
        await upload(new File([bytes], 'notes.png', { type: 'image/png' }));
      },
      async createRun(prompt) {
        const created = await createRun({
          mode: 'TEXT_TO_IMAGE',
          model: 'flux1-dev',
          prompt,
          parameters: { steps: 40, width: 256, height: 256 },
        });
        if (created.__typename !== 'CreateRunSuccess') throw new Error(created.message);
        setRunId(created.run.id);
        return created.run.id;
      },
    };
  });
  return createElement('p', null, run.run?.status ?? 'idle');
}

const params = new URLSearchParams(location.search);
const client = createAtelierClient({
  url: params.get('url') ?? '',
  apiKey: params.get('key'),
});
createRoot(document.getElementById('root') as HTMLElement).render(
  createElement(StrictMode, null, createElement(AtelierProvider, { client }, createElement(Probe))),
);
