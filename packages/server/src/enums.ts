// GraphQL enums shared across domains, built from the Prisma enums so the two never drift.

import { builder } from './builder.ts';
import {
  GenerationMode as GenerationModeValues,
  MediaKind as MediaKindValues,
  MediaPurpose as MediaPurposeValues,
  OutputBackground as OutputBackgroundValues,
  OutputFormat as OutputFormatValues,
  RunInputRole as RunInputRoleValues,
  RunStatus as RunStatusValues,
  StageKind as StageKindValues,
  StageStatus as StageStatusValues,
} from './generated/prisma/enums.ts';
import { IMAGE_SIZES, INPUT_FIDELITIES, QUALITIES } from './models/run-options.ts';

export const GenerationMode = builder.enumType(GenerationModeValues, {
  name: 'GenerationMode',
  description: 'What a run generates from what.',
});

export const MediaKind = builder.enumType(MediaKindValues, {
  name: 'MediaKind',
  description: 'Kind of media file.',
});

export const MediaPurpose = builder.enumType(MediaPurposeValues, {
  name: 'MediaPurpose',
  description:
    'Why a file was uploaded (or OUTPUT when a run made it). MASK keeps the alpha channel.',
});

export const RunStatus = builder.enumType(RunStatusValues, {
  name: 'RunStatus',
  description: 'Lifecycle of a run.',
});

export const StageKind = builder.enumType(StageKindValues, {
  name: 'StageKind',
  description:
    'The stages of a run, in order: DESCRIBE (IMAGE_TO_AUDIO only: the source image described in words), TRANSLATE, STYLE, OPTIMIZE, GENERATE.',
});

export const StageStatus = builder.enumType(StageStatusValues, {
  name: 'StageStatus',
  description: 'Lifecycle of a stage.',
});

export const RunInputRole = builder.enumType(RunInputRoleValues, {
  name: 'RunInputRole',
  description: 'How a run uses an input media item.',
});

export const OutputFormat = builder.enumType(OutputFormatValues, {
  name: 'OutputFormat',
  description: 'File format for image outputs.',
});

export const OutputBackground = builder.enumType(OutputBackgroundValues, {
  name: 'OutputBackground',
  description: 'Background handling for image outputs; TRANSPARENT removes it on the worker.',
});

export const ImageSize = builder.enumType('ImageSize', {
  values: IMAGE_SIZES,
  description:
    "Image size presets: AUTO (the model's default), 1024×1024, 1536×1024 (landscape), 1024×1536 (portrait). See Model.sizes.",
});

export const GenerationQuality = builder.enumType('GenerationQuality', {
  values: QUALITIES,
  description:
    "Effort of the generation (mapped per model, e.g. to sampling steps); AUTO is the model's default. See Model.qualities. The output file's compression quality is OutputOptions.quality.",
});

export const InputFidelity = builder.enumType('InputFidelity', {
  values: INPUT_FIDELITIES,
  description:
    'How closely a result keeps its source image: HIGH keeps more (edit models are HIGH by nature), LOW lets the prompt change more. See Model.inputFidelities.',
});
