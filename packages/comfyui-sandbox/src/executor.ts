// The prompt executor (`execution.py` `PromptExecutor.execute_async`, `execute`, the
// ExecutionList scheduler and the progress registry): messages in ComfyUI's order, routed by
// the prompt's client_id, an output cache keyed by input signatures (so an identical re-run is
// served from cache with `execution_cached`), interrupts checked before every node and at
// every sampler step (as in ComfyUI, a step or a node in progress finishes first: an interrupt
// takes effect at the next check, not mid-work), and node errors reported the way Python
// exceptions are.
import { type Faults, type NodeFault, OOM_MESSAGE, OOM_TIPS } from './faults.ts';
import { encodeJpeg, encodePng } from './images.ts';
import type { Dirs, NodeContext, NodeImpl } from './nodes/context.ts';
import { NodeError } from './nodes/context.ts';
import type { ApiPrompt, QueueItem } from './queue.ts';
import { ExecutionList, isLink, signatures } from './schedule.ts';
import type { NodeClassSpec } from './specs.ts';
import { describeValue, type RawImage } from './values.ts';
import { encodePreviewImage, encodePreviewWithMetadata, type SocketHub } from './ws.ts';

/** Run-time knobs the executor reads on every step (changed live through the Sandbox API). */
export interface ExecutionKnobs {
  stepDelayMs: number;
  /** Extra delay when a loader node actually runs (model load), in ms. */
  modelLoadDelayMs: number;
  /** Send latent previews (unless a prompt sets extra_data.preview_method "none"). */
  previews: boolean;
  /** Longest edge of preview JPEGs. */
  previewSize: number;
  /**
   * A cached output node sends its `executed` (with its UI) again, as ComfyUI has since its
   * 2024 execution rewrite. false: as ComfyUI before it (`recursive_execute` returned early
   * for a node in `outputs`), nothing is sent for a cached node; its UI is only in the
   * history.
   */
  resendCachedUi: boolean;
}

export interface ExecutorDeps {
  hub: SocketHub;
  faults: Faults;
  knobs: ExecutionKnobs;
  dirs: Dirs;
  spec(classType: string): NodeClassSpec | undefined;
  impl(classType: string): NodeImpl | undefined;
  log(line: string): void;
}

interface CacheEntry {
  outputs: unknown[];
  ui?: { meta: Record<string, unknown>; output: Record<string, unknown[]> };
}

export interface ExecutionResult {
  outcome: 'success' | 'error' | 'interrupted' | 'aborted';
  messages: Array<[string, Record<string, unknown>]>;
  outputs: Record<string, Record<string, unknown[]>>;
  meta: Record<string, Record<string, unknown>>;
  executed: string[];
  cached: string[];
  error?: Record<string, unknown>;
  /** When an interrupt aimed at this prompt first arrived (ms), if one did. */
  interruptRequestedAt?: number;
  /** When the interrupt took effect (`execution_interrupted` sent, ms) and at which node. */
  interruptedAt?: number;
  interruptedNode?: string;
}

class InterruptProcessingError extends Error {}

/** Thrown inside a run after a restart or stop: the run ends silently. */
export class AbortedError extends Error {}

type NodeState = 'running' | 'finished';

interface ProgressEntry {
  value: number;
  max: number;
  state: NodeState;
}

/** One executing prompt. */
interface Run {
  item: QueueItem;
  client: string | null;
  signal: AbortSignal;
  interrupt: boolean;
  /** When the first interrupt for this prompt arrived (ms). */
  interruptRequestedAt: number | null;
  interruptible: boolean;
  /** Blocked by a `hang` fault (not by an ordinary step delay). */
  hung: boolean;
  wakers: Set<() => void>;
  progress: Map<string, ProgressEntry>;
  steps: number;
  lastNode: string | null;
}

const LOADER_CATEGORY = 'model/loaders';

