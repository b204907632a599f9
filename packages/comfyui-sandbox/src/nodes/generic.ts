// Node classes without a dedicated implementation, handled by what their outputs are: a
// loader returns handles naming its files, a model patch or conditioning tweak passes its
// input through, an empty-latent node describes the size it was given. A class qualifies
// only when every output can be produced this way; otherwise the sandbox does not offer it.

import type { NodeClassSpec } from '../specs.ts';
import {
  conditioning,
  type HandleValue,
  type LatentValue,
  type OpaqueValue,
  type SigmasValue,
  type Value,
} from '../values.ts';
import type { NodeContext, NodeImpl } from './context.ts';
import { emptyLatent } from './model.ts';

/** Output types that are model objects: loaders create them, patches pass them through. */
const HANDLE_TYPES = new Set([
  'MODEL',
  'CLIP',
  'VAE',
  'CLIP_VISION',
  'CONTROL_NET',
  'STYLE_MODEL',
  'UPSCALE_MODEL',
  'GLIGEN',
  'PHOTOMAKER',
  'LATENT_UPSCALE_MODEL',
  'AUDIO_ENCODER',
  'MODEL_PATCH',
  'BACKGROUND_REMOVAL',
  'INTERP_MODEL',
]);

/** Opaque types a node may create from its widgets alone. */
const OPAQUE_TYPES = new Set([
  'CLIP_VISION_OUTPUT',
  'HOOKS',
  'HOOK_KEYFRAMES',
  'TIMESTEPS_RANGE',
  'LATENT_OPERATION',
  'WAN_CAMERA_EMBEDDING',
  'IC_LORA_PARAMETERS',
  'AUDIO_ENCODER_OUTPUT',
]);

/** Types that can only come from an input of the same type. */
const PASS_ONLY = new Set(['IMAGE', 'MASK', 'AUDIO', 'VIDEO', 'INT', 'FLOAT', 'STRING', 'BOOLEAN']);

/**
 * Categories where passing values through is a fair stand-in (model loading, patching,
 * conditioning, latents, sampling). Image, text and audio utilities are excluded: returning
 * their input unchanged would be a wrong result rather than a stand-in.
 */
const GENERIC_CATEGORIES = [
  'model/',
  'advanced/',
  'experimental',
  'utilities/primitive',
  'video/preprocessors',
];
const EXCLUDED_CATEGORIES = ['model/training', 'experimental/train'];

interface InputInfo {
  name: string;
  type: string;
  folder?: string;
}

function inputsOf(spec: NodeClassSpec): InputInfo[] {
  const out: InputInfo[] = [];
  for (const section of ['required', 'optional'] as const) {
    for (const [name, s] of Object.entries(spec.inputs[section] ?? {})) {
      out.push({ name, type: s.type, ...(s.folder ? { folder: s.folder } : {}) });
    }
  }
  return out;
}

type Producer = (ctx: NodeContext) => unknown;

function sameTypeInput(
  inputs: InputInfo[],
  type: string,
  outputName: string,
): InputInfo | undefined {
  const candidates = inputs.filter((i) => i.type === type || i.type.split(',').includes(type));
  return (
    candidates.find((i) => i.name === outputName) ??
    candidates.find((i) => outputName.startsWith(i.name) || i.name.startsWith(outputName)) ??
    candidates[0]
  );
}

function modelFiles(ctx: NodeContext, inputs: InputInfo[]): string[] {
  return inputs
    .filter((i) => i.folder && i.folder !== 'input')
    .map((i) => ctx.inputs[i.name])
    .filter((v): v is string => typeof v === 'string');
}

