// How ComfyUI's failures become Atelier's: node exceptions and out-of-memory from
// `execution_error`, validation failures from POST /prompt's 400 body, and infrastructure
// failures (worker down, 5xx, lost sockets) that the pool may retry on another worker.
import { ExecutionError } from '../queue/executor.ts';
import type { ExecutionErrorData, PromptErrorBody } from './protocol.ts';

/**
 * An infrastructure failure on one worker. `retryable` is true only when the outcome is
 * known: the prompt is not on the worker (never submitted, or reconciled as unknown there),
 * so running it elsewhere cannot produce a second set of outputs.
 */
export class WorkerFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly worker: string,
    /** The worker lacks a node class or model file it listed: re-read its lists. */
    readonly capabilitiesStale = false,
    /**
     * The worker went away (restarted, or unreachable for a while) with the prompt: when it
     * is back by the next attempt, that is not a failure of the job (pool.ts).
     */
    readonly wentAway = false,
  ) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

/** Torch / CUDA out-of-memory exception types and messages. */
const OOM_TYPES = /(OutOfMemoryError|OutOfMemory|MemoryError)$/;
const OOM_TEXT =
  /out of memory|CUDA error: out of memory|Allocation on device|MPS backend out of memory|HIP out of memory|not enough memory/i;

export function isOutOfMemory(data: ExecutionErrorData): boolean {
  const type = data.exception_type ?? '';
  return OOM_TYPES.test(type) || OOM_TEXT.test(data.exception_message ?? '');
}

/** Maps an `execution_error` payload (WebSocket or history) to NODE_ERROR or OUT_OF_MEMORY. */
export function executionErrorFrom(data: ExecutionErrorData, worker: string): ExecutionError {
  const nodeId = data.node_id;
  const nodeType = data.node_type;
  // exception_message is "<str(ex)>\n<tips>", and str(ex) may itself start with a newline:
  // the message shows its first non-empty line, `detail` keeps all of it.
  const full = (data.exception_message ?? '').trim();
  const text =
    full
      .split('\n')
      .find((line) => line.trim())
      ?.trim() || 'node failed';
  const where = nodeId ? ` in node ${nodeId}${nodeType ? ` (${nodeType})` : ''}` : '';
  const details = {
    ...(nodeId ? { nodeId } : {}),
    ...(nodeType ? { nodeType } : {}),
    ...(full && full !== text ? { detail: full } : {}),
    ...(data.exception_type ? { exceptionType: data.exception_type } : {}),
    worker,
  };
  if (isOutOfMemory(data)) {
    return new ExecutionError(
      'OUT_OF_MEMORY',
      `The worker ran out of GPU memory${where}.`,
      details,
    );
  }
  const type = data.exception_type ? `${data.exception_type}: ` : '';
  return new ExecutionError('NODE_ERROR', `${type}${text}${where}`, details);
}

/** A one-line summary of a validation failure, every failing node and input named. */
export function summarizePromptError(body: PromptErrorBody): {
  message: string;
  nodeId?: string;
  nodeType?: string;
} {
  const head = body.error?.message ?? 'The worker rejected the workflow';
  const parts: string[] = [];
  let first: { nodeId: string; nodeType?: string } | undefined;
  for (const [nodeId, entry] of Object.entries(body.node_errors ?? {})) {
    first ??= { nodeId, ...(entry.class_type ? { nodeType: entry.class_type } : {}) };
    for (const e of entry.errors ?? []) {
      const detail = e.details ? `: ${e.details}` : '';
      parts.push(`node ${nodeId} (${entry.class_type ?? '?'}): ${e.message ?? e.type}${detail}`);
    }
  }
  if (parts.length === 0 && body.error?.details && body.error.details !== head) {
    parts.push(body.error.details);
  }
  const info = body.error?.extra_info;
  if (!first && info && typeof info.node_id === 'string') {
    first = {
      nodeId: info.node_id,
      ...(typeof info.class_type === 'string' ? { nodeType: info.class_type } : {}),
    };
  }
  return {
    message: parts.length ? `${head}: ${parts.join('; ')}` : head,
    ...(first ?? {}),
  };
}

/**
 * Whether a 400 says an input file is missing on the worker (a LoadImage-style node's own
 * validation): the worker lost its uploads, typically because it restarted.
 */
export function isMissingInputFile(body: PromptErrorBody, imageNodes: Set<string>): boolean {
  for (const [nodeId, entry] of Object.entries(body.node_errors ?? {})) {
    if (!imageNodes.has(nodeId)) continue;
    for (const e of entry.errors ?? []) {
      const text = `${e.message ?? ''} ${e.details ?? ''}`;
      if (
        e.type === 'custom_validation_failed' ||
        e.type === 'value_not_in_list' ||
        /invalid image file|not found|no such file/i.test(text)
      ) {
        return true;
      }
    }
  }
  return false;
}

/** The standard CANCELED error. */
export function canceled(worker: string | undefined, message = 'The run was canceled.') {
  return new ExecutionError('CANCELED', message, worker ? { worker } : {});
}

/**
 * Whether a 400 says the worker lacks something the job needs that its `/object_info` or
 * `/models` listed when we chose it: a node class gone, a model file removed. Nothing was
 * queued, so another worker may take the job.
 */
export function isMissingCapability(body: PromptErrorBody, modelFiles: Set<string>): boolean {
  if (body.error?.type === 'missing_node_type') return true;
  for (const entry of Object.values(body.node_errors ?? {})) {
    for (const e of entry.errors ?? []) {
      const received = e.extra_info?.received_value;
      if (
        e.type === 'value_not_in_list' &&
        typeof received === 'string' &&
        modelFiles.has(received)
      ) {
        return true;
      }
    }
  }
  return false;
}
