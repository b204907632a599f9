// ComfyUI's PromptQueue (`execution.py`): a min-heap on (number, prompt_id), at most one
// running item, and a bounded history keyed by prompt_id in completion order.
import type { PyFloat } from './pyjson.ts';

/** A node of an API-format prompt. */
export interface ApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string };
}

export type ApiPrompt = Record<string, ApiNode>;

export interface QueueItem {
  /** Priority; lower runs first. A PyFloat when the client sent `number`. */
  number: number | PyFloat;
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  outputsToExecute: string[];
  /** Keys moved out of extra_data (`auth_token_comfy_org`, ...); never returned. */
  sensitive: Record<string, unknown>;
}

export interface HistoryEntry {
  prompt: [number | PyFloat, string, ApiPrompt, Record<string, unknown>, string[]];
  outputs: Record<string, Record<string, unknown>>;
  status: {
    status_str: 'success' | 'error';
    completed: boolean;
    messages: Array<[string, Record<string, unknown>]>;
  } | null;
  meta: Record<string, Record<string, unknown>>;
}

/** ComfyUI's MAXIMUM_HISTORY_SIZE. */
export const MAXIMUM_HISTORY_SIZE = 10_000;

function numberOf(n: number | PyFloat): number {
  return typeof n === 'number' ? n : n.value;
}

function less(a: QueueItem, b: QueueItem): boolean {
  const na = numberOf(a.number);
  const nb = numberOf(b.number);
  if (na !== nb) return na < nb;
  return a.promptId < b.promptId;
}

/** The 5-element tuple `/queue` and `/history` show (sensitive slot stripped). */
export function queueTuple(item: QueueItem): HistoryEntry['prompt'] {
  return [item.number, item.promptId, item.prompt, item.extraData, item.outputsToExecute];
}

export class PromptQueue {
  /** Binary heap laid out like Python's heapq list (what `/queue` returns, unsorted). */
  private heap: QueueItem[] = [];
  private running = new Map<string, QueueItem>();
  private history = new Map<string, HistoryEntry>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly onChange: () => void,
    private readonly maxHistory = MAXIMUM_HISTORY_SIZE,
  ) {}

  put(item: QueueItem): void {
    this.heap.push(item);
    this.siftDown(0, this.heap.length - 1);
    this.onChange();
    const waiter = this.waiters.shift();
    waiter?.();
  }

  /** Waits for the next item and marks it running (ComfyUI's `get`, which broadcasts too). */
  async get(signal?: AbortSignal): Promise<QueueItem | undefined> {
    while (this.heap.length === 0) {
      if (signal?.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          signal?.removeEventListener('abort', done);
          this.waiters = this.waiters.filter((w) => w !== done);
          resolve();
        };
        this.waiters.push(done);
        signal?.addEventListener('abort', done, { once: true });
      });
    }
    if (signal?.aborted) return undefined;
    const item = this.pop();
    this.running.set(item.promptId, item);
    this.onChange();
    return item;
  }

  /** Moves a running item to history (bounded: the oldest entry goes first). */
  taskDone(
    promptId: string,
    result: Pick<HistoryEntry, 'outputs' | 'meta'>,
    status: HistoryEntry['status'],
  ): void {
    const item = this.running.get(promptId);
    if (!item) return;
    this.running.delete(promptId);
    if (this.history.size > this.maxHistory) {
      const oldest = this.history.keys().next().value;
      if (oldest !== undefined) this.history.delete(oldest);
    }
    this.history.set(promptId, {
      prompt: queueTuple(item),
      outputs: result.outputs,
      status,
      meta: result.meta,
    });
    this.onChange();
  }

  /** Forgets the running item without writing history (a process restart). */
  dropRunning(): void {
    this.running.clear();
  }

  tasksRemaining(): number {
    return this.heap.length + this.running.size;
  }

  currentQueue(): { running: QueueItem[]; pending: QueueItem[] } {
    return { running: [...this.running.values()], pending: [...this.heap] };
  }

  isRunning(promptId: string): boolean {
    return this.running.has(promptId);
  }

  wipeQueue(): void {
    this.heap = [];
    this.onChange();
  }

  /** Removes the first pending item matching `fn`; true when one was removed. */
  deleteQueueItem(fn: (item: QueueItem) => boolean): boolean {
    const index = this.heap.findIndex(fn);
    if (index < 0) return false;
    // Like ComfyUI: list.pop(x), then heapq.heapify.
    this.heap.splice(index, 1);
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftUp(i);
    this.onChange();
    return true;
  }

  getHistory(
    opts: { promptId?: string; maxItems?: number; offset?: number } = {},
  ): Record<string, HistoryEntry> {
    if (opts.promptId !== undefined) {
      const entry = this.history.get(opts.promptId);
      return entry ? { [opts.promptId]: structuredClone(entry) } : {};
    }
    const out: Record<string, HistoryEntry> = {};
    let offset = opts.offset ?? -1;
    if (offset < 0 && opts.maxItems !== undefined) offset = this.history.size - opts.maxItems;
    let i = 0;
    for (const [id, entry] of this.history) {
      if (i >= offset) {
        out[id] = entry;
        if (opts.maxItems !== undefined && Object.keys(out).length >= opts.maxItems) break;
      }
      i++;
    }
    return out;
  }

  historyEntry(promptId: string): HistoryEntry | undefined {
    return this.history.get(promptId);
  }

  wipeHistory(): void {
    this.history.clear();
  }

  deleteHistoryItem(promptId: string): void {
    this.history.delete(promptId);
  }

  /** A process restart: pending and running items are lost; history optionally too. */
  reset(keepHistory: boolean): void {
    this.heap = [];
    this.running.clear();
    if (!keepHistory) this.history.clear();
  }

  // heapq.heappop
  private pop(): QueueItem {
    const last = this.heap.pop()!;
    if (this.heap.length === 0) return last;
    const top = this.heap[0]!;
    this.heap[0] = last;
    this.siftUp(0);
    return top;
  }

  // Python heapq's _siftdown(heap, startpos, pos): moves heap[pos] up towards startpos.
  private siftDown(start: number, pos: number): void {
    const item = this.heap[pos]!;
    while (pos > start) {
      const parentPos = (pos - 1) >> 1;
      const parent = this.heap[parentPos]!;
      if (less(item, parent)) {
        this.heap[pos] = parent;
        pos = parentPos;
        continue;
      }
      break;
    }
    this.heap[pos] = item;
  }

  // Python heapq's _siftup(heap, pos): moves the smaller child up until a leaf, then sifts down.
  private siftUp(pos: number): void {
    const end = this.heap.length;
    const start = pos;
    const item = this.heap[pos]!;
    let child = 2 * pos + 1;
    while (child < end) {
      const right = child + 1;
      if (right < end && !less(this.heap[child]!, this.heap[right]!)) child = right;
      this.heap[pos] = this.heap[child]!;
      pos = child;
      child = 2 * pos + 1;
    }
    this.heap[pos] = item;
    this.siftDown(start, pos);
  }
}
