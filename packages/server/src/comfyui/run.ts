// One prompt on one worker, from upload to outputs. The WebSocket is the fast path; the
// prompt's state on the worker (jobs API, queue, history) is the truth, read when the socket
// is silent, after every reconnect and after any ambiguous failure, so a lost message can
// neither hang a run nor make it run twice. A cancel ends the run only once the worker says
// the prompt stopped (ComfyUI finishes the sampler step or node in progress first).

import { isLink } from '../models/comfyui-nodes.ts';
import type { ApiGraph } from '../models/workflow.ts';
import {
  ExecutionError,
  type ExecutionEvent,
  type ExecutionJob,
  type ExecutionOutput,
} from '../queue/executor.ts';
import { inThisTrace } from '../tracing.ts';
import type { ComfyClient, PromptListener } from './client.ts';
import {
  canceled,
  executionErrorFrom,
  isMissingCapability,
  isMissingInputFile,
  summarizePromptError,
  WorkerFailure,
} from './errors.ts';
import { ComfyHttp, HttpFailure } from './http.ts';
import { downloadOutputs, outputOf } from './outputs.ts';
import { ProgressModel } from './progress.ts';
import {
  type ExecutionErrorData,
  fileKey,
  fileRefs,
  type HistoryEntry,
  type NodeUi,
  nodeClass,
  type WsMessage,
} from './protocol.ts';

export interface RunTimings {
  /** Read the prompt's state on the worker when no event came for this long. */
  pollMs: number;
  /** How long to retry `/history/{id}` while it answers `{}` after completion. */
  historyWaitMs: number;
  /** A worker unreachable for this long while it holds our prompt: the prompt is given up. */
  lostAfterMs: number;
  /**
   * How long a cancel waits for the worker to confirm the prompt stopped (ComfyUI stops at the
   * next sampler step or node boundary, which may take a while). Past it the run ends
   * CANCELED unconfirmed, and its slot stays taken until the worker is done with the prompt.
   */
  cancelConfirmMs: number;
  /** No event for this long (a queued prompt: no activity on the worker) → TIMED_OUT. */
  stallTimeoutMs: number;
}

export interface RunHooks {
  /** The worker accepted the prompt (or it was found there). */
  submitted?(): void;
  /** The worker started executing it. */
  started?(): void;
  /** The worker is done with the prompt (finished, failed, canceled, lost); outputs may still be downloading. */
  settled?(): void;
  /**
   * A cancel the worker did not confirm in time: the run ends, but the prompt may still run
   * there; `settled` follows when the worker is done with it (or is gone).
   */
  lingering?(): void;
  /** The stall timeout fired: the worker stopped answering or progressing. */
  stalled?(): void;
  /** Overrides of the client's timings for this run. */
  timings?: Partial<RunTimings>;
}