function producerFor(type: string, outputName: string, inputs: InputInfo[]): Producer | undefined {
  const source = sameTypeInput(inputs, type, outputName);
  const hasFolder = inputs.some((i) => i.folder && i.folder !== 'input');
  const names = new Set(inputs.map((i) => i.name));

  if (HANDLE_TYPES.has(type)) {
    if (source) {
      return (ctx) => {
        const h = ctx.inputs[source.name] as HandleValue | undefined;
        if (h?.kind !== 'HANDLE') return h;
        const files = modelFiles(ctx, inputs);
        return { ...h, patches: [...h.patches, ...(files.length ? files : [ctx.classType])] };
      };
    }
    if (!hasFolder) return undefined;
    return (ctx) => {
      const family = typeof ctx.inputs.type === 'string' ? ctx.inputs.type : undefined;
      const h: HandleValue = { kind: 'HANDLE', type, files: modelFiles(ctx, inputs), patches: [] };
      if (family) h.family = family;
      return h;
    };
  }
  if (source) return (ctx) => ctx.inputs[source.name];
  if (type === '*' || type === 'COMFY_MATCHTYPE_V3') {
    const first = inputs.find(
      (i) => !['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO'].includes(i.type),
    );
    return first ? (ctx) => ctx.inputs[first.name] : undefined;
  }
  if (PASS_ONLY.has(type)) return undefined;

  switch (type) {
    case 'CONDITIONING': {
      const texts = inputs.filter((i) => i.type === 'STRING');
      if (!texts.length) return undefined;
      return (ctx) =>
        conditioning(
          texts
            .map((t) => ctx.inputs[t.name])
            .filter((v): v is string => typeof v === 'string' && v.length > 0)
            .join(', '),
        );
    }
    case 'LATENT': {
      if (names.has('width') && names.has('height')) {
        return (ctx): LatentValue => {
          const n = (k: string, d: number) =>
            typeof ctx.inputs[k] === 'number' ? (ctx.inputs[k] as number) : d;
          const frames = names.has('length')
            ? n('length', 1)
            : names.has('frames')
              ? n('frames', 1)
              : 1;
          return emptyLatent(
            frames > 1 ? 'video' : 'image',
            n('width', 1024),
            n('height', 1024),
            n('batch_size', 1),
            frames,
          );
        };
      }
      if (names.has('seconds')) {
        return (ctx) =>
          emptyLatent(
            'audio',
            0,
            0,
            Number(ctx.inputs.batch_size ?? 1),
            1,
            Number(ctx.inputs.seconds ?? 10),
          );
      }
      return undefined;
    }
    case 'SIGMAS':
      return (ctx): SigmasValue => ({
        kind: 'SIGMAS',
        steps: typeof ctx.inputs.steps === 'number' ? ctx.inputs.steps : 20,
        denoise: typeof ctx.inputs.denoise === 'number' ? ctx.inputs.denoise : 1,
      });
    case 'SAMPLER':
      return (ctx) => ({ kind: 'SAMPLER', name: String(ctx.inputs.sampler_name ?? ctx.classType) });
    case 'NOISE':
      return (ctx) => ({
        kind: 'NOISE',
        seed: Number(ctx.inputs.noise_seed ?? ctx.inputs.seed ?? 0),
        disabled: !('noise_seed' in ctx.inputs || 'seed' in ctx.inputs),
      });
    default:
      if (OPAQUE_TYPES.has(type)) {
        return (ctx): OpaqueValue => ({ kind: 'OPAQUE', type, detail: ctx.classType });
      }
      return undefined;
  }
}

/**
 * A generic implementation for `spec`, or undefined when some output cannot be produced
 * (or the class is an output node, an API node, or reads run-time lists the sandbox lacks).
 */
export function genericImpl(spec: NodeClassSpec): NodeImpl | undefined {
  if (spec.output_node) return undefined;
  if (spec.source.startsWith('comfy_api_nodes')) return undefined;
  const category = spec.category.toLowerCase();
  if (!GENERIC_CATEGORIES.some((c) => category.startsWith(c))) return undefined;
  if (EXCLUDED_CATEGORIES.some((c) => category.startsWith(c))) return undefined;
  if (spec.outputs.length === 0) return undefined;
  const inputs = inputsOf(spec);
  for (const section of ['required', 'optional'] as const) {
    for (const s of Object.values(spec.inputs[section] ?? {})) {
      if (s.type === 'COMBO' && !s.options && !s.folder) return undefined;
    }
  }
  const producers: Producer[] = [];
  for (const [i, type] of spec.outputs.entries()) {
    const p = producerFor(type, spec.output_names[i] ?? type, inputs);
    if (!p) return undefined;
    producers.push(p);
  }
  return async (ctx) => ({ outputs: producers.map((p) => p(ctx) as Value | unknown) });
}
