// The format of a model file in catalog/models/*.json, as a zod schema (checked at load).
// Structure only; the cross-checks against ComfyUI's node specifications (classes, inputs,
// links, ranges, bindings) are in model.validation.ts.

import { z } from 'zod';
import type { GenerationMode } from '../generated/prisma/enums.ts';
import {
  GenerationMode as GenerationModes,
  MediaKind as MediaKinds,
} from '../generated/prisma/enums.ts';
import { modelOptionsSchema } from './run-options.ts';

/** Every generation mode, in the schema's canonical order. */
export const GENERATION_MODES = Object.values(GenerationModes) as GenerationMode[];

/** Catalog keys: lowercase words joined by "-" or "." (e.g. "flux1-dev", "sd3.5-large"). */
export const catalogKey = z.string().regex(/^[a-z0-9]+(?:[-.][a-z0-9]+)*$/, {
  error: 'must be lowercase letters and digits joined by "-" or "."',
});

/** `{prompt}` must appear in every prompt template; no other `{placeholder}` is filled. */
export const promptTemplate = z
  .string()
  .refine((t) => t.includes('{prompt}'), { error: 'must contain the {prompt} slot' })
  .refine((t) => !/\{(?!prompt\})[A-Za-z_][\w]*\}/.test(t), {
    error: 'has a {placeholder} other than {prompt}',
  });

const modeEnum = z.enum(GenerationModes);
const nodeId = z
  .string()
  .regex(/^\S+$/, { error: 'node ids are non-empty strings without spaces' });
const link = z.tuple([nodeId, z.number().int().min(0)]);

/** A node input in the workflow of the same mode; dotted names for V3 sub-inputs. */
const inputRef = z.strictObject({ node: nodeId, input: z.string().min(1) });

const referencePrune = z.strictObject({
  nodes: z.array(nodeId).min(1),
  rewire: z.array(z.strictObject({ from: link, to: link })).optional(),
});

const referenceBinding = z.strictObject({
  node: nodeId,
  input: z.string().min(1),
  prune: referencePrune.optional(),
});

const bindings = z.strictObject({
  prompt: z.array(inputRef).min(1),
  negativePrompt: z.array(inputRef).min(1).optional(),
  seed: z.array(inputRef).min(1),
  parameters: z.record(z.string(), z.array(inputRef).min(1)).default({}),
  images: z
    .strictObject({
      source: inputRef.optional(),
      mask: inputRef.optional(),
      references: z.array(referenceBinding).min(1).optional(),
    })
    .default({}),
  batchSize: inputRef.optional(),
  output: nodeId,
});

const apiNode = z.strictObject({
  class_type: z.string().min(1),
  inputs: z.record(z.string(), z.unknown()),
  _meta: z.strictObject({ title: z.string().optional() }).optional(),
});

const graph = z
  .record(nodeId, apiNode)
  .refine((g) => Object.keys(g).length > 0, { error: 'the workflow has no nodes' });

const PARAMETER_TYPES = ['INT', 'FLOAT', 'BOOLEAN', 'STRING', 'ENUM'] as const;

const parameter = z
  .strictObject({
    name: z.string().regex(/^[a-z][A-Za-z0-9]*$/, { error: 'must be camelCase' }),
    type: z.enum(PARAMETER_TYPES),
    default: z.union([z.number(), z.string(), z.boolean()]),
    min: z.number().optional(),
    max: z.number().optional(),
    step: z.number().positive().optional(),
    options: z.array(z.string()).min(1).optional(),
    description: z.string().min(1),
    modes: z.array(modeEnum).min(1),
  })
  .superRefine((p, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    const numeric = p.type === 'INT' || p.type === 'FLOAT';
    if (numeric) {
      if (typeof p.default !== 'number') return issue('default', `must be a number for ${p.type}`);
      if (p.min === undefined || p.max === undefined || p.step === undefined) {
        return issue('min', `${p.type} parameters need min, max and step`);
      }
      if (p.type === 'INT') {
        for (const k of ['default', 'min', 'max', 'step'] as const) {
          if (!Number.isInteger(p[k])) issue(k, 'must be a whole number for INT');
        }
      }
      if (p.min > p.max) issue('min', `min ${p.min} is above max ${p.max}`);
      if (p.default < p.min || p.default > p.max) {
        issue('default', `default ${p.default} is outside ${p.min}..${p.max}`);
      }
      if (!isMultiple(p.default - p.min, p.step)) {
        issue(
          'default',
          `default ${p.default} is not min ${p.min} plus a multiple of step ${p.step}`,
        );
      }
      if (p.options) issue('options', `${p.type} parameters take no options`);
      return;
    }
    for (const k of ['min', 'max', 'step'] as const) {
      if (p[k] !== undefined) issue(k, `${p.type} parameters take no ${k}`);
    }
    if (p.type === 'ENUM') {
      if (!p.options) return issue('options', 'ENUM parameters need options');
      if (!p.options.includes(String(p.default)) || typeof p.default !== 'string') {
        issue('default', `default ${JSON.stringify(p.default)} is not one of the options`);
      }
      if (new Set(p.options).size !== p.options.length) issue('options', 'has duplicates');
      return;
    }
    if (p.options) issue('options', `${p.type} parameters take no options`);
    if (p.type === 'BOOLEAN' && typeof p.default !== 'boolean')
      issue('default', 'must be a boolean');
    if (p.type === 'STRING' && typeof p.default !== 'string') issue('default', 'must be a string');
  });

