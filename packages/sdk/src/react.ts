// React bindings: a provider for the Atelier client (and its urql client), and hooks for the
// catalog, uploads, runs (live over watchRun) and the gallery.
import type { CombinedError } from '@urql/core';
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react';
import { Provider as UrqlProvider, useQuery } from 'urql';
import { type Model, ModelsDocument, type Style, StylesDocument } from './catalog.ts';
import type { AtelierClient } from './client.ts';
import { AtelierRequestError } from './errors.ts';
import type { CreateRunInput, GenerationMode, MediaKind, RunFilter } from './generated/graphql.ts';
import {
  GalleryDocument,
  type GalleryPage,
  type Media,
  type UploadInput,
  type UploadMediaOptions,
  type UploadMediaResult,
  uploadMedia,
} from './media.ts';
import { type QueueStatus, watchQueue } from './queue.ts';
import {
  type CreateRunResult,
  createRun,
  FINISHED_RUN_STATUSES,
  type Run,
  type RunEvent,
  RunsDocument,
  type RunsPage,
  toRunsPage,
  watchRun,
} from './runs.ts';

const AtelierContext = createContext<AtelierClient | null>(null);

/** Props of {@link AtelierProvider}. */
export interface AtelierProviderProps {
  /** The client from `createAtelierClient`. */
  client: AtelierClient;
  children?: ReactNode;
}

/** Makes an Atelier client (and its urql client, for urql's own hooks) available below it. */
export function AtelierProvider({ client, children }: AtelierProviderProps) {
  return createElement(
    AtelierContext.Provider,
    { value: client },
    createElement(UrqlProvider, { value: client.urql }, children),
  );
}

/** The client given to the nearest {@link AtelierProvider}; throws outside of one. */
export function useAtelierClient(): AtelierClient {
  const client = useContext(AtelierContext);
  if (!client) throw new Error('useAtelierClient must be used inside <AtelierProvider>');
  return client;
}

/** State of a catalog or gallery query hook. */
export interface QueryState<T> {
  /** The data; empty (or null for pages) until the first answer arrives. */
  data: T;
  /** True while a request is in flight. */
  fetching: boolean;
  /** Transport or GraphQL failure, if any. */
  error: AtelierRequestError | undefined;
  /** Asks the server again, bypassing the cache. */
  refetch(): void;
}

function toError(operation: string, error: CombinedError | undefined) {
  return error ? AtelierRequestError.fromCombined(operation, error) : undefined;
}

/** Catalog models, optionally only those supporting `mode`. */
export function useModels(mode?: GenerationMode): QueryState<Model[]> {
  const [result, reexecute] = useQuery({
    query: ModelsDocument,
    variables: { mode: mode ?? null },
  });
  const refetch = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  return {
    data: result.data?.models ?? [],
    fetching: result.fetching,
    error: toError('models', result.error),
    refetch,
  };
}

/** Catalog styles. */
export function useStyles(): QueryState<Style[]> {
  const [result, reexecute] = useQuery({ query: StylesDocument, variables: {} });
  const refetch = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  return {
    data: result.data?.styles ?? [],
    fetching: result.fetching,
    error: toError('styles', result.error),
    refetch,
  };
}

/** Options of {@link useGallery}. */
export interface UseGalleryOptions {
  /** Page size (at most 100). */
  first?: number;
  /** Cursor of the page to show (`pageInfo.endCursor` of the previous page). */
  after?: string | null;
  /** Only media of this kind. */
  kind?: MediaKind;
}

/** One gallery page; refreshed after uploads and deletions made through the same client. */
export function useGallery(options: UseGalleryOptions = {}): QueryState<GalleryPage | null> & {
  /** The media of the page, newest first. */
  items: Media[];
} {
  const [result, reexecute] = useQuery({
    query: GalleryDocument,
    variables: {
      first: options.first ?? null,
      after: options.after ?? null,
      kind: options.kind ?? null,
    },
    requestPolicy: 'cache-and-network',
  });
  const refetch = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  const page = result.data?.gallery ?? null;
  return {
    data: page,
    items: page?.edges.map((edge) => edge.node) ?? [],
    fetching: result.fetching,
    error: toError('gallery', result.error),
    refetch,
  };
}

