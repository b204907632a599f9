// Test helpers for the ComfyUI adapter: sandbox workers on port 0, jobs built from the
// model-free workflow of PROTOCOL.md §8.2 and from the catalog's workflows (small sizes, few
// steps), and an event log that waits for the next matching event with a timeout.
import { createHash, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import {
  type Sandbox,
  type SandboxOptions,
  startSandbox,
} from '../../../comfyui-sandbox/src/index.ts';
import { BUNDLED_NODE_SPECS_FILE, loadNodeSpecs } from '../models/comfyui-nodes.ts';
import { type ApiGraph, validateGraph } from '../models/workflow.ts';
import type { ExecutionEvent, ExecutionImage, ExecutionJob } from '../queue/executor.ts';

const CATALOG_DIR = fileURLToPath(new URL('../../catalog', import.meta.url));
const CATALOG_MODELS = path.join(CATALOG_DIR, 'models');

const sandboxes: Sandbox[] = [];

/**
 * Starts a silent sandbox that has the catalog's model files (unless `models` says otherwise);
 * `stopSandboxes()` stops every one started in the file.
 */
export async function startWorker(options: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = await startSandbox({
    log: false,
    previewSize: 32,
    ...(options.models ? {} : { catalogDir: CATALOG_DIR }),
    ...options,
  });
  sandboxes.push(sandbox);
  return sandbox;
}

export async function stopSandboxes(): Promise<void> {
  await Promise.all(
    sandboxes.splice(0).map((s) => {
      s.clearFaults();
      s.releaseHang();
      return s.stop();
    }),
  );
}

/** The model-free workflow of PROTOCOL.md §8.2. */
export function minimalGraph(prefix = 'test/inv', color = 0xff0000): ApiGraph {
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color } },
    '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
    '3': { class_type: 'ImageBlur', inputs: { image: ['2', 0], blur_radius: 3, sigma: 1.0 } },
    '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: prefix } },
  };
}

/** Node classes and model files a graph needs, derived the way the catalog derives them. */
export async function requirementsOf(graph: ApiGraph): Promise<ExecutionJob['requirements']> {
  const report = validateGraph(graph, await loadNodeSpecs(BUNDLED_NODE_SPECS_FILE));
  if (report.issues.length > 0) {
    throw new Error(`invalid test graph: ${JSON.stringify(report.issues)}`);
  }
  return { nodeClasses: report.requiredNodes, modelFiles: report.requiredModelFiles };
}

export async function jobFor(
  graph: ApiGraph,
  extra: Partial<ExecutionJob> = {},
): Promise<ExecutionJob> {
  const attemptId = randomUUID();
  return {
    runId: `run-${attemptId.slice(0, 8)}`,
    attemptId,
    modelKey: 'test-minimal',
    graph,
    images: [],
    requirements: await requirementsOf(graph),
    ...extra,
  };
}

interface Binding {
  node: string;
  input: string;
}

interface CatalogFile {
  key: string;
  parameters: Array<{ name: string; min?: number; modes: string[] }>;
  workflows: Record<
    string,
    {
      graph: ApiGraph;
      bindings: {
        parameters: Record<string, Binding[]>;
        seed?: Binding[];
        images?: { source?: Binding; mask?: Binding; references?: Binding[] };
      };
    }
  >;
}

/**
 * A job from a catalog workflow: every bound size/length parameter at its minimum, `steps`
 * steps, the given seed, and `images` (PNG bytes) bound to the source / mask inputs.
 */
export async function catalogJob(
  modelKey: string,
  mode: string,
  options: { steps?: number; seed?: number; source?: Buffer; mask?: Buffer } = {},
): Promise<ExecutionJob> {
  const file = JSON.parse(
    await readFile(path.join(CATALOG_MODELS, `${modelKey}.json`), 'utf8'),
  ) as CatalogFile;
  const workflow = file.workflows[mode];
  if (!workflow) throw new Error(`${modelKey} has no ${mode} workflow`);
  const graph = structuredClone(workflow.graph);
  const set = (b: Binding, value: unknown) => {
    const node = graph[b.node];
    if (!node) throw new Error(`binding to missing node ${b.node}`);
    node.inputs[b.input] = value;
  };
  for (const p of file.parameters) {
    const targets = workflow.bindings.parameters[p.name];
    if (!targets || !p.modes.includes(mode)) continue;
    if (p.name === 'steps') {
      for (const t of targets) set(t, options.steps ?? 2);
    } else if (['width', 'height', 'frames', 'megapixels', 'duration'].includes(p.name)) {
      for (const t of targets) set(t, p.min);
    }
  }
  for (const t of workflow.bindings.seed ?? []) set(t, options.seed ?? 1);
  const images: ExecutionImage[] = [];
  const add = (b: Binding | undefined, data: Buffer | undefined, mask: boolean) => {
    if (!b || !data) return;
    images.push(imageInput(b.node, b.input, data, mask));
  };
  add(workflow.bindings.images?.source, options.source, false);
  add(workflow.bindings.images?.mask, options.mask, true);
  return jobFor(graph, { modelKey: file.key, images });
}

/** An ExecutionImage over bytes, counting how often it is read. */
export function imageInput(
  node: string,
  input: string,
  data: Buffer,
  mask = false,
): ExecutionImage & { reads: number } {
  const image = {
    node,
    input,
    sha256: createHash('sha256').update(data).digest('hex'),
    mimeType: 'image/png',
    mask,
    reads: 0,
    async read() {
      image.reads++;
      return data;
    },
  };
  return image;
}

/** A solid PNG. */
export function png(width: number, height: number, color = { r: 40, g: 120, b: 200 }) {
  return sharp({ create: { width, height, channels: 3, background: color } })
    .png()
    .toBuffer();
}

/** Records executor events and waits for the next matching one (never sleeps). */
export class EventLog {
  readonly events: ExecutionEvent[] = [];
  private waiters: Array<{ test: (e: ExecutionEvent) => boolean; resolve: () => void }> = [];

  readonly push = (e: ExecutionEvent): void => {
    this.events.push(e);
    for (const w of [...this.waiters]) {
      if (w.test(e)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };

  of<T extends ExecutionEvent['type']>(type: T): Extract<ExecutionEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<ExecutionEvent, { type: T }> => e.type === type);
  }

  /** Resolves when an event (already seen or future) matches; rejects after `timeoutMs`. */
  waitFor(test: (e: ExecutionEvent) => boolean, timeoutMs = 10_000): Promise<void> {
    if (this.events.some(test)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(
          new Error(
            `no matching event within ${timeoutMs} ms; seen: ${this.events.map((e) => e.type).join(', ')}`,
          ),
        );
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ test, resolve: done });
    });
  }
}

/** Polls `probe` until it returns true; rejects after `timeoutMs` naming `what`. */
export async function until(
  probe: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
