// Which nodes a prompt runs and in what order (`comfy_execution/graph.py` ExecutionList,
// `ux_friendly_pick_node`), and the input signatures the output cache is keyed by
// (`comfy_execution/caching.py`, with IS_CHANGED of file-reading nodes).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Dirs } from './nodes/context.ts';
import { annotatedPath } from './nodes/files.ts';
import type { ApiNode, ApiPrompt } from './queue.ts';

export function isLink(v: unknown): v is [string, number] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';
}

/** IS_CHANGED: file-reading nodes hash their file, SaveImageWebsocket always changes. */
function isChanged(node: ApiNode, dirs: Dirs): string {
  const ct = node.class_type;
  if (ct === 'SaveImageWebsocket') return String(Math.random());
  if (!['LoadImage', 'LoadImageMask', 'LoadImageOutput', 'LoadAudio'].includes(ct)) return '';
  const name = node.inputs?.image ?? node.inputs?.audio;
  if (typeof name !== 'string') return '';
  const file = annotatedPath(name, dirs, ct === 'LoadImageOutput' ? dirs.output : undefined);
  try {
    return file ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'missing';
  } catch {
    return 'missing';
  }
}

/**
 * Cache keys: class, IS_CHANGED and literal inputs, with links replaced by the signature of
 * the node they come from, so an identical subgraph hits the cache whatever its node ids.
 */
export function signatures(prompt: ApiPrompt, dirs: Dirs): Map<string, string> {
  const sigs = new Map<string, string>();
  const visiting = new Set<string>();
  const sig = (id: string): string => {
    const known = sigs.get(id);
    if (known) return known;
    const node = prompt[id];
    if (!node || visiting.has(id)) return `cycle:${Math.random()}`;
    visiting.add(id);
    const inputs = Object.keys(node.inputs ?? {})
      .sort()
      .map((k) => {
        const v = node.inputs[k];
        return [k, isLink(v) ? ['@link', sig(v[0]), v[1]] : v];
      });
    visiting.delete(id);
    const s = createHash('sha1')
      .update(JSON.stringify([node.class_type, isChanged(node, dirs), inputs]))
      .digest('hex');
    sigs.set(id, s);
    return s;
  };
  for (const id of Object.keys(prompt)) sig(id);
  return sigs;
}

/**
 * The nodes to execute: each output node plus its dependencies that are not cached, each
 * blocked until the nodes it reads from are done.
 */
export class ExecutionList {
  private readonly pending: string[] = [];
  private readonly blockCount = new Map<string, number>();
  private readonly blocking = new Map<string, Set<string>>();

  constructor(
    private readonly prompt: ApiPrompt,
    private readonly isCached: (id: string) => boolean,
    private readonly isOutput: (id: string) => boolean,
  ) {}

  get isEmpty(): boolean {
    return this.pending.length === 0;
  }

  add(start: string): void {
    const stack = [start];
    const links: Array<[string, string]> = [];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (this.blockCount.has(id)) continue;
      this.pending.push(id);
      this.blockCount.set(id, 0);
      if (!this.blocking.has(id)) this.blocking.set(id, new Set());
      for (const v of Object.values(this.prompt[id]?.inputs ?? {})) {
        if (!isLink(v)) continue;
        if (!this.isCached(v[0])) stack.push(v[0]);
        links.push([v[0], id]);
      }
    }
    for (const [from, to] of links) {
      if (this.isCached(from)) continue;
      if (!this.blockCount.has(from)) this.add(from);
      const set = this.blocking.get(from) ?? new Set<string>();
      this.blocking.set(from, set);
      if (!set.has(to)) {
        set.add(to);
        this.blockCount.set(to, (this.blockCount.get(to) ?? 0) + 1);
      }
    }
  }

  /**
   * `ux_friendly_pick_node`: among ready nodes, an output node first, then a node feeding
   * one, then one two hops away, else the first ready.
   */
  next(): string | undefined {
    const ready = this.pending.filter((id) => this.blockCount.get(id) === 0);
    const feeds = (id: string) => [...(this.blocking.get(id) ?? [])];
    return (
      ready.find(this.isOutput) ??
      ready.find((id) => feeds(id).some(this.isOutput)) ??
      ready.find((id) => feeds(id).some((b) => feeds(b).some(this.isOutput))) ??
      ready[0]
    );
  }

  complete(id: string): void {
    this.pending.splice(this.pending.indexOf(id), 1);
    for (const to of this.blocking.get(id) ?? []) {
      this.blockCount.set(to, (this.blockCount.get(to) ?? 1) - 1);
    }
  }
}
