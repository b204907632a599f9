// What a node implementation receives and returns.
import type { ApiPrompt } from '../queue.ts';
import type { NodeClassSpec } from '../specs.ts';
import type { RawImage } from '../values.ts';

export interface Dirs {
  input: string;
  output: string;
  temp: string;
}

export interface NodeContext {
  nodeId: string;
  classType: string;
  spec: NodeClassSpec;
  /** Literal inputs and the values of linked ones, by (dotted) input name. */
  inputs: Record<string, unknown>;
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  dirs: Dirs;
  /**
   * Reports a sampler step like ComfyUI's ProgressBar hook: waits the configured step delay,
   * honours interrupts, hangs and injected faults, then sends progress_state, the preview
   * frame and progress. A `preview` is sent as a small JPEG, or as a full-size PNG when
   * `format` is PNG (SaveImageWebsocket).
   */
  progress(
    value: number,
    max: number,
    preview?: () => RawImage,
    format?: 'JPEG' | 'PNG',
  ): Promise<void>;
  /** Throws the interrupt exception when an interrupt is pending. */
  checkInterrupt(): void;
  /** Preview maximum edge in pixels. */
  previewSize: number;
}

/** A node's outputs (one value per output socket) and optional UI dict for `executed`. */
export interface NodeResult {
  outputs: unknown[];
  ui?: Record<string, unknown[]>;
}

export type NodeImpl = (ctx: NodeContext) => Promise<NodeResult>;

/** A node failure the executor reports as `execution_error` with this Python type. */
export class NodeError extends Error {
  constructor(
    message: string,
    readonly pyType = 'RuntimeError',
    readonly tips = '',
  ) {
    super(message);
  }
}
