// Turns a catalog workflow into the exact prompt for one execution: prompt, negative prompt,
// seed, parameters and batch size written into the bound inputs, unused reference slots
// pruned, background removal appended for transparent outputs, input images listed for
// the executor to upload.
import type { GenerationMode } from '../generated/prisma/enums.ts';
import type { CatalogModel, ModelFile } from '../models/catalog.service.ts';
import type { InputRef } from '../models/model.definition.ts';
import { type ApiGraph, pruneReferenceSlots } from '../models/workflow.ts';

export interface BindValues {
  prompt: string;
  negativePrompt: string | null;
  /** Unsigned 64-bit seed as a decimal string. */
  seed: string;
  /** Resolved parameters (defaults + overrides), already validated. */
  parameters: Record<string, unknown>;
  /** Outputs wanted from this execution (written to the batch-size input when bound). */
  batchSize: number;
  /** Media ids by role. */
  images: { source?: string; mask?: string; references?: string[] };
  /** Append ComfyUI's background removal before the save node. */
  removeBackground: { modelFile: string } | null;
}

export interface BoundImage {
  node: string;
  input: string;
  mediaId: string;
  mask: boolean;
}

export interface BoundWorkflow {
  graph: ApiGraph;
  images: BoundImage[];
  outputNode: string;
  requirements: { nodeClasses: string[]; modelFiles: ModelFile[] };
}

function set(graph: ApiGraph, ref: InputRef, value: unknown) {
  const node = graph[ref.node];
  if (!node) throw new Error(`binding names missing node ${ref.node}`);
  node.inputs[ref.input] = value;
}

/** Seeds are unsigned 64-bit; ComfyUI takes them as JSON numbers, so keep them exact. */
function seedValue(seed: string): number {
  const n = Number(seed);
  // Above 2^53 a JSON number loses precision; fold into the safe range deterministically.
  return Number.isSafeInteger(n) ? n : Number(BigInt(seed) % BigInt(Number.MAX_SAFE_INTEGER));
}

/**
 * Whether the model's workflow for `mode` writes several outputs from one prompt. Only
 * images: a batch of video latents becomes the frames of one video (CreateVideo, SaveVideo),
 * and audio savers differ in how they split a batch, so `count` videos or sounds are
 * `count` prompts with consecutive seeds.
 */
export function supportsBatch(model: CatalogModel, mode: GenerationMode): boolean {
  return model.outputKind === 'IMAGE' && Boolean(model.workflows[mode]?.bindings.batchSize);
}

export function bindWorkflow(
  model: CatalogModel,
  mode: GenerationMode,
  values: BindValues,
): BoundWorkflow {
  const workflow = model.workflows[mode];
  if (!workflow) throw new Error(`model ${model.key} has no ${mode} workflow`);
  const { bindings } = workflow;
  const references = values.images.references ?? [];
  const slots = bindings.images.references ?? [];
  let graph: ApiGraph =
    slots.length && references.length < slots.length
      ? pruneReferenceSlots(workflow.graph, slots, references.length)
      : structuredClone(workflow.graph);

  for (const ref of bindings.prompt) set(graph, ref, values.prompt);
  for (const ref of bindings.negativePrompt ?? []) set(graph, ref, values.negativePrompt ?? '');
  for (const ref of bindings.seed) set(graph, ref, seedValue(values.seed));
  for (const [name, refs] of Object.entries(bindings.parameters)) {
    if (!(name in values.parameters)) continue;
    for (const ref of refs) set(graph, ref, values.parameters[name]);
  }
  if (bindings.batchSize) set(graph, bindings.batchSize, values.batchSize);

  const images: BoundImage[] = [];
  const { source, mask } = bindings.images;
  if (source && values.images.source) {
    images.push({ ...source, mediaId: values.images.source, mask: false });
  }
  if (mask && values.images.mask) {
    images.push({ ...mask, mediaId: values.images.mask, mask: true });
  }
  references.forEach((mediaId, i) => {
    const slot = slots[i];
    if (slot) images.push({ node: slot.node, input: slot.input, mediaId, mask: false });
  });

  const requirements = model.requirements[mode] ?? { nodes: [], modelFiles: [] };
  const nodeClasses = new Set(requirements.nodes);
  const modelFiles = [...requirements.modelFiles];
  if (values.removeBackground) {
    graph = appendBackgroundRemoval(graph, bindings.output, values.removeBackground.modelFile);
    for (const cls of ['LoadBackgroundRemovalModel', 'RemoveBackground', 'JoinImageWithAlpha']) {
      nodeClasses.add(cls);
    }
    modelFiles.push({ folder: 'background_removal', name: values.removeBackground.modelFile });
  }
  return {
    graph,
    images,
    outputNode: bindings.output,
    requirements: { nodeClasses: [...nodeClasses].sort(), modelFiles },
  };
}

/**
 * Inserts LoadBackgroundRemovalModel → RemoveBackground → JoinImageWithAlpha between the
 * save node and the image it saves, so the worker writes images with an alpha channel.
 */
export function appendBackgroundRemoval(
  graph: ApiGraph,
  outputNode: string,
  modelFile: string,
): ApiGraph {
  const out = structuredClone(graph);
  const save = out[outputNode];
  const source = save?.inputs.images;
  if (!save || !Array.isArray(source)) {
    throw new Error(`output node ${outputNode} takes no images; cannot remove the background`);
  }
  const ids = Object.keys(out).map(Number).filter(Number.isFinite);
  const next = Math.max(0, ...ids) + 1;
  const [loader, remover, joiner] = [String(next), String(next + 1), String(next + 2)];
  out[loader] = {
    class_type: 'LoadBackgroundRemovalModel',
    inputs: { bg_removal_name: modelFile },
  };
  out[remover] = {
    class_type: 'RemoveBackground',
    inputs: { bg_removal_model: [loader, 0], image: source },
  };
  out[joiner] = {
    class_type: 'JoinImageWithAlpha',
    inputs: { image: source, alpha: [remover, 0] },
  };
  save.inputs.images = [joiner, 0];
  return out;
}