const modeWorkflow = z.strictObject({ graph, bindings });

export const modelDefinitionSchema = z.strictObject({
  /** Editors' JSON-schema hint; ignored. */
  $schema: z.string().optional(),
  key: catalogKey,
  name: z.string().min(1),
  description: z.string().min(1),
  outputKind: z.enum(MediaKinds),
  maxReferences: z.number().int().min(0).max(16),
  defaultNegativePrompt: z.string().nullable(),
  promptLimit: z.number().int().min(1).max(100_000),
  promptTemplate: promptTemplate.optional(),
  sources: z.array(z.string().min(1)).min(1),
  parameters: z.array(parameter).default([]),
  /**
   * Credits per mode: per output for image models, per second of output for video and audio
   * models. Modes left out cost the defaults in credits/costs.ts.
   */
  costs: z.partialRecord(modeEnum, z.number().int().min(0).max(100_000)).default({}),
  /** Uniform options (size, quality, inputFidelity) mapped to this model's parameters. */
  options: modelOptionsSchema,
  /** Video models: the largest width × height a run may ask for (GPU memory). */
  maxVideoArea: z.number().int().positive().optional(),
  workflows: z
    .partialRecord(modeEnum, modeWorkflow)
    .refine((w) => Object.keys(w).length > 0, { error: 'needs a workflow for at least one mode' }),
});

/** A model file as written (after defaults). */
export type ModelDefinition = z.infer<typeof modelDefinitionSchema>;
/** A typed parameter a run may override. */
export type ModelParameter = z.infer<typeof parameter>;
export type ParameterType = (typeof PARAMETER_TYPES)[number];
export const PARAMETER_TYPE_VALUES = PARAMETER_TYPES;
/** The workflow of one mode and where run values go into it. */
export type ModeWorkflow = z.infer<typeof modeWorkflow>;
/**
 * Where run values go, per mode. Every target is a node input that holds a literal in the
 * stored workflow (the default the binder overwrites):
 * - `prompt`, `negativePrompt`: STRING inputs (several targets get the same text);
 *   `negativePrompt` exists exactly when the model's `defaultNegativePrompt` is not null;
 * - `seed`: INT inputs (all get the run's seed);
 * - `parameters`: parameter name → inputs; each parameter listed for this mode is bound;
 * - `images.source` / `images.mask`: the LoadImage / LoadImageMask `image` input that receives
 *   the uploaded file name;
 * - `images.references[i]`: reference image i (MULTI_REFERENCE). A slot with `prune` is
 *   optional: a run with fewer references removes that slot's `prune.nodes`, applies its
 *   `prune.rewire`, and drops inputs that still link to removed nodes
 *   (`pruneReferenceSlots` in workflow.ts does exactly this). Slots without `prune` are
 *   mandatory and come first; the loader validates the workflow for every allowed count;
 * - `batchSize`: optional INT input (a latent's `batch_size`) for several outputs per prompt;
 * - `output`: id of the save node whose files are the run's outputs.
 */
export type WorkflowBindings = ModeWorkflow['bindings'];
export type ReferenceBinding = NonNullable<WorkflowBindings['images']['references']>[number];
/** A node input named by a binding. */
export type InputRef = WorkflowBindings['prompt'][number];

/** True when `value` is a whole multiple of `step` (tolerant of float rounding). */
export function isMultiple(value: number, step: number): boolean {
  const ratio = value / step;
  return Math.abs(ratio - Math.round(ratio)) < 1e-6;
}