export interface RunResult {
  outputs: ExecutionOutput[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waiting for a cancel to be confirmed: the first poll after this, doubling up to the max. */
const CANCEL_POLL_MIN_MS = 100;
const CANCEL_POLL_MAX_MS = 1_000;
/** A prompt still running this long after the cancel is sent gets it again (an interrupt can
 * be lost when it lands between two prompts: ComfyUI clears the flag as a prompt starts). */
const CANCEL_RESEND_MS = 10_000;
/** After an unconfirmed cancel: how often the worker is asked whether it is done (max). */
const LINGER_POLL_MAX_MS = 10_000;

/** A sleep that does not keep the process alive. */
const idleSleep = (ms: number) =>
  new Promise<void>((r) => {
    setTimeout(r, ms).unref();
  });

export class PromptRun implements PromptListener {
  private readonly promptId: string;
  private readonly worker: string;
  private readonly timings: RunTimings;
  private readonly progress: ProgressModel;
  private graph: ApiGraph;
  private settled = false;
  private resolveOutcome!: (entry: HistoryEntry) => void;
  private rejectOutcome!: (e: Error) => void;
  private readonly outcome: Promise<HistoryEntry>;
  private submitted = false;
  private started = false;
  private completing = false;
  private checking = false;
  private recheck = false;
  private mode: 'submit' | 'track' = 'submit';
  /** Whether any WebSocket event for this prompt arrived (its events are routed to us). */
  private eventsSeen = false;
  private cancelling = false;
  /** An unconfirmed cancel ended the run: the worker's slot is released by drain(). */
  private lingering = false;
  /** Wakes the cancel wait early (the outcome arrived). */
  private wakeCancel: (() => void) | null = null;
  private currentNode: string | null = null;
  private lastEventAt = Date.now();
  private lastCheckAt = 0;
  private unreachableSince: number | null = null;
  private readonly wsOutputs: Record<string, NodeUi> = {};
  /**
   * This socket delivered the prompt's messages from its `execution_start` on, with no
   * reconnect since: its `executed` messages are every output the history will list.
   */
  private wsWhole = false;
  /** Nodes the socket's `executed` messages named (with or without UI). */
  private readonly wsExecuted = new Set<string>();
  /**
   * Output nodes (nodes nothing in the graph consumes) that `execution_cached` listed: each
   * must also have an `executed` on the socket for it to be the outcome. ComfyUI resends a
   * cached output node's UI since its 2024 execution rewrite; before it, only the history had
   * it.
   */
  private cachedOutputNodes: string[] = [];
  /** Output files fetched as soon as their node said it wrote them (see prefetch). */
  private readonly prefetched = new Map<string, Promise<Buffer | null>>();
  private timer: NodeJS.Timeout | null = null;
  /**
   * GET /view in the prompt's trace (this run is made inside its span): an early download
   * starts from the socket's message handler, which is in no trace.
   */
  private readonly view: ComfyHttp['view'];

  constructor(
    private readonly client: ComfyClient,
    private readonly job: ExecutionJob,
    private readonly onEvent: (event: ExecutionEvent) => void,
    private readonly signal: AbortSignal,
    private readonly hooks: RunHooks,
  ) {
    this.promptId = job.attemptId;
    this.worker = client.url;
    this.timings = { ...client.timings, ...hooks.timings };
    this.graph = job.graph;
    this.progress = new ProgressModel(job.graph);
    this.view = inThisTrace((ref) => client.http.view(ref));
    this.outcome = new Promise<HistoryEntry>((resolve, reject) => {
      this.resolveOutcome = resolve;
      this.rejectOutcome = reject;
    });
    // Handled: the outcome may fail before execute() awaits it, which then sees the failure.
    this.outcome.catch(() => {});
  }

  async execute(mode: 'submit' | 'track'): Promise<RunResult> {
    this.mode = mode;
    // Nothing sent yet; a tracked prompt is on the worker already and is canceled there.
    if (this.signal.aborted && mode === 'submit') throw canceled(undefined);
    const unwatch = this.client.watch(this.promptId, this);
    const onAbort = () => void this.abort();
    try {
      if (mode === 'submit') {
        const found = await this.submit();
        if (found) this.finishWith(found);
      } else {
        this.accepted();
      }
      if (this.signal.aborted) {
        await this.abort();
      } else {
        this.signal.addEventListener('abort', onAbort, { once: true });
        this.startTimer();
        // A track starts by asking the worker where the prompt is.
        if (mode === 'track') void this.check('resume');
      }
      const entry = await this.outcome;
      this.client.noteHistory(this.promptId);
      if (this.signal.aborted) throw canceled(this.worker);
      const outputs = await downloadOutputs(this.client.http, entry, this.worker, this.prefetched);
      if (this.signal.aborted) throw canceled(this.worker);
      this.onEvent(this.progressEvent(null, null, null, true));
      return { outputs };
    } finally {
      this.settle();
      if (this.timer) clearInterval(this.timer);
      this.signal.removeEventListener('abort', onAbort);
      unwatch();
    }
  }

  // ---- submission ----

  private async uploadImages(): Promise<void> {
    const graph: ApiGraph = structuredClone(this.job.graph);
    for (const image of this.job.images) {
      let name: string;
      try {
        name = await this.client.upload(image, this.signal);
      } catch (e) {
        if (this.signal.aborted) throw canceled(undefined);
        if (e instanceof HttpFailure) {
          // Nothing is submitted yet: another worker may take the job.
          throw new WorkerFailure(`upload failed: ${e.message}`, true, this.worker);
        }
        throw e;
      }
      const node = graph[image.node];
      if (!node) {
        throw new ExecutionError(
          'INVALID_WORKFLOW',
          `image input names a missing node ${image.node}`,
        );
      }
      node.inputs[image.input] = name;
    }
    this.graph = graph;
  }

  /** Uploads and submits; returns a history entry if reconciling found the prompt finished. */
  private async submit(): Promise<HistoryEntry | null> {
    const imageNodes = new Set(this.job.images.map((i) => i.node));
    if (this.client.reclaim(this.promptId)) {
      // We gave this prompt up here while the worker was unreachable; it may still be there.
      const loc = await this.client.locate(this.promptId).catch((error: unknown) => {
        this.client.log?.debug('comfyui worker unreachable while reclaiming a prompt', {
          worker: this.worker,
          promptId: this.promptId,
          error,
        });
        return null;
      });
      if (loc === null) {
        this.client.abandon(this.promptId);
        throw new WorkerFailure('the worker is unreachable', true, this.worker);
      }
      if (loc.state !== 'unknown') {
        this.accepted();
        if (loc.state === 'running') this.markStarted();
        return loc.state === 'finished' ? loc.entry : null;
      }
    }
    for (let attempt = 0; ; attempt++) {
      await this.uploadImages();
      if (this.signal.aborted) throw canceled(undefined);
      if (this.settled) throw new WorkerFailure('the executor stopped', false, this.worker);
      let res: { status: number; json: Record<string, unknown> };
      try {
        res = await this.client.http.submit({
          prompt: this.graph,
          client_id: this.client.clientId,
          prompt_id: this.promptId,
          ...(this.client.previewMethod
            ? { extra_data: { preview_method: this.client.previewMethod } }
            : {}),
        });
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        if (e.kind === 'refused') {
          throw new WorkerFailure(`submit refused: ${e.message}`, true, this.worker);
        }
        return this.reconcileSubmit(e.message);
      }
      if (res.status === 200) {
        this.client.noteNumber(res.json.number);
        this.accepted();
        return null;
      }
      if (res.status === 400) {
        const body = ComfyHttp.promptError(res.json);
        if (attempt === 0 && isMissingInputFile(body, imageNodes)) {
          // The worker lost our uploads (restarted without us noticing): upload again, once.
          this.client.markRestarted();
          continue;
        }
        const summary = summarizePromptError(body);
        const files = new Set(this.job.requirements.modelFiles.map((f) => f.name));
        if (isMissingCapability(body, files)) {
          throw new WorkerFailure(summary.message, true, this.worker, true);
        }
        throw new ExecutionError('INVALID_WORKFLOW', summary.message, {
          ...(summary.nodeId ? { nodeId: summary.nodeId } : {}),
          ...(summary.nodeType ? { nodeType: summary.nodeType } : {}),
          worker: this.worker,
        });
      }
      if (res.status === 409) {
        // Newer ComfyUI: the id exists there already (our earlier attempt got through).
        return this.reconcileSubmit('prompt id already on the worker');
      }
      if (res.status >= 500) return this.reconcileSubmit(`submit answered HTTP ${res.status}`);
      throw new WorkerFailure(`submit answered HTTP ${res.status}`, false, this.worker);
    }
  }

  /** After an ambiguous submit: find out whether the worker has the prompt before anything else. */
  private async reconcileSubmit(why: string): Promise<HistoryEntry | null> {
    const since = Date.now();
    for (let delay = 100; ; delay = Math.min(delay * 2, 2_000)) {
      if (this.signal.aborted) {
        // Whether it got there is unknown: cancel it there whenever the worker answers.
        this.client.abandon(this.promptId);
        throw canceled(this.worker);
      }
      try {
        const loc = await this.client.locate(this.promptId);
        if (loc.state === 'unknown') {
          throw new WorkerFailure(`${why}; the worker does not have the prompt`, true, this.worker);
        }
        this.accepted();
        if (loc.state === 'running') this.markStarted();
        return loc.state === 'finished' ? loc.entry : null;
      } catch (e) {
        if (!(e instanceof HttpFailure)) throw e;
        if (Date.now() - since > this.timings.lostAfterMs) {
          this.client.abandon(this.promptId);
          throw new WorkerFailure(
            `${why}; the worker stayed unreachable`,
            true,
            this.worker,
            false,
            true,
          );
        }
      }
      await sleep(delay);
    }
  }

  private accepted(): void {
    if (this.submitted) return;
    this.submitted = true;
    this.lastEventAt = Date.now();
    this.hooks.submitted?.();
    this.onEvent({ type: 'submitted', worker: this.worker });
  }

  private markStarted(): void {
    if (this.started) return;
    this.started = true;
    this.hooks.started?.();
    this.onEvent({ type: 'started', worker: this.worker });
  }

  // ---- events ----

  message(msg: WsMessage): void {
    if (this.settled) return;
    this.lastEventAt = Date.now();
    this.eventsSeen = true;
    // Events can overtake the answer to POST /prompt: the worker has the prompt.
    this.accepted();
    const d = msg.data;
    switch (msg.type) {
      case 'execution_start':
        this.wsWhole = true;
        this.markStarted();
        break;
      case 'execution_cached':
        this.markStarted();
        if (Array.isArray(d.nodes)) {
          const nodes = d.nodes.map(String);
          this.progress.finish(nodes);
          const consumed = consumedNodes(this.graph);
          this.cachedOutputNodes = nodes.filter((id) => id in this.graph && !consumed.has(id));
        }
        break;
      case 'executing': {
        if (d.node === null) {
          void this.complete();
          break;
        }
        if (typeof d.node !== 'string') break;
        this.markStarted();
        const node = typeof d.display_node === 'string' ? d.display_node : d.node;
        this.progress.start(node, this.currentNode);
        this.currentNode = node;
        this.onEvent(this.progressEvent(node, null, null));
        break;
      }
      case 'progress': {
        const node = typeof d.node === 'string' ? d.node : this.currentNode;
        const value = Number(d.value);
        const max = Number(d.max);
        if (!node || !Number.isFinite(value) || !Number.isFinite(max)) break;
        this.markStarted();
        this.progress.step(node, value, max);
        this.onEvent(this.progressEvent(node, value, max));
        break;
      }
      case 'progress_state': {
        const nodes = d.nodes && typeof d.nodes === 'object' ? Object.values(d.nodes) : [];
        const finished = nodes
          .filter((n) => (n as { state?: unknown }).state === 'finished')
          .map((n) => String((n as { node_id?: unknown }).node_id));
        this.progress.finish(finished);
        break;
      }
      case 'executed':
        if (typeof d.node === 'string') {
          this.wsExecuted.add(d.node);
          if (d.output && typeof d.output === 'object') {
            this.wsOutputs[d.node] = d.output as NodeUi;
            this.prefetch({ [d.node]: d.output as NodeUi });
          }
          this.progress.finish([d.node]);
        }
        break;
      case 'execution_success':
        void this.complete(true);
        break;
      case 'execution_error': {
        const data = d as unknown as ExecutionErrorData;
        // An ExecutionBlocker's message: the rest of the graph goes on.
        if (data.exception_type === 'ExecutionBlocked') break;
        this.fail(executionErrorFrom(data, this.worker));
        break;
      }
      case 'execution_interrupted':
        this.fail(canceled(this.worker, 'The run was interrupted on its worker.'));
        break;
    }
  }

  /**
   * Starts downloading the files a node reported in its `executed` message: ComfyUI sends it
   * once the node has written them, before the prompt ends, so the bytes are here (or on
   * their way) when `execution_success` comes. The outcome (see complete) decides the
   * outputs: a file it names that was not fetched here is downloaded then, and a failed
   * early download is simply made again.
   */
  private prefetch(outputs: Record<string, NodeUi>): void {
    for (const ref of fileRefs(outputs)) {
      const key = fileKey(ref);
      if (this.prefetched.has(key)) continue;
      const download = this.view(ref).then(
        (r) => r.data,
        () => null,
      );
      this.prefetched.set(key, download);
      // Offered to the engine while the prompt has not ended (downloadOutputs hands the same
      // Buffer over with the result, which is how the engine recognizes it).
      void download.then((data) => {
        const output = data && !this.settled ? outputOf(ref, data) : null;
        if (output) this.onEvent({ type: 'output', output });
      });
    }
  }

  preview(p: { mimeType: string; data: Buffer; nodeId: string | null }): void {
    if (this.settled) return;
    this.lastEventAt = Date.now();
    this.onEvent({
      type: 'preview',
      mimeType: p.mimeType,
      data: Buffer.from(p.data),
      nodeId: p.nodeId ?? this.currentNode,
    });
  }

  reconnected(): void {
    // Messages sent while the socket was away are lost: the history decides the outputs.
    this.wsWhole = false;
    if (this.settled || !this.submitted) return;
    void this.check('reconnect');
  }

  stopped(): void {
    this.fail(
      new WorkerFailure(
        'the executor stopped while the prompt was on the worker',
        false,
        this.worker,
      ),
    );
  }

  private progressEvent(
    node: string | null,
    step: number | null,
    max: number | null,
    complete = false,
  ): ExecutionEvent {
    const nodeId = node ?? this.currentNode ?? '';
    return {
      type: 'progress',
      nodeId,
      nodeType: nodeId ? nodeClass(this.job.graph, nodeId) : '',
      step,
      maxSteps: max,
      overall: this.progress.overall(complete),
    };
  }

  // ---- completion ----

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (!this.lingering) this.doneOnWorker();
    this.wakeCancel?.();
    return true;
  }

  private done = false;

  /** The worker is finished with the prompt (its slot there is free). */
  private doneOnWorker(): void {
    if (this.done) return;
    this.done = true;
    this.hooks.settled?.();
  }

  private fail(e: Error): void {
    if (this.settle()) this.rejectOutcome(e);
  }

  /** A history entry decides the outcome. */
  private finishWith(entry: HistoryEntry): void {
    if (this.settled) return;
    const status = entry.status;
    if (status?.status_str === 'error' || status?.completed === false) {
      const messages = status.messages ?? [];
      const last = [...messages]
        .reverse()
        .find(([name]) => name === 'execution_error' || name === 'execution_interrupted');
      if (last?.[0] === 'execution_interrupted') {
        this.fail(canceled(this.worker, 'The run was interrupted on its worker.'));
      } else if (last) {
        this.fail(executionErrorFrom(last[1] as unknown as ExecutionErrorData, this.worker));
      } else {
        this.fail(
          new ExecutionError('NODE_ERROR', 'The workflow failed on its worker.', {
            worker: this.worker,
          }),
        );
      }
      return;
    }
    if (this.settle()) this.resolveOutcome(entry);
  }

  /**
   * The prompt ended (`success`: the socket said `execution_success`): its outcome from the
   * socket when that is whole, else read from its history, retrying while ComfyUI still
   * answers `{}`.
   */
  private async complete(success = false): Promise<void> {
    if (this.completing || this.settled) return;
    this.completing = true;
    this.doneOnWorker();
    // `execution_success` on a socket that saw the whole prompt: ComfyUI sent an `executed`
    // for each output node before it (cached ones too), and the history it writes next lists
    // those same outputs. A cancel still waits for the history as its confirmation, and so
    // does a prompt whose socket named no output, or did not name a cached output node (a
    // ComfyUI that does not resend a cached node's UI): the history lists those.
    if (
      success &&
      this.wsWhole &&
      !this.cancelling &&
      Object.keys(this.wsOutputs).length > 0 &&
      this.cachedOutputNodes.every((id) => this.wsExecuted.has(id))
    ) {
      return this.finishWith({ outputs: this.wsOutputs, status: { status_str: 'success' } });
    }
    const deadline = Date.now() + this.timings.historyWaitMs;
    for (let delay = 25; !this.settled; delay = Math.min(delay * 2, 1_000)) {
      try {
        const entry = await this.client.http.history(this.promptId);
        if (entry) return this.finishWith(entry);
      } catch (e) {
        if (!(e instanceof HttpFailure)) return this.fail(e as Error);
      }
      if (Date.now() >= deadline) break;
      // Not cut short by a cancel: the history is the confirmation a cancel waits for.
      await sleep(delay);
    }
    if (this.settled) return;
    if (Object.keys(this.wsOutputs).length > 0) {
      // History was trimmed or lost: the outputs the socket reported are the outputs.
      return this.finishWith({ outputs: this.wsOutputs, status: { status_str: 'success' } });
    }
    this.completing = false;
    this.fail(
      new WorkerFailure('the prompt finished but its history never appeared', false, this.worker),
    );
  }

  // ---- watchdog: stall timeout and reconciliation ----

  private startTimer(): void {
    const tick = Math.max(
      20,
      Math.min(1_000, Math.floor(this.timings.stallTimeoutMs / 5), this.timings.pollMs),
    );
    this.timer = setInterval(() => this.tick(), tick);
    this.timer.unref();
  }

  private tick(): void {
    if (this.settled || this.cancelling) return;
    const now = Date.now();
    // A queued prompt is not stalled while the worker executes something else.
    const activity = this.started
      ? this.lastEventAt
      : Math.max(this.lastEventAt, this.client.lastActivityAt);
    if (now - activity > this.timings.stallTimeoutMs) {
      this.stall();
      return;
    }
    if (
      !this.checking &&
      now - this.lastEventAt >= this.timings.pollMs &&
      now - this.lastCheckAt >= this.timings.pollMs
    ) {
      void this.check('poll');
    }
  }

  private stall(): void {
    const seconds = Math.round(this.timings.stallTimeoutMs / 100) / 10;
    this.fail(
      new ExecutionError('TIMED_OUT', `The worker made no progress on the run for ${seconds} s.`, {
        worker: this.worker,
      }),
    );
    this.hooks.stalled?.();
    // Best effort: the prompt should not run later for nobody.
    this.client.cancelPrompt(this.promptId).catch((error: unknown) => {
      this.client.log?.debug('canceling a stalled prompt failed; retried on reconnect', {
        worker: this.worker,
        promptId: this.promptId,
        error,
      });
      this.client.abandon(this.promptId);
    });
  }

  /** Reads the prompt's state on the worker and acts on it. */
  private async check(reason: 'poll' | 'reconnect' | 'resume'): Promise<void> {
    if (this.settled) return;
    if (this.checking) {
      // An answer read before a reconnect may be stale: ask again when this one is done.
      if (reason !== 'poll') this.recheck = true;
      return;
    }
    this.checking = true;
    this.lastCheckAt = Date.now();
    try {
      const loc = await this.client.locate(this.promptId);
      this.unreachableSince = null;
      if (this.settled) return;
      switch (loc.state) {
        case 'finished':
          if (reason === 'poll' && this.eventsSeen && this.client.connected && !this.completing) {
            // The socket looked fine but missed the completion: it is not to be trusted.
            void this.client.reconnect();
          }
          this.finishWith(loc.entry);
          break;
        case 'running':
          this.markStarted();
          this.liveness();
          break;
        case 'pending':
          this.liveness();
          break;
        case 'unknown':
          if (this.completing) break;
          this.fail(
            new WorkerFailure(
              'the worker lost the prompt (restarted?)',
              true,
              this.worker,
              false,
              true,
            ),
          );
          break;
      }
    } catch (e) {
      if (!(e instanceof HttpFailure)) {
        this.fail(e as Error);
        return;
      }
      const now = Date.now();
      this.unreachableSince ??= now;
      if (now - this.unreachableSince > this.timings.lostAfterMs) {
        this.client.abandon(this.promptId);
        this.fail(
          new WorkerFailure(
            `the worker is unreachable: ${e.message}`,
            true,
            this.worker,
            false,
            true,
          ),
        );
      }
    } finally {
      this.checking = false;
      if (this.recheck && !this.settled) {
        this.recheck = false;
        void this.check('reconnect');
      }
    }
  }

  /**
   * A prompt followed after a restart by another process may send its events to that
   * process's client id: with no event ever seen, the worker's answer is the only sign of
   * life, so it holds off the stall timeout (a wedged worker is then not detected).
   */
  private liveness(): void {
    if (this.mode === 'track' && !this.eventsSeen) this.lastEventAt = Date.now();
  }

  // ---- cancel ----

  /**
   * Cancels the prompt on the worker and waits until the worker confirms it stopped:
   * `execution_interrupted` (or any other end) on the socket, or the prompt's state read
   * with a backoff (100 ms doubling to 1 s, so a few requests per second at most). The run
   * stays RUNNING ("canceling") meanwhile and the worker's slot stays taken. A worker that
   * does not confirm within `cancelConfirmMs` ends the run unconfirmed (see linger()).
   */
  private async abort(): Promise<void> {
    if (this.settled || this.cancelling) return;
    this.cancelling = true;
    if (!this.submitted) {
      this.fail(canceled(undefined));
      return;
    }
    this.onEvent({ type: 'canceling', worker: this.worker });
    const since = Date.now();
    let sentAt: number | null = null;
    let unreachableSince: number | null = null;
    for (let delay = CANCEL_POLL_MIN_MS; !this.settled; ) {
      try {
        if (sentAt === null || Date.now() - sentAt >= CANCEL_RESEND_MS) {
          await this.client.cancelPrompt(this.promptId);
          sentAt = Date.now();
        }
        if (this.settled) break;
        const loc = await this.client.locate(this.promptId);
        unreachableSince = null;
        if (this.settled) break;
        if (loc.state === 'finished') {
          // Interrupted (or it finished first): either way it ends CANCELED.
          this.finishWith(loc.entry);
          break;
        }
        if (loc.state === 'unknown') {
          // Removed from the worker's queue before it started (or the worker lost it).
          this.fail(canceled(this.worker));
          break;
        }
      } catch (e) {
        if (!(e instanceof HttpFailure)) {
          this.fail(e as Error);
          break;
        }
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > this.timings.lostAfterMs) {
          // The worker is gone (its health checks say so too); the prompt is canceled there
          // if it ever answers again.
          this.client.abandon(this.promptId);
          this.fail(
            canceled(this.worker, 'Canceled; the worker became unreachable before it stopped.'),
          );
          break;
        }
      }
      if (this.settled) break;
      const left = this.timings.cancelConfirmMs - (Date.now() - since);
      if (left <= 0) {
        this.linger();
        break;
      }
      await this.cancelPause(Math.min(delay, left));
      delay = Math.min(delay * 2, CANCEL_POLL_MAX_MS);
    }
  }