function traceback(classType: string): string[] {
  return [
    '  File "/ComfyUI/execution.py", line 510, in execute\n    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n',
    '  File "/ComfyUI/execution.py", line 324, in get_output_data\n    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)\n',
    `  File "/ComfyUI/comfyui_sandbox.py", line 1, in ${classType}\n    raise error\n`,
  ];
}

export class Executor {
  private cache = new Map<string, CacheEntry>();
  private run: Run | null = null;

  constructor(private readonly deps: ExecutorDeps) {}

  /** The prompt id executing now, if any. */
  get runningPromptId(): string | null {
    return this.run?.item.promptId ?? null;
  }

  /** The node executing for `sid`'s prompt (the reconnect `executing` hint). */
  executingNodeFor(sid: string): string | null {
    return this.run && this.run.client === sid ? this.run.lastNode : null;
  }

  /**
   * `/interrupt`: global when `promptId` is undefined, else only if that prompt is running.
   * Returns whether an interrupt was requested. Like ComfyUI's flag, it is only looked at
   * before each node and at each sampler step: the step or node in progress finishes first
   * (an interruptible hang, a sampler blocked in its progress check, ends at once).
   */
  interrupt(promptId?: string): boolean {
    const run = this.run;
    if (!run) return false;
    if (promptId !== undefined && run.item.promptId !== promptId) return false;
    run.interrupt = true;
    run.interruptRequestedAt ??= Date.now();
    if (run.hung && run.interruptible) for (const wake of run.wakers) wake();
    return true;
  }

  /** Forgets cached outputs (`/free` with free_memory, or a restart). */
  clearCache(): void {
    this.cache.clear();
  }

  /** True while a prompt is blocked by a `hang` fault. */
  get hanging(): boolean {
    return this.run?.hung ?? false;
  }

  /** Resumes a hung prompt (a `hang` fault) as if nothing happened. */
  releaseHang(): void {
    if (this.run) for (const wake of this.run.wakers) wake();
  }

  async execute(item: QueueItem, signal: AbortSignal): Promise<ExecutionResult> {
    const client =
      typeof item.extraData.client_id === 'string' ? (item.extraData.client_id as string) : null;
    const run: Run = {
      item,
      client,
      signal,
      interrupt: false,
      interruptRequestedAt: null,
      interruptible: true,
      hung: false,
      wakers: new Set(),
      progress: new Map(),
      steps: 0,
      lastNode: null,
    };
    this.run = run;
    const messages: ExecutionResult['messages'] = [];
    const result: ExecutionResult = {
      outcome: 'success',
      messages,
      outputs: {},
      meta: {},
      executed: [],
      cached: [],
    };
    try {
      await this.executePrompt(run, result);
    } catch (e) {
      if (!(e instanceof AbortedError)) throw e;
      result.outcome = 'aborted';
    } finally {
      if (this.run === run) this.run = null;
    }
    if (run.interruptRequestedAt !== null) result.interruptRequestedAt = run.interruptRequestedAt;
    return result;
  }

  private send(run: Run, event: string, data: unknown, sid: string | null): void {
    if (run.signal.aborted) throw new AbortedError();
    this.deps.hub.send(event, data, sid);
  }

  private addMessage(
    run: Run,
    result: ExecutionResult,
    event: string,
    data: Record<string, unknown>,
    broadcast: boolean,
  ): void {
    const full = { ...data, timestamp: Date.now() };
    result.messages.push([event, full]);
    if (run.client !== null || broadcast) this.send(run, event, full, run.client);
  }

  private checkAbort(run: Run): void {
    if (run.signal.aborted) throw new AbortedError();
  }

  private checkInterrupt(run: Run): void {
    this.checkAbort(run);
    if (run.interrupt) {
      run.interrupt = false;
      throw new InterruptProcessingError('Processing interrupted');
    }
  }

