// React bindings: a provider for the Atelier client (and its urql client), and hooks for the
// catalog and the gallery (useQuery), runs and the queue live (useSubscription), creating runs
// (useMutation) and uploads with progress.
import type { CombinedError } from '@urql/core';
import {
  createContext,
  createElement,
  type ReactNode,
  useCallback,
  useContext,
  useMemo,
  useRef,
  useState,
} from 'react';
import { Provider as UrqlProvider, useMutation, useQuery, useSubscription } from 'urql';
import { type Model, ModelsDocument, type Style, StylesDocument } from './catalog.ts';
import type { AtelierClient } from './client.ts';
import { toDocument } from './document.ts';
import { AtelierRequestError } from './errors.ts';
import {
  type CreateRunInput,
  CreateRunDocument as CreateRunSource,
  type GenerationMode,
  type MediaKind,
  type RunFilter,
} from './generated/graphql.ts';
import {
  GalleryDocument,
  type GalleryPage,
  type Media,
  type UploadInput,
  type UploadMediaOptions,
  type UploadMediaResult,
  uploadMedia,
} from './media.ts';
import { type QueueStatus, QueueUpdatedDocument } from './queue.ts';
import {
  type CreateRunResult,
  FINISHED_RUN_STATUSES,
  type Run,
  type RunEvent,
  RunEventsDocument,
  RunsDocument,
  type RunsPage,
  toRunsPage,
} from './runs.ts';

const CreateRunDocument = /* @__PURE__ */ toDocument(CreateRunSource);

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

/** An urql error as an AtelierRequestError, the same object for as long as the error is. */
function useError(operation: string, error: CombinedError | undefined) {
  return useMemo(() => toError(operation, error), [operation, error]);
}

/**
 * The last defined value seen. urql drops a subscription's data when an error ends it; the
 * hooks keep showing the last state next to the error, as a dropped socket leaves it true.
 */
function useLastDefined<T>(value: T | undefined): T | undefined {
  const last = useRef(value);
  if (value !== undefined) last.current = value;
  return last.current;
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
  /**
   * Share of the file sent, 0–1: starts at 0 and reaches 1 when the whole body is out (the
   * server then still stores it). Browsers only (the upload goes through XMLHttpRequest);
   * undefined where progress cannot be known (Node).
   */
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

/**
 * Uploads files and tracks each one's state, with its progress in browsers. Each upload is
 * its own urql mutation (`uploadMedia` with `onProgress`), so several can run at once and
 * cached gallery pages refresh as they finish.
 */
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
      const tracked = typeof XMLHttpRequest !== 'undefined';
      setUploads((all) => [
        ...all,
        { key, name, status: 'pending', ...(tracked ? { progress: 0 } : {}) },
      ]);
      try {
        const result = await uploadMedia(client, file, {
          ...options,
          onProgress(progress) {
            options.onProgress?.(progress);
            if (progress.total > 0) {
              update(key, { progress: Math.min(1, progress.loaded / progress.total) });
            }
          },
        });
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

/** Creates runs (urql's `useMutation`) and keeps the last result. */
export function useCreateRun(): {
  /** Creates a run; resolves with the typed result (rejects on transport failures). */
  createRun(input: CreateRunInput): Promise<CreateRunResult>;
  /** True while a request is in flight. */
  fetching: boolean;
  /** The last typed result. */
  result: CreateRunResult | undefined;
  /** The last transport or GraphQL failure ({@link AtelierRequestError}). */
  error: AtelierRequestError | undefined;
} {
  const [state, execute] = useMutation(CreateRunDocument);
  const createRun = useCallback(
    async (input: CreateRunInput) => {
      const result = await execute({ input });
      if (result.error) throw AtelierRequestError.fromCombined('createRun', result.error);
      if (!result.data) throw new AtelierRequestError('createRun failed: the response has no data');
      return result.data.createRun;
    },
    [execute],
  );
  const error = useError('createRun', state.error);
  return { createRun, fetching: state.fetching, result: state.data?.createRun, error };
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
  /** Events applied in all (also those no longer in `events`; repeats are not counted). */
  received: number;
  /** `sequence` of the last event applied (0 before the first). */
  sequence: number;
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
  sequence: 0,
  finished: false,
  error: undefined,
};

/** How many events {@link useRun} keeps by default. */
export const RUN_EVENTS_KEPT = 50;

/**
 * The state after one more event: the run and the latest preview replaced, the event kept
 * (without its preview image) among the last `keep`. An event whose `sequence` is not larger
 * than the last one applied changes nothing: after a reconnect the server starts again with a
 * SNAPSHOT, which only counts when something happened meanwhile. Pure, so a long watch holds
 * a bounded amount: one run, one preview, `keep` small events.
 */
export function reduceRunState(state: RunState, event: RunEvent, keep = RUN_EVENTS_KEPT): RunState {
  if (state.received > 0 && event.sequence <= state.sequence) return state;
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
    sequence: event.sequence,
    // As watchRun ends: at RUN_FINISHED (or a finished run's SNAPSHOT). An earlier event may
    // already show the final status (it is read when delivered) with RUN_FINISHED still to come.
    finished:
      event.type === 'RUN_FINISHED' ||
      (event.type === 'SNAPSHOT' && FINISHED_RUN_STATUSES.has(event.run.status)),
  };
}

/** Options of {@link useRun}. */
export interface UseRunOptions {
  /** Events to keep in `events` (default 50; 0 keeps none). */
  keep?: number;
}

/**
 * Watches a run live: urql's `useSubscription` on `runEvents`, reduced with
 * {@link reduceRunState}. Every event carries the whole run, so the state after RUN_FINISHED
 * (which the server sends last, then ends the subscription) is the finished run with its
 * outputs. When the socket drops, graphql-ws reconnects and resubscribes and the server
 * starts with a SNAPSHOT of the run as it is, so nothing that happened meanwhile is missed;
 * repeats are dropped by sequence. Pass null or undefined to watch nothing.
 */
export function useRun(id: string | null | undefined, options: UseRunOptions = {}): RunState {
  const keep = options.keep ?? RUN_EVENTS_KEPT;
  const [result] = useSubscription(
    { query: RunEventsDocument, variables: { id: id ?? '' }, pause: !id },
    (previous: RunState | undefined, data): RunState => {
      const event = data.runEvents;
      // urql hands the reducer whatever the hook held, also another run's state after `id`
      // changed; and a late event of the previous run may still arrive.
      if (event.run.id !== id) return previous ?? IDLE;
      return reduceRunState(previous?.run?.id === id ? previous : IDLE, event, keep);
    },
  );
  const held = useLastDefined(result.data?.run?.id === id ? result.data : undefined);
  const current = result.operation?.variables.id === id;
  const error = useError('runEvents', current ? result.error : undefined);
  return useMemo(() => {
    if (!id) return IDLE;
    const state = held?.run?.id === id ? held : IDLE;
    return error ? { ...state, error } : state;
  }, [id, held, error]);
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
 * The queue, live (urql's `useSubscription` on `queueUpdated`): counts, workers, and your
 * queued and running runs with their positions, updated after every change.
 */
export function useQueue(): QueueState {
  const [result] = useSubscription({ query: QueueUpdatedDocument });
  const queue = useLastDefined(result.data?.queueUpdated) ?? null;
  const error = useError('queueUpdated', result.error);
  return useMemo(() => ({ queue, error }), [queue, error]);
}