/** One upload started with {@link useUpload}. */
export interface UploadState {
  /** Local key of the upload (stable for React lists). */
  key: string;
  /** File name shown to the user. */
  name: string;
  /** pending while sending; done when stored; error when refused or failed. */
  status: 'pending' | 'done' | 'error';
  /** Upload progress 0–1 when known (fetch does not report it, so usually undefined). */
  progress?: number;
  /** The typed result, once the server answered. */
  result?: UploadMediaResult;
  /** The stored media (status done). */
  media?: Media;
  /** Why it failed: the typed refusal's message, or the thrown error's. */
  errorMessage?: string;
  /** The thrown error, for transport failures. */
  error?: unknown;
}

/** Uploads files and tracks each one's state. */
export function useUpload(): {
  /** All uploads of this component, in start order. */
  uploads: UploadState[];
  /** Uploads one file; resolves with the typed result (rejects on transport failures). */
  upload(file: UploadInput, options?: UploadMediaOptions): Promise<UploadMediaResult>;
  /** Forgets finished uploads. */
  clear(): void;
} {
  const client = useAtelierClient();
  const [uploads, setUploads] = useState<UploadState[]>([]);
  const counter = useRef(0);
  const update = useCallback((key: string, patch: Partial<UploadState>) => {
    setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...patch } : u)));
  }, []);
  const upload = useCallback(
    async (file: UploadInput, options: UploadMediaOptions = {}) => {
      counter.current += 1;
      const key = `upload-${counter.current}`;
      const name =
        options.filename ??
        (typeof file === 'string'
          ? file
          : ((file as Partial<File>).name ?? `upload ${counter.current}`));
      setUploads((all) => [...all, { key, name, status: 'pending' }]);
      try {
        const result = await uploadMedia(client, file, options);
        if (result.__typename === 'UploadMediaSuccess') {
          update(key, { status: 'done', result, media: result.media });
        } else {
          update(key, { status: 'error', result, errorMessage: result.message });
        }
        return result;
      } catch (error) {
        update(key, { status: 'error', error, errorMessage: (error as Error).message });
        throw error;
      }
    },
    [client, update],
  );
  const clear = useCallback(() => {
    setUploads((all) => all.filter((u) => u.status === 'pending'));
  }, []);
  return { uploads, upload, clear };
}

/** Creates runs and keeps the last result. */
export function useCreateRun(): {
  /** Creates a run; resolves with the typed result (rejects on transport failures). */
  createRun(input: CreateRunInput): Promise<CreateRunResult>;
  /** True while a request is in flight. */
  fetching: boolean;
  /** The last typed result. */
  result: CreateRunResult | undefined;
  /** The last transport failure. */
  error: unknown;
} {
  const client = useAtelierClient();
  const [state, setState] = useState<{
    fetching: boolean;
    result: CreateRunResult | undefined;
    error: unknown;
  }>({ fetching: false, result: undefined, error: undefined });
  const create = useCallback(
    async (input: CreateRunInput) => {
      setState((s) => ({ ...s, fetching: true, error: undefined }));
      try {
        const result = await createRun(client, input);
        setState({ fetching: false, result, error: undefined });
        return result;
      } catch (error) {
        setState({ fetching: false, result: undefined, error });
        throw error;
      }
    },
    [client],
  );
  return { createRun: create, ...state };
}

/** Live state of one run, from {@link useRun}. */
export interface RunState {
  /** The run after the latest event; null until the SNAPSHOT arrives (or without an id). */
  run: Run | null;
  /** Latest preview image as a data URL (null before the first PREVIEW). */
  preview: string | null;
  /**
   * The latest events, oldest first (at most `keep`, default 50), without their preview
   * images: `preview` holds the latest one. Memory stays bounded however long a run is watched.
   */
  events: RunEvent[];
  /** Events received in all (also those no longer in `events`). */
  received: number;
  /** True once the run has finished (RUN_FINISHED, or a finished run's SNAPSHOT). */
  finished: boolean;
  /** Transport or GraphQL failure of the subscription. */
  error: unknown;
}

