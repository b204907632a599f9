// Overall progress of one prompt, 0..1: every node weighs 1, a sampler weighs its steps (read
// from the graph's `steps` input, corrected by the `max` of the `progress` messages it sends).
// The value never goes down: a late correction of a weight only slows the rise.
import type { ApiGraph } from '../models/workflow.ts';

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The steps a node will report, from its literal inputs (KSampler, KSamplerAdvanced...). */
export function predictedSteps(inputs: Record<string, unknown>): number | null {
  const steps = num(inputs.steps);
  if (steps === null || steps < 1) return null;
  const start = num(inputs.start_at_step) ?? 0;
  const end = Math.min(num(inputs.end_at_step) ?? steps, steps);
  return Math.max(1, Math.round(end - start));
}

export class ProgressModel {
  private readonly weights = new Map<string, number>();
  private readonly done = new Set<string>();
  private readonly partial = new Map<string, number>();
  private reported = 0;

  constructor(graph: ApiGraph) {
    for (const [id, node] of Object.entries(graph)) {
      this.weights.set(id, predictedSteps(node.inputs ?? {}) ?? 1);
    }
  }

  /** Ids of nodes served from cache or finished. */
  finish(nodeIds: Iterable<string>): void {
    for (const id of nodeIds) {
      this.done.add(id);
      this.partial.delete(id);
    }
  }

  /** A node starts: the nodes it follows are finished (ComfyUI runs one node at a time). */
  start(nodeId: string, previous: string | null): void {
    if (previous !== null && previous !== nodeId) this.finish([previous]);
    if (!this.weights.has(nodeId)) this.weights.set(nodeId, 1);
  }

  /** A `progress {value, max}` message for a node. */
  step(nodeId: string, value: number, max: number): void {
    if (max > 0) {
      const w = this.weights.get(nodeId) ?? 1;
      // A node that reports steps weighs its steps (samplers); never less than a plain node.
      if (max > 1 && w !== max) this.weights.set(nodeId, max);
      this.partial.set(nodeId, Math.min(1, Math.max(0, value / max)));
    }
  }

  /** The overall fraction, monotonic; 1 only when `complete` says so. */
  overall(complete = false): number {
    if (complete) {
      this.reported = 1;
      return 1;
    }
    let total = 0;
    let doneUnits = 0;
    for (const [id, w] of this.weights) {
      total += w;
      if (this.done.has(id)) doneUnits += w;
      else doneUnits += w * (this.partial.get(id) ?? 0);
    }
    const value = total > 0 ? Math.min(0.99, doneUnits / total) : 0;
    if (value > this.reported) this.reported = value;
    return this.reported;
  }
}
