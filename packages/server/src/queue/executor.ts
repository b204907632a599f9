// The contract between the run engine and whatever executes workflows (the ComfyUI worker
// pool in comfyui/). The engine binds the workflow; the executor picks a worker, uploads the
// input images, submits, reports progress and previews, and returns every output file.
import { AtelierError } from '../domain-errors.ts';
import type { ApiGraph, ModelFile } from '../models/workflow.ts';

/** An input image the executor uploads to the worker and writes into `graph[node].inputs[input]`. */
export interface ExecutionImage {
  node: string;
  input: string;
  /** Content hash of the bytes; the executor uploads a given hash to a worker once. */
  sha256: string;
  mimeType: string;
  /** True for masks: sent through ComfyUI's /upload/mask rules where that matters. */
  mask?: boolean;
  read(): Promise<Buffer>;
}

export interface ExecutionJob {
  runId: string;
  /** This attempt's UUID (lowercase, canonical): the ComfyUI `prompt_id`. */
  attemptId: string;
  modelKey: string;
  graph: ApiGraph;
  images: ExecutionImage[];
  /** Node classes and model files a worker must have to run the graph. */
  requirements: { nodeClasses: string[]; modelFiles: ModelFile[] };
  /**
   * Set after a server restart for a run that was RUNNING: the worker it was submitted to.
   * The executor reconciles by prompt id there first (finished: collect outputs; queued or
   * running: resume tracking; unknown: submit again), never submitting twice blindly.
   */
  resumeOn?: string;
  /**
   * Called with the chosen worker as the prompt is sent to it, not awaited before: the caller
   * records where the prompt is going, so whoever takes the run over after a crash
   * reconciles there (by prompt id) instead of submitting it a second time elsewhere. A
   * rejection cancels the prompt and fails the execution with that error.
   */
  beforeSubmit?: (worker: string) => Promise<void>;
  /**
   * The run was taken over (its process went away, or this one restarted) and its prompt
   * may be on a worker whose URL was not recorded yet (the process ended between the prompt
   * and that write): every worker is asked for it by prompt id before it is submitted anew.
   */
  takenOver?: boolean;
  /**
   * With takenOver: the ComfyUI servers of the process that held the run (its worker
   * registry row). Those this process does not use are asked too, over a connection of their
   * own, so a prompt that went to one of them is followed there, not run a second time.
   */
  askAlso?: string[];
}

export type ExecutionEvent =
  /** A worker accepted the job (also after a retry on another worker). */
  | { type: 'submitted'; worker: string }
  /** The worker started executing this prompt. */
  | { type: 'started'; worker: string }
  /**
   * The worker is done with the prompt (finished, failed or stopped): its slot is free for
   * the next job while the outputs are downloaded and stored.
   */
  | { type: 'released'; worker: string }
  /**
   * A cancel was sent to the worker; the prompt runs until the worker stops it (ComfyUI
   * finishes the sampler step or node in progress first). Progress may still arrive.
   */
  | { type: 'canceling'; worker: string }
  /**
   * Progress as a full snapshot: the node executing, its sampler step if any, and the
   * overall fraction 0..1 of the graph (node-count and step weighted).
   */
  | {
      type: 'progress';
      nodeId: string;
      nodeType: string;
      step: number | null;
      maxSteps: number | null;
      overall: number;
    }
  /** A preview image (latest only matters; the engine throttles). */
  | { type: 'preview'; mimeType: string; data: Buffer; nodeId: string | null }
  /**
   * An output file a node reported while the prompt still ran, downloaded: most likely one
   * of the result's outputs (which the worker's history decides), so the engine may convert
   * and store it before the prompt ends. The result's output with the same `data` Buffer is
   * this file.
   */
  | { type: 'output'; output: ExecutionOutput };

export type OutputKind = 'IMAGE' | 'VIDEO' | 'AUDIO';