const IDLE: RunState = {
  run: null,
  preview: null,
  events: [],
  received: 0,
  finished: false,
  error: undefined,
};

/** How many events {@link useRun} keeps by default. */
export const RUN_EVENTS_KEPT = 50;

/**
 * The state after one more event: the run and the latest preview replaced, the event kept
 * (without its preview image) among the last `keep`. Pure, so a long watch holds a bounded
 * amount: one run, one preview, `keep` small events.
 */
export function reduceRunState(state: RunState, event: RunEvent, keep = RUN_EVENTS_KEPT): RunState {
  const slim: RunEvent = event.preview ? { ...event, preview: null } : event;
  const events =
    state.events.length >= keep
      ? [...state.events.slice(state.events.length - keep + 1), slim]
      : [...state.events, slim];
  return {
    ...state,
    run: event.run,
    preview: event.preview?.dataUrl ?? state.preview,
    events: keep > 0 ? events : [],
    received: state.received + 1,
    finished: FINISHED_RUN_STATUSES.has(event.run.status),
  };
}

/** Options of {@link useRun}. */
export interface UseRunOptions {
  /** Events to keep in `events` (default 50; 0 keeps none). */
  keep?: number;
}

/** Watches a run live (via `watchRun`); pass null or undefined to watch nothing. */
export function useRun(id: string | null | undefined, options: UseRunOptions = {}): RunState {
  const client = useAtelierClient();
  const keep = options.keep ?? RUN_EVENTS_KEPT;
  const [state, setState] = useState<RunState>(IDLE);
  useEffect(() => {
    setState(IDLE);
    if (!id) return;
    const controller = new AbortController();
    (async () => {
      try {
        for await (const event of watchRun(client, id, { signal: controller.signal })) {
          setState((s) => reduceRunState(s, event, keep));
        }
      } catch (error) {
        if (!controller.signal.aborted) setState((s) => ({ ...s, error }));
      }
    })();
    return () => controller.abort();
  }, [client, id, keep]);
  return state;
}

/** Options of {@link useRuns}. */
export interface UseRunsOptions {
  /** Page size (at most 100). */
  first?: number;
  /** Cursor of the page to show (`pageInfo.endCursor` of the previous page). */
  after?: string | null;
  /** Only runs of these modes, model keys and/or statuses. */
  filter?: RunFilter;
}

/**
 * One page of your runs, newest first (the `runs` query). Asked again after runs are created,
 * retried or canceled through the same client; call `refetch` after other changes (a run
 * watched with {@link useRun} finishing, say).
 */
export function useRuns(options: UseRunsOptions = {}): QueryState<RunsPage | null> & {
  /** The runs of the page, newest first (empty until the first answer). */
  runs: Run[];
} {
  const [result, reexecute] = useQuery({
    query: RunsDocument,
    variables: {
      first: options.first ?? null,
      after: options.after ?? null,
      filter: options.filter ?? null,
    },
    requestPolicy: 'cache-and-network',
  });
  const refetch = useCallback(() => reexecute({ requestPolicy: 'network-only' }), [reexecute]);
  const page = result.data ? toRunsPage(result.data.runs) : null;
  return {
    data: page,
    runs: page?.runs ?? [],
    fetching: result.fetching,
    error: toError('runs', result.error),
    refetch,
  };
}

/** Live state of the queue, from {@link useQueue}. */
export interface QueueState {
  /** The latest queue status; null until the first one arrives. */
  queue: QueueStatus | null;
  /** Transport or GraphQL failure of the subscription. */
  error: unknown;
}

/**
 * The queue, live (via `watchQueue`): counts, workers, and your queued and running runs with
 * their positions, updated after every change.
 */
export function useQueue(): QueueState {
  const client = useAtelierClient();
  const [state, setState] = useState<QueueState>({ queue: null, error: undefined });
  useEffect(() => {
    const controller = new AbortController();
    (async () => {
      try {
        for await (const queue of watchQueue(client, { signal: controller.signal })) {
          setState({ queue, error: undefined });
        }
      } catch (error) {
        if (!controller.signal.aborted) setState((s) => ({ ...s, error }));
      }
    })();
    return () => controller.abort();
  }, [client]);
  return state;
}
