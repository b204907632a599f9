// GraphQL types and queries for catalog models.
import { builder } from '../builder.ts';
import {
  GenerationMode,
  GenerationQuality,
  ImageSize,
  InputFidelity,
  MediaKind,
} from '../enums.ts';
import type { GenerationMode as GenerationModeValue } from '../generated/prisma/enums.ts';
import type { CatalogModel, ModelFile } from './catalog.service.ts';
import type { ModeCost } from './costs.ts';
import { type ModelParameter, PARAMETER_TYPE_VALUES } from './model.definition.ts';
import { supportedValues } from './run-options.ts';

export const ParameterType = builder.enumType('ParameterType', {
  description: 'Value type of a model parameter.',
  values: Object.fromEntries(
    PARAMETER_TYPE_VALUES.map((value) => [
      value,
      {
        value,
        description: {
          INT: 'A whole number between min and max, on the step grid.',
          FLOAT: 'A number between min and max, on the step grid.',
          BOOLEAN: 'true or false.',
          STRING: 'Free text.',
          ENUM: 'One of `options`.',
        }[value],
      },
    ]),
  ) as Record<ModelParameter['type'], { value: ModelParameter['type']; description: string }>,
});

export const ModelFileRef = builder.objectRef<ModelFile>('ModelFile').implement({
  description: 'A model weights file a workflow loads, as a ComfyUI worker lists it.',
  fields: (t) => ({
    folder: t.exposeString('folder', {
      description: 'ComfyUI model folder, e.g. checkpoints, diffusion_models, loras, vae.',
    }),
    name: t.exposeString('name', { description: 'File name inside the folder.' }),
  }),
});

export const ModelParameterRef = builder.objectRef<ModelParameter>('ModelParameter').implement({
  description: 'A parameter a run may override (in `CreateRunInput.parameters`), with its range.',
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Key in `CreateRunInput.parameters`.' }),
    type: t.field({ type: ParameterType, description: 'Value type.', resolve: (p) => p.type }),
    default: t.field({
      type: 'JSON',
      description: 'Value used when the run does not set one.',
      resolve: (p) => p.default,
    }),
    min: t.float({
      nullable: true,
      description: 'Smallest value (INT, FLOAT).',
      resolve: (p) => p.min ?? null,
    }),
    max: t.float({
      nullable: true,
      description: 'Largest value (INT, FLOAT).',
      resolve: (p) => p.max ?? null,
    }),
    step: t.float({
      nullable: true,
      description: 'Valid values are min plus a multiple of step (INT, FLOAT).',
      resolve: (p) => p.step ?? null,
    }),
    options: t.stringList({
      nullable: true,
      description: 'Allowed values (ENUM).',
      resolve: (p) => p.options ?? null,
    }),
    description: t.exposeString('description', { description: 'What the parameter does.' }),
    modes: t.field({
      type: [GenerationMode],
      description: 'Modes the parameter applies to.',
      resolve: (p) => p.modes,
    }),
  }),
});

const CostUnit = builder.enumType('CostUnit', {
  description: 'What a price is per.',
  values: {
    OUTPUT: { description: 'Per generated file (image models).' },
    SECOND: { description: 'Per second of generated video or audio, rounded up per output.' },
  } as const,
});

const ModelCostRef = builder
  .objectRef<{ mode: GenerationModeValue; cost: ModeCost }>('ModelCost')
  .implement({
    description: 'What a run of one mode costs, in credits.',
    fields: (t) => ({
      mode: t.field({ type: GenerationMode, description: 'The mode.', resolve: (c) => c.mode }),
      credits: t.int({ description: 'Credits per unit.', resolve: (c) => c.cost.credits }),
      unit: t.field({
        type: CostUnit,
        description: 'What it is per.',
        resolve: (c) => c.cost.unit,
      }),
    }),
  });