export interface ExecutionOutput {
  nodeId: string;
  filename: string;
  subfolder: string;
  type: string;
  /** Classified from the file's extension/bytes, not from the history key. */
  kind: OutputKind;
  mimeType: string;
  data: Buffer;
}

export interface ExecutionResult {
  worker: string;
  outputs: ExecutionOutput[];
}

export type ExecutionErrorCode =
  /** A node raised: bad input, missing file on the worker, etc. */
  | 'NODE_ERROR'
  /** The worker ran out of GPU memory. */
  | 'OUT_OF_MEMORY'
  /** The worker rejected the workflow (HTTP 400 from /prompt). */
  | 'INVALID_WORKFLOW'
  /** No connected worker has the node classes and model files the job needs. */
  | 'MODEL_UNAVAILABLE'
  /** Workers down, 5xx, lost sockets — after the bounded retries ran out. */
  | 'WORKER_UNAVAILABLE'
  /** Waited too long for a worker, or the worker stopped answering. */
  | 'TIMED_OUT'
  /** The signal aborted; the prompt was cancelled on its worker. */
  | 'CANCELED';

export class ExecutionError extends AtelierError {
  constructor(
    readonly code: ExecutionErrorCode,
    message: string,
    readonly details: {
      nodeId?: string;
      nodeType?: string;
      worker?: string;
      /** A CANCELED run whose worker did not confirm in time that it stopped. */
      unconfirmed?: boolean;
      /** The worker's whole error text, when `message` shows only its first line. */
      detail?: string;
      /** The exception's type as the worker named it (ComfyUI's exception_type). */
      exceptionType?: string;
    } = {},
  ) {
    super(message);
    this.name = 'ExecutionError';
  }
}

export interface WorkerStatus {
  url: string;
  /** Connected and answering health checks. */
  healthy: boolean;
  /** True for the bundled sandbox (no real models). */
  sandbox: boolean;
  running: number;
  queued: number;
  /** Model keys / files this worker last loaded, for scheduling preference. */
  loadedModels: string[];
  lastError: string | null;
}

export interface Executor {
  /**
   * Starts connecting to the workers and checking their health; returns without waiting for
   * them (see probed and onHealthy).
   */
  start(): Promise<void>;
  /** Settles when start's first round of connections and checks has ended, healthy or not. */
  probed(): Promise<void>;
  /**
   * Calls `listener` whenever a worker becomes able to take jobs (connected, capabilities
   * read, healthy); returns the unsubscribe.
   */
  onHealthy(listener: () => void): () => void;
  stop(): Promise<void>;
  /**
   * Runs one job to completion. Aborting `signal` cancels the prompt on its worker by
   * prompt id (jobs cancel API, else targeted interrupt, else queue removal; never a global
   * interrupt) and rejects with ExecutionError('CANCELED') once the worker confirms the
   * prompt stopped (or, past a long bound, unconfirmed: `details.unconfirmed`).
   */
  execute(
    job: ExecutionJob,
    onEvent: (event: ExecutionEvent) => void,
    signal: AbortSignal,
  ): Promise<ExecutionResult>;
  /** How many jobs may be handed over at once (one running + one queued per healthy worker). */
  capacity(): number;
  /** Whether any healthy worker can run a job with these requirements. */
  canRun(requirements: ExecutionJob['requirements']): boolean;
  /** Whether some worker, healthy now or not, was seen to have what the job needs. */
  mayRun(requirements: ExecutionJob['requirements']): boolean;
  /** False while some worker's node classes and model files have not been read yet. */
  capabilitiesKnown(): boolean;
  workers(): WorkerStatus[];
  /**
   * Asks this executor's workers and the servers `also` for prompt `attemptId`: `at` is a
   * server that has it (queued, running or finished), null when none said so; `unanswered`
   * when one did not answer (it may have it). Servers in `silent` are not asked again (they
   * count as unanswered); those that do not answer are added to it.
   */
  find?(
    attemptId: string,
    also: string[],
    silent?: Set<string>,
  ): Promise<{ at: string | null; unanswered: boolean }>;
}