  /**
   * Work that takes time (a sampler step, a model load, a slow node): an interrupt does not
   * cut it short, as in ComfyUI; only a restart or stop (abort) does.
   */
  private async sleep(run: Run, ms: number): Promise<void> {
    if (ms <= 0) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        run.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      run.signal.addEventListener('abort', done, { once: true });
    });
  }

  /** Blocks until released, restarted/stopped, or (if interruptible) interrupted. */
  private async hang(run: Run, interruptible: boolean): Promise<void> {
    this.deps.log(`prompt ${run.item.promptId} hangs (injected fault)`);
    run.interruptible = interruptible;
    // An interrupt that came during the step before reaches an interruptible hang at once,
    // as ComfyUI stops at its next check.
    if (!(interruptible && run.interrupt)) {
      run.hung = true;
      await new Promise<void>((resolve) => {
        const done = () => {
          run.wakers.delete(done);
          resolve();
        };
        run.wakers.add(done);
        run.signal.addEventListener('abort', done, { once: true });
      });
      run.hung = false;
    }
    run.interruptible = true;
    this.checkAbort(run);
  }

  private sendProgressState(run: Run): void {
    const nodes: Record<string, unknown> = {};
    for (const [id, p] of run.progress) {
      nodes[id] = {
        value: p.value,
        max: p.max,
        state: p.state,
        node_id: id,
        prompt_id: run.item.promptId,
        display_node_id: id,
        parent_node_id: null,
        real_node_id: id,
      };
    }
    this.send(run, 'progress_state', { prompt_id: run.item.promptId, nodes }, run.client);
  }

  private async stepFaults(run: Run, nodeId: string, classType: string): Promise<void> {
    this.checkAbort(run);
    const { faults, hub } = this.deps;
    const drop = faults.dropNow(run.steps);
    if (drop) {
      const n = hub.drop(drop.all ? undefined : run.client);
      this.deps.log(`dropped ${n} WebSocket connection(s) (injected fault)`);
    }
    const hang = faults.hangNow(run.steps);
    if (hang) await this.hang(run, hang.interruptible ?? false);
    // run.steps counts the steps already reported; this one is the next.
    const fault = faults.nodeFault(classType, run.steps + 1);
    if (fault && fault.atStep !== undefined) throw this.faultError(fault, classType, nodeId);
  }

  private faultError(fault: NodeFault, classType: string, nodeId: string): NodeError {
    if (fault.kind === 'oom') return new NodeError(OOM_MESSAGE, 'torch.OutOfMemoryError', OOM_TIPS);
    return new NodeError(
      fault.message ?? `Sandbox: injected failure in ${classType} (node ${nodeId})`,
      fault.exceptionType ?? 'RuntimeError',
    );
  }

  private async progressHook(
    run: Run,
    nodeId: string,
    classType: string,
    value: number,
    max: number,
    preview?: () => RawImage,
    format: 'JPEG' | 'PNG' = 'JPEG',
  ): Promise<void> {
    const { knobs, hub } = this.deps;
    await this.sleep(run, knobs.stepDelayMs);
    await this.stepFaults(run, nodeId, classType);
    this.checkInterrupt(run);
    run.steps++;
    const entry = run.progress.get(nodeId) ?? { value: 0, max: 1, state: 'running' as const };
    entry.value = value;
    entry.max = max;
    entry.state = 'running';
    run.progress.set(nodeId, entry);
    this.sendProgressState(run);

    const wantPreview =
      preview !== undefined &&
      (format === 'PNG' || (knobs.previews && run.item.extraData.preview_method !== 'none'));
    let bytes: Buffer | undefined;
    if (wantPreview) {
      const img = preview();
      bytes = format === 'PNG' ? await encodePng(img, 1) : await encodeJpeg(img, 95);
      this.checkAbort(run);
    }
    const metadata = hub.supportsPreviewMetadata(run.client);
    if (bytes && metadata) {
      hub.sendBinary(
        encodePreviewWithMetadata(format, bytes, {
          node_id: nodeId,
          prompt_id: run.item.promptId,
          display_node_id: nodeId,
          parent_node_id: null,
          real_node_id: nodeId,
        }),
        run.client,
      );
    }
    this.send(
      run,
      'progress',
      { value, max, prompt_id: run.item.promptId, node: nodeId },
      run.client,
    );
    if (bytes && !metadata) hub.sendBinary(encodePreviewImage(format, bytes), run.client);
  }

  private async executePrompt(run: Run, result: ExecutionResult): Promise<void> {
    const { item } = run;
    const prompt = item.prompt;
    const promptId = item.promptId;
    this.addMessage(run, result, 'execution_start', { prompt_id: promptId }, false);

    // Cache: keep only entries this prompt can use (classic cache's clean_unused).
    const sigs = signatures(prompt, this.deps.dirs);
    const wanted = new Set(sigs.values());
    for (const key of [...this.cache.keys()]) if (!wanted.has(key)) this.cache.delete(key);
    const cachedEntry = (id: string) => this.cache.get(sigs.get(id)!);
    const cachedNodes = Object.keys(prompt).filter((id) => cachedEntry(id) !== undefined);
    result.cached = cachedNodes;
    this.addMessage(
      run,
      result,
      'execution_cached',
      { nodes: cachedNodes, prompt_id: promptId },
      false,
    );
    const currentOutputs = [...cachedNodes];

    const isOutput = (id: string) => this.deps.spec(prompt[id]!.class_type)?.output_node === true;
    const list = new ExecutionList(prompt, (id) => cachedEntry(id) !== undefined, isOutput);
    for (const o of item.outputsToExecute) list.add(o);

    const values = new Map<string, unknown[]>();
    const executed: string[] = [];
    const uiOutputs = new Map<string, NonNullable<CacheEntry['ui']>>();

    while (!list.isEmpty) {
      const id = list.next();
      if (id === undefined) break;
      const node = prompt[id]!;
      const classType = node.class_type;
      try {
        await this.executeNode(run, id, node, sigs, values, executed, uiOutputs);
      } catch (e) {
        if (e instanceof AbortedError) throw e;
        if (e instanceof InterruptProcessingError) {
          result.interruptedNode = id;
          this.addMessage(
            run,
            result,
            'execution_interrupted',
            { prompt_id: promptId, node_id: id, node_type: classType, executed: [...executed] },
            true,
          );
          result.interruptedAt = result.messages.at(-1)![1].timestamp as number;
          result.outcome = 'interrupted';
        } else {
          const err =
            e instanceof NodeError
              ? e
              : new NodeError(String((e as Error)?.message ?? e), 'Exception');
          const data = {
            prompt_id: promptId,
            node_id: id,
            node_type: classType,
            executed: [...executed],
            exception_message: `${err.message}\n${err.tips}`,
            exception_type: err.pyType,
            traceback: traceback(classType),
            current_inputs: this.formatInputs(node, values, sigs),
            current_outputs: currentOutputs,
          };
          this.addMessage(run, result, 'execution_error', data, false);
          result.outcome = 'error';
          result.error = data;
          this.deps.log(
            `prompt ${promptId}: ${classType} (node ${id}) failed: ${err.pyType}: ${err.message}`,
          );
        }
        break;
      }
      list.complete(id);
    }
    if (result.outcome === 'success') {
      this.addMessage(run, result, 'execution_success', { prompt_id: promptId }, false);
    }
    for (const [id, ui] of uiOutputs) {
      result.outputs[id] = ui.output;
      result.meta[id] = ui.meta;
    }
    result.executed = executed;
    run.lastNode = null;
  }

  /** `current_inputs`: each input as a one-item list, non-primitives str()-ed. */
  private formatInputs(
    node: ApiPrompt[string],
    values: Map<string, unknown[]>,
    sigs: Map<string, string>,
  ): Record<string, unknown[]> {
    const out: Record<string, unknown[]> = {};
    for (const [k, v] of Object.entries(node.inputs ?? {})) {
      if (isLink(v)) {
        const src = values.get(v[0]) ?? this.cache.get(sigs.get(v[0]) ?? '')?.outputs;
        out[k] = [describeValue(src?.[v[1]])];
      } else {
        out[k] = [v];
      }
    }
    return out;
  }

  private async executeNode(
    run: Run,
    id: string,
    node: ApiPrompt[string],
    sigs: Map<string, string>,
    values: Map<string, unknown[]>,
    executed: string[],
    uiOutputs: Map<string, NonNullable<CacheEntry['ui']>>,
  ): Promise<void> {
    const promptId = run.item.promptId;
    const classType = node.class_type;
    const key = sigs.get(id)!;
    const cached = this.cache.get(key);
    if (cached) {
      if (run.client !== null && this.deps.knobs.resendCachedUi) {
        this.send(
          run,
          'executed',
          { node: id, display_node: id, output: cached.ui?.output ?? null, prompt_id: promptId },
          run.client,
        );
      }
      if (cached.ui) uiOutputs.set(id, cached.ui);
      run.progress.set(id, { value: 1, max: 1, state: 'finished' });
      this.sendProgressState(run);
      values.set(id, cached.outputs);
      return;
    }

    run.progress.set(id, { value: 0, max: 1, state: 'running' });
    this.sendProgressState(run);
    if (run.client !== null) {
      run.lastNode = id;
      this.send(run, 'executing', { node: id, display_node: id, prompt_id: promptId }, run.client);
    }
    // before_node_execution: an interrupt requested earlier lands here.
    this.checkInterrupt(run);
    const { faults } = this.deps;
    if (run.steps === 0) {
      const drop = faults.dropNow(0);
      if (drop) this.deps.hub.drop(drop.all ? undefined : run.client);
      const hang = faults.hangNow(0);
      if (hang) await this.hang(run, hang.interruptible ?? false);
      this.checkInterrupt(run);
    }
    const fault = faults.nodeFault(classType);
    if (fault) throw this.faultError(fault, classType, id);
    // A long operation without progress checks (a VAE decode, a model move): it runs to its
    // end whatever the interrupt flag says.
    const slow = faults.slowNow(classType);
    if (slow) await this.sleep(run, slow.delayMs);

    const spec = this.deps.spec(classType)!;
    const impl = this.deps.impl(classType);
    if (!impl) throw new NodeError(`Node class ${classType} is not available`, 'KeyError');
    const inputs: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node.inputs ?? {})) {
      if (isLink(v)) {
        const src = values.get(v[0]) ?? this.cache.get(sigs.get(v[0])!)?.outputs;
        inputs[k] = src?.[v[1]];
      } else {
        inputs[k] = v;
      }
    }
    // A model load has no progress checks either: an interrupt lands at the next node.
    if (spec.category === LOADER_CATEGORY) await this.sleep(run, this.deps.knobs.modelLoadDelayMs);
    this.checkAbort(run);

    const ctx: NodeContext = {
      nodeId: id,
      classType,
      spec,
      inputs,
      promptId,
      prompt: run.item.prompt,
      extraData: run.item.extraData,
      dirs: this.deps.dirs,
      previewSize: this.deps.knobs.previewSize,
      progress: (value, max, preview, format) =>
        this.progressHook(run, id, classType, value, max, preview, format),
      checkInterrupt: () => this.checkInterrupt(run),
    };
    const out = await impl(ctx);
    this.checkAbort(run);
    values.set(id, out.outputs);
    let ui: CacheEntry['ui'];
    if (out.ui && Object.keys(out.ui).length > 0) {
      ui = {
        meta: { node_id: id, display_node: id, parent_node: null, real_node_id: id },
        output: out.ui,
      };
      uiOutputs.set(id, ui);
      if (run.client !== null) {
        this.send(
          run,
          'executed',
          { node: id, display_node: id, output: out.ui, prompt_id: promptId },
          run.client,
        );
      }
    }
    this.cache.set(key, { outputs: out.outputs, ...(ui ? { ui } : {}) });
    const entry = run.progress.get(id)!;
    entry.state = 'finished';
    entry.value = entry.max;
    this.sendProgressState(run);
    executed.push(id);
  }
}