export const ModelRef = builder.objectRef<CatalogModel>('Model').implement({
  description: 'A generation model from the catalog, with the modes and parameters it supports.',
  fields: (t) => ({
    key: t.exposeString('key', {
      description: 'Stable identifier, used as `CreateRunInput.model`.',
    }),
    name: t.exposeString('name', { description: 'Display name.' }),
    description: t.exposeString('description', { description: 'What the model is good at.' }),
    outputKind: t.field({
      type: MediaKind,
      description: 'Kind of media its runs produce.',
      resolve: (m) => m.outputKind,
    }),
    modes: t.field({
      type: [GenerationMode],
      description: 'Generation modes the model supports.',
      resolve: (m) => m.modes,
    }),
    parameters: t.field({
      type: [ModelParameterRef],
      description: 'Parameters a run may set, with defaults and ranges.',
      resolve: (m) => m.parameters,
    }),
    costs: t.field({
      type: [ModelCostRef],
      description:
        'Price per mode: a run costs credits × outputs (images) or credits × seconds × outputs (video, audio; seconds = frames / fps or duration).',
      resolve: (m) =>
        m.modes.flatMap((mode) => {
          const cost = m.costs[mode];
          return cost ? [{ mode, cost }] : [];
        }),
    }),
    maxReferences: t.exposeInt('maxReferences', {
      description: 'Most reference images a MULTI_REFERENCE run may bring (0 without that mode).',
    }),
    minReferences: t.exposeInt('minReferences', {
      description:
        'Fewest reference images a MULTI_REFERENCE run must bring (0 without that mode).',
    }),
    defaultNegativePrompt: t.string({
      nullable: true,
      description: 'Negative prompt used when the run gives none; null when the model takes none.',
      resolve: (m) => m.defaultNegativePrompt,
    }),
    promptLimit: t.exposeInt('promptLimit', {
      description: 'Longest prompt, in characters, the model is given after optimization.',
    }),
    promptTemplate: t.string({
      nullable: true,
      description: 'Wrapper the OPTIMIZE stage puts around the prompt (`{prompt}` is the slot).',
      resolve: (m) => m.promptTemplate,
    }),
    requiredNodes: t.exposeStringList('requiredNodes', {
      description: 'ComfyUI node classes a worker must have to run this model.',
    }),
    requiredModelFiles: t.field({
      type: [ModelFileRef],
      description: 'Model files a worker must have to run this model.',
      resolve: (m) => m.requiredModelFiles,
    }),
    sources: t.exposeStringList('sources', {
      description:
        'ComfyUI source files its node classes come from, e.g. comfy_extras/nodes_lt.py.',
    }),
    sizes: t.field({
      type: [ImageSize],
      description: 'Size presets `CreateRunInput.size` may name (empty: none).',
      resolve: (m) => supportedValues(m.options, 'size') as never,
    }),
    qualities: t.field({
      type: [GenerationQuality],
      description: 'Values `CreateRunInput.quality` may name (empty: none).',
      resolve: (m) => supportedValues(m.options, 'quality') as never,
    }),
    inputFidelities: t.field({
      type: [InputFidelity],
      description: 'Values `CreateRunInput.inputFidelity` may name (empty: none).',
      resolve: (m) => supportedValues(m.options, 'inputFidelity') as never,
    }),
    maxVideoArea: t.int({
      nullable: true,
      description:
        'Video models: the largest width × height in pixels; larger requests are scaled down keeping the aspect ratio (reported in Run.adjustments).',
      resolve: (m) => m.maxVideoArea ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  models: t.field({
    type: [ModelRef],
    description: 'Catalog models, optionally only those supporting a mode.',
    args: {
      mode: t.arg({
        type: GenerationMode,
        required: false,
        description: 'Only models with this mode.',
      }),
    },
    resolve: (_root, args, ctx) => ctx.services.catalog.modelsFor(args.mode),
  }),
  model: t.field({
    type: ModelRef,
    nullable: true,
    description: 'One catalog model by key; null when there is none.',
    args: { key: t.arg.string({ required: true, description: 'The model key.' }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.model(args.key) ?? null,
  }),
}));
