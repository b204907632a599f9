// Failure injection for tests and benchmarks. Faults are armed through the library API or
// the /sandbox/faults route and consumed as prompts execute or requests arrive.

/** A node failure: a Python exception (or a CUDA OOM) raised when a node runs. */
export interface NodeFault {
  /** `error` raises RuntimeError (or `exceptionType`), `oom` raises torch.OutOfMemoryError. */
  kind: 'error' | 'oom';
  /** Only nodes of this class fail; any executed node when omitted. */
  classType?: string;
  /** Fail at this sampler step (1-based) instead of when the node starts. */
  atStep?: number;
  message?: string;
  exceptionType?: string;
  /** How many times it fires (default: forever for a class fault, once for next-prompt). */
  times?: number;
}

/** HTTP failures: every matching request answers `status` with a text body. */
export interface HttpFault {
  status: number;
  /** `prompt`: POST /prompt only; `all`: every ComfyUI route (not /sandbox). */
  scope: 'prompt' | 'all';
  times?: number;
}

/** Drops WebSocket connections while the next prompt runs (the prompt keeps running). */
export interface DropSocketFault {
  /** After this many progress steps of the prompt (0: when it starts executing). */
  afterSteps: number;
  /** Only the prompt's client socket (default) or every socket. */
  all?: boolean;
}

/** Stops the next prompt from progressing: no messages, no completion, until released. */
export interface HangFault {
  afterSteps: number;
  /** Whether /interrupt and job cancel still end it (default false: a wedged GPU). */
  interruptible?: boolean;
}

/**
 * Makes nodes slow without progress checks (a long VAE decode, a model moved between
 * devices): an interrupt arriving meanwhile takes effect only at the next node boundary.
 */
export interface SlowNodeFault {
  /** Only nodes of this class are slow; any executed node when omitted. */
  classType?: string;
  /** Extra time the node takes, ms. */
  delayMs: number;
  /** How many times it applies (default: forever). */
  times?: number;
}

export interface ArmedFaults {
  nodeFaults: NodeFault[];
  slowNodes: SlowNodeFault[];
  nextPrompt: NodeFault[];
  http: HttpFault[];
  dropSocket: DropSocketFault[];
  hang: HangFault[];
}

export class Faults {
  private state: ArmedFaults = {
    nodeFaults: [],
    slowNodes: [],
    nextPrompt: [],
    http: [],
    dropSocket: [],
    hang: [],
  };

  /** Per running prompt: the one-shot faults it took when it started. */
  private current: { nextPrompt: NodeFault[]; drop?: DropSocketFault; hang?: HangFault } = {
    nextPrompt: [],
  };

  snapshot(): ArmedFaults {
    return structuredClone(this.state);
  }

  clear(): void {
    this.state = {
      nodeFaults: [],
      slowNodes: [],
      nextPrompt: [],
      http: [],
      dropSocket: [],
      hang: [],
    };
    this.current = { nextPrompt: [] };
  }

  failNode(fault: NodeFault): void {
    this.state.nodeFaults.push({ ...fault });
  }

  failNextPrompt(fault: NodeFault): void {
    this.state.nextPrompt.push({ times: 1, ...fault });
  }

  slowNode(fault: SlowNodeFault): void {
    this.state.slowNodes.push({ ...fault });
  }

  /** The slowness of a node of `classType` that starts now, if any (consumed per use). */
  slowNow(classType: string): SlowNodeFault | undefined {
    const list = this.state.slowNodes;
    const index = list.findIndex((f) => f.classType === undefined || f.classType === classType);
    if (index < 0) return undefined;
    const fault = list[index]!;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) list.splice(index, 1);
    }
    return fault;
  }

  failHttp(fault: HttpFault): void {
    this.state.http.push({ ...fault });
  }

  dropSocketsNextPrompt(fault: DropSocketFault): void {
    this.state.dropSocket.push({ ...fault });
  }

  hangNextPrompt(fault: HangFault): void {
    this.state.hang.push({ ...fault });
  }

  /** A prompt starts executing: it takes the armed one-shot faults. */
  beginPrompt(): void {
    const drop = this.state.dropSocket.shift();
    const hang = this.state.hang.shift();
    this.current = {
      nextPrompt: this.state.nextPrompt.splice(0),
      ...(drop ? { drop } : {}),
      ...(hang ? { hang } : {}),
    };
  }

  endPrompt(): void {
    this.current = { nextPrompt: [] };
  }

  private take(
    list: NodeFault[],
    classType: string,
    step: number | undefined,
  ): NodeFault | undefined {
    const index = list.findIndex(
      (f) =>
        (f.classType === undefined || f.classType === classType) &&
        (step === undefined ? f.atStep === undefined : f.atStep === step),
    );
    if (index < 0) return undefined;
    const fault = list[index]!;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) list.splice(index, 1);
    }
    return fault;
  }

  /** The fault to raise when a node of `classType` starts (or reaches `step`), if any. */
  nodeFault(classType: string, step?: number): NodeFault | undefined {
    return (
      this.take(this.current.nextPrompt, classType, step) ??
      this.take(this.state.nodeFaults, classType, step)
    );
  }

  /** Whether the running prompt should drop sockets now (consumed when it fires). */
  dropNow(steps: number): DropSocketFault | undefined {
    const d = this.current.drop;
    if (d && steps >= d.afterSteps) {
      delete this.current.drop;
      return d;
    }
    return undefined;
  }

  hangNow(steps: number): HangFault | undefined {
    const h = this.current.hang;
    if (h && steps >= h.afterSteps) {
      delete this.current.hang;
      return h;
    }
    return undefined;
  }

  /** The status to answer instead of handling the request, if an HTTP fault matches. */
  httpStatus(method: string, route: string): number | undefined {
    const index = this.state.http.findIndex(
      (f) => f.scope === 'all' || (method === 'POST' && route === '/prompt'),
    );
    if (index < 0) return undefined;
    const fault = this.state.http[index]!;
    if (fault.times !== undefined) {
      fault.times--;
      if (fault.times <= 0) this.state.http.splice(index, 1);
    }
    return fault.status;
  }
}

/** CUDA's out-of-memory text as torch formats it. */
export const OOM_MESSAGE =
  'CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of 79.19 GiB of which 20.56 MiB is free. ' +
  'Of the allocated memory 76.10 GiB is allocated by PyTorch, and 1.94 GiB is reserved by PyTorch but unallocated. ' +
  'If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid ' +
  'fragmentation.  See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)';

/** The tips ComfyUI appends to an OOM's exception_message. */
export const OOM_TIPS =
  'This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.';