  /** Waits `ms`, or less if the outcome arrives meanwhile. */
  private cancelPause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeCancel = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeCancel = done;
    });
  }

  /**
   * The worker did not confirm the cancel in time (a wedged GPU, a node that never checks):
   * the run ends CANCELED, saying so, and the worker's slot stays taken until the worker is
   * done with the prompt or is gone, so nothing else is sent to sit behind it.
   */
  private linger(): void {
    this.lingering = true;
    this.hooks.lingering?.();
    const seconds = Math.round(this.timings.cancelConfirmMs / 100) / 10;
    const error = canceled(
      this.worker,
      `Canceled; the worker did not confirm within ${seconds} s that the run stopped, so it is kept out of use until it does.`,
    );
    error.details.unconfirmed = true;
    this.fail(error);
    void this.drain();
  }

  /** After linger(): releases the slot once the worker no longer has the prompt, or is gone. */
  private async drain(): Promise<void> {
    let sentAt = Date.now();
    let unreachableSince: number | null = null;
    for (let delay = CANCEL_POLL_MAX_MS; ; delay = Math.min(delay * 2, LINGER_POLL_MAX_MS)) {
      await idleSleep(delay);
      if (!this.client.active) break;
      try {
        const loc = await this.client.locate(this.promptId);
        unreachableSince = null;
        if (loc.state !== 'running' && loc.state !== 'pending') break;
        if (Date.now() - sentAt >= CANCEL_RESEND_MS) {
          sentAt = Date.now();
          await this.client.cancelPrompt(this.promptId);
        }
      } catch (e) {
        if (!(e instanceof HttpFailure)) break;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince > this.timings.lostAfterMs) {
          this.client.abandon(this.promptId);
          break;
        }
      }
    }
    this.doneOnWorker();
  }
}

/** Ids of the nodes whose outputs another node of the graph takes as an input. */
function consumedNodes(graph: ApiGraph): Set<string> {
  const consumed = new Set<string>();
  for (const node of Object.values(graph)) {
    for (const value of Object.values(node.inputs)) {
      if (isLink(value)) consumed.add(value[0]);
    }
  }
  return consumed;
}
