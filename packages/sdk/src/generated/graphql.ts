/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** A generation request. */
export type CreateRunInput = {
  /** Outputs to generate, 1-10. */
  count?: number | null | undefined;
  /** Repeating a key returns the run it created instead of a second one. */
  idempotencyKey?: string | null | undefined;
  /** How closely the result keeps the source image (see Model.inputFidelities). */
  inputFidelity?: InputFidelity | null | undefined;
  /** Media id of the mask (INPAINT): transparent pixels are repainted. */
  mask?: string | number | null | undefined;
  /** What to generate. */
  mode: GenerationMode;
  /** Catalog model key (see `models`). */
  model: string;
  /** What to avoid (default: the model's). */
  negativePrompt?: string | null | undefined;
  /** How outputs are stored. */
  output?: OutputOptions | null | undefined;
  /** Model parameters by name (see `Model.parameters`); defaults fill the rest. */
  parameters?: unknown;
  /** Higher runs first (-100 to 100). */
  priority?: number | null | undefined;
  /** What to generate, in any language. */
  prompt: string;
  /** Generation effort (see Model.qualities); explicit parameters win. */
  quality?: GenerationQuality | null | undefined;
  /** Media ids of the reference images (MULTI_REFERENCE). */
  references?: Array<string | number> | null | undefined;
  /** Unsigned 64-bit seed as a decimal string (random if omitted). */
  seed?: string | null | undefined;
  /** Image size preset (see Model.sizes); explicit width/height parameters win. */
  size?: ImageSize | null | undefined;
  /** Prompt stages to skip (TRANSLATE, STYLE, OPTIMIZE). */
  skipStages?: Array<StageKind> | null | undefined;
  /** Media id of the source image (I2I, EDIT, INPAINT, I2V). */
  source?: string | number | null | undefined;
  /** Style key (see `styles`). */
  style?: string | null | undefined;
  /** This run's own webhook: POSTed when the run ends with one of its events, signed with the secret in CreateRunSuccess.webhookSecret. */
  webhook?: WebhookInput | null | undefined;
};

/** What a run generates from what. */
export type GenerationMode =
  | 'EDIT'
  | 'IMAGE_TO_AUDIO'
  | 'IMAGE_TO_IMAGE'
  | 'IMAGE_TO_VIDEO'
  | 'INPAINT'
  | 'MULTI_REFERENCE'
  | 'TEXT_TO_AUDIO'
  | 'TEXT_TO_IMAGE'
  | 'TEXT_TO_VIDEO';

/** Effort of the generation (mapped per model, e.g. to sampling steps); AUTO is the model's default. See Model.qualities. The output file's compression quality is OutputOptions.quality. */
export type GenerationQuality =
  | 'AUTO'
  | 'HIGH'
  | 'LOW'
  | 'MEDIUM';

/** Image size presets: AUTO (the model's default), 1024×1024, 1536×1024 (landscape), 1024×1536 (portrait). See Model.sizes. */
export type ImageSize =
  | 'AUTO'
  | 'SIZE_1024X1024'
  | 'SIZE_1024X1536'
  | 'SIZE_1536X1024';

/** How closely a result keeps its source image: HIGH keeps more (edit models are HIGH by nature), LOW lets the prompt change more. See Model.inputFidelities. */
export type InputFidelity =
  | 'AUTO'
  | 'HIGH'
  | 'LOW';

/** Kind of media file. */
export type MediaKind =
  | 'AUDIO'
  | 'IMAGE'
  | 'VIDEO';

/** Which upload limit was exceeded. */
export type MediaLimitKind =
  /** The file size limit. */
  | 'BYTES'
  /** The width × height limit (protects against decompression bombs). */
  | 'PIXELS';

/** Why a file was uploaded (or OUTPUT when a run made it). MASK keeps the alpha channel. */
export type MediaPurpose =
  | 'MASK'
  | 'OUTPUT'
  | 'REFERENCE'
  | 'SOURCE';

/** Background handling for image outputs; TRANSPARENT removes it on the worker. */
export type OutputBackground =
  | 'AUTO'
  | 'OPAQUE'
  | 'TRANSPARENT';

/** File format for image outputs. */
export type OutputFormat =
  | 'JPEG'
  | 'PNG'
  | 'WEBP';

/** How outputs are stored. */
export type OutputOptions = {
  /** TRANSPARENT removes the background on the worker (PNG or WEBP). */
  background?: OutputBackground | null | undefined;
  /** Image file format (default PNG). */
  format?: OutputFormat | null | undefined;
  /** JPEG/WebP quality 1-100. */
  quality?: number | null | undefined;
};

/** Value type of a model parameter. */
export type ParameterType =
  /** true or false. */
  | 'BOOLEAN'
  /** One of `options`. */
  | 'ENUM'
  /** A number between min and max, on the step grid. */
  | 'FLOAT'
  /** A whole number between min and max, on the step grid. */
  | 'INT'
  /** Free text. */
  | 'STRING';

/** What happened. */
export type RunEventType =
  /** An output was stored. */
  | 'OUTPUT'
  /** A new preview image (latest only, throttled). */
  | 'PREVIEW'
  /** The run ended (see status). */
  | 'RUN_FINISHED'
  /** The current state, sent first on every subscription. */
  | 'SNAPSHOT'
  /** A stage finished (succeeded or skipped). */
  | 'STAGE_FINISHED'
  /** A stage progressed (node, step, overall). */
  | 'STAGE_PROGRESS'
  /** A stage started. */
  | 'STAGE_STARTED';

/** Filters for `runs`. */
export type RunFilter = {
  /** Only runs of these modes. */
  mode?: Array<GenerationMode> | null | undefined;
  /** Only runs of these model keys. */
  model?: Array<string> | null | undefined;
  /** Only runs in these states. */
  status?: Array<RunStatus> | null | undefined;
};

/** How a run uses an input media item. */
export type RunInputRole =
  | 'MASK'
  | 'REFERENCE'
  | 'SOURCE';

/** Lifecycle of a run. */
export type RunStatus =
  | 'CANCELED'
  | 'FAILED'
  | 'QUEUED'
  | 'RUNNING'
  | 'SUCCEEDED';

/** The stages of a run, in order: DESCRIBE (IMAGE_TO_AUDIO only: the source image described in words), TRANSLATE, STYLE, OPTIMIZE, GENERATE. */
export type StageKind =
  | 'DESCRIBE'
  | 'GENERATE'
  | 'OPTIMIZE'
  | 'STYLE'
  | 'TRANSLATE';

/** Lifecycle of a stage. */
export type StageStatus =
  | 'CANCELED'
  | 'FAILED'
  | 'PENDING'
  | 'RUNNING'
  | 'SKIPPED'
  | 'SUCCEEDED';

/** What a webhook is told about; the body says it as `type`. */
export type WebhookEvent =
  /** `run.canceled`: a run was canceled. */
  | 'RUN_CANCELED'
  /** `run.failed`: a run failed. */
  | 'RUN_FAILED'
  /** `run.succeeded`: a run ended well. */
  | 'RUN_SUCCEEDED';

/** Where to POST the events (http or https; private and loopback addresses are refused unless the server allows them) and which. */
export type WebhookInput = {
  /** Events to send (default: all of run.succeeded, run.failed, run.canceled). */
  events?: Array<WebhookEvent> | null | undefined;
  /** The receiver. */
  url: string;
};

export type ModelFieldsFragment = { key: string, name: string, description: string, outputKind: MediaKind, modes: Array<GenerationMode>, minReferences: number, maxReferences: number, promptLimit: number, defaultNegativePrompt: string | null, sizes: Array<ImageSize>, qualities: Array<GenerationQuality>, inputFidelities: Array<InputFidelity>, maxVideoArea: number | null, parameters: Array<{ name: string, type: ParameterType, description: string, default: unknown, min: number | null, max: number | null, step: number | null, options: Array<string> | null, modes: Array<GenerationMode> }> };

export type StyleFieldsFragment = { key: string, name: string, category: string, description: string, template: string };

export type ModelsQueryVariables = Exact<{
  mode?: GenerationMode | null | undefined;
}>;


export type ModelsQuery = { models: Array<{ key: string, name: string, description: string, outputKind: MediaKind, modes: Array<GenerationMode>, minReferences: number, maxReferences: number, promptLimit: number, defaultNegativePrompt: string | null, sizes: Array<ImageSize>, qualities: Array<GenerationQuality>, inputFidelities: Array<InputFidelity>, maxVideoArea: number | null, parameters: Array<{ name: string, type: ParameterType, description: string, default: unknown, min: number | null, max: number | null, step: number | null, options: Array<string> | null, modes: Array<GenerationMode> }> }> };

export type StylesQueryVariables = Exact<{ [key: string]: never; }>;


export type StylesQuery = { styles: Array<{ key: string, name: string, category: string, description: string, template: string }> };

export type MediaFieldsFragment = { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null };

export type UploadMediaMutationVariables = Exact<{
  file: File | Blob;
  purpose?: MediaPurpose | null | undefined;
}>;


export type UploadMediaMutation = { uploadMedia:
    | { __typename: 'InvalidMediaError', code: string, message: string }
    | { __typename: 'MediaTooLargeError', code: string, message: string, limitKind: MediaLimitKind, limit: number }
    | { __typename: 'UploadMediaSuccess', media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }
    | { __typename: 'ValidationError', code: string, message: string, field: string }
   };

type DeleteResultFields_DeleteSuccess_Fragment = { __typename: 'DeleteSuccess', deletedId: string };

type DeleteResultFields_MediaInUseError_Fragment = { __typename: 'MediaInUseError', code: string, message: string, runCount: number };

type DeleteResultFields_NotFoundError_Fragment = { __typename: 'NotFoundError', code: string, message: string, entity: string, id: string };

export type DeleteResultFieldsFragment =
  | DeleteResultFields_DeleteSuccess_Fragment
  | DeleteResultFields_MediaInUseError_Fragment
  | DeleteResultFields_NotFoundError_Fragment
;

export type DeleteMediaMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteMediaMutation = { deleteMedia:
    | { __typename: 'DeleteSuccess', deletedId: string }
    | { __typename: 'MediaInUseError', code: string, message: string, runCount: number }
    | { __typename: 'NotFoundError', code: string, message: string, entity: string, id: string }
   };

export type GalleryQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  kind?: MediaKind | null | undefined;
}>;


export type GalleryQuery = { gallery: { edges: Array<{ cursor: string, node: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type QueueUpdatedSubscriptionVariables = Exact<{ [key: string]: never; }>;


export type QueueUpdatedSubscription = { queueUpdated: { queued: number, running: number, workers: Array<{ url: string, healthy: boolean, sandbox: boolean, running: number, queued: number }>, viewerRuns: Array<{ position: number | null, run: { id: string, status: RunStatus } }> } };

export type RunFieldsFragment = { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null };

type CreateRunResultFields_CreateRunSuccess_Fragment = { __typename: 'CreateRunSuccess', webhookSecret: string | null, run: { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null } };

type CreateRunResultFields_InsufficientCreditsError_Fragment = { __typename: 'InsufficientCreditsError', code: string, message: string, needed: number, balance: number };

type CreateRunResultFields_NotFoundError_Fragment = { __typename: 'NotFoundError', code: string, message: string, entity: string, id: string };

type CreateRunResultFields_QueueLimitError_Fragment = { __typename: 'QueueLimitError', code: string, message: string, limit: number };

type CreateRunResultFields_ValidationError_Fragment = { __typename: 'ValidationError', code: string, message: string, field: string };

export type CreateRunResultFieldsFragment =
  | CreateRunResultFields_CreateRunSuccess_Fragment
  | CreateRunResultFields_InsufficientCreditsError_Fragment
  | CreateRunResultFields_NotFoundError_Fragment
  | CreateRunResultFields_QueueLimitError_Fragment
  | CreateRunResultFields_ValidationError_Fragment
;

export type CreateRunMutationVariables = Exact<{
  input: CreateRunInput;
}>;


export type CreateRunMutation = { createRun:
    | { __typename: 'CreateRunSuccess', webhookSecret: string | null, run: { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null } }
    | { __typename: 'InsufficientCreditsError', code: string, message: string, needed: number, balance: number }
    | { __typename: 'NotFoundError', code: string, message: string, entity: string, id: string }
    | { __typename: 'QueueLimitError', code: string, message: string, limit: number }
    | { __typename: 'ValidationError', code: string, message: string, field: string }
   };

export type RetryRunMutationVariables = Exact<{
  id: string | number;
  newSeed?: boolean | null | undefined;
}>;


export type RetryRunMutation = { retryRun:
    | { __typename: 'CreateRunSuccess', webhookSecret: string | null, run: { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null } }
    | { __typename: 'InsufficientCreditsError', code: string, message: string, needed: number, balance: number }
    | { __typename: 'NotFoundError', code: string, message: string, entity: string, id: string }
    | { __typename: 'QueueLimitError', code: string, message: string, limit: number }
    | { __typename: 'ValidationError', code: string, message: string, field: string }
   };

export type CancelRunMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelRunMutation = { cancelRun:
    | { __typename: 'CancelRunSuccess', run: { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null } }
    | { __typename: 'NotFoundError', code: string, message: string, entity: string, id: string }
    | { __typename: 'RunNotActiveError', code: string, message: string, status: RunStatus }
   };

export type DeleteRunMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteRunMutation = { deleteRun:
    | { __typename: 'DeleteSuccess', deletedId: string }
    | { __typename: 'MediaInUseError', code: string, message: string, runCount: number }
    | { __typename: 'NotFoundError', code: string, message: string, entity: string, id: string }
   };

export type RunQueryVariables = Exact<{
  id: string | number;
}>;


export type RunQuery = { run: { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null } | null };

export type RunEventsSubscriptionVariables = Exact<{
  id: string | number;
}>;


export type RunEventsSubscription = { runEvents: { sequence: number, type: RunEventType, stage: { kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null } | null, preview: { mimeType: string, dataUrl: string, nodeId: string | null } | null, output: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } | null, run: { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null } } };

export type RunsQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  filter?: RunFilter | null | undefined;
}>;


export type RunsQuery = { runs: { edges: Array<{ cursor: string, node: { id: string, mode: GenerationMode, modelKey: string, styleKey: string | null, prompt: string, negativePrompt: string | null, effectivePrompt: string | null, effectiveNegativePrompt: string | null, status: RunStatus, progress: number, sequence: number, seed: string, count: number, priority: number, queuePosition: number | null, attempt: number, worker: string | null, parameters: unknown, createdAt: string, startedAt: string | null, finishedAt: string | null, adjustments: Array<string>, output: { format: OutputFormat, quality: number | null, background: OutputBackground }, error: { code: string, message: string, stage: StageKind | null, nodeId: string | null, nodeType: string | null, detail: string | null, exceptionType: string | null } | null, stages: Array<{ kind: StageKind, status: StageStatus, progress: number, message: string | null, nodeId: string | null, nodeType: string | null, step: number | null, maxSteps: number | null, input: string | null, output: string | null, startedAt: string | null, finishedAt: string | null, durationMs: number | null }>, inputs: Array<{ role: RunInputRole, index: number, media: { id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null } }>, outputs: Array<{ id: string, kind: MediaKind, purpose: MediaPurpose, mimeType: string, width: number | null, height: number | null, durationMs: number | null, bytes: number, sha256: string, hasAlpha: boolean, originalName: string | null, createdAt: string, url: string, thumbnailUrl: string | null }>, retryOf: { id: string } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type CreateWebhookMutationVariables = Exact<{
  input: WebhookInput;
}>;


export type CreateWebhookMutation = { createWebhook:
    | { __typename: 'CreateWebhookSuccess', secret: string, webhook: { id: string, url: string, events: Array<WebhookEvent>, createdAt: string } }
    | { __typename: 'ValidationError', code: string, message: string, field: string }
   };

export type DeleteWebhookMutationVariables = Exact<{
  id: string | number;
}>;


export type DeleteWebhookMutation = { deleteWebhook:
    | { __typename: 'DeleteSuccess' }
    | { __typename: 'MediaInUseError', code: string, message: string }
    | { __typename: 'NotFoundError', code: string, message: string }
   };

export type WebhookDeliveriesQueryVariables = Exact<{
  run?: string | number | null | undefined;
  first?: number | null | undefined;
}>;


export type WebhookDeliveriesQuery = { webhookDeliveries: Array<{ id: string, url: string, event: WebhookEvent, status: string, attempts: number, lastStatus: number | null, lastError: string | null, nextAttemptAt: string | null, deliveredAt: string | null, createdAt: string, forRunWebhook: boolean, run: { id: string } }> };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const ModelFieldsFragmentDoc = /* @__PURE__ */ new TypedDocumentString(`
    fragment ModelFields on Model {
  key
  name
  description
  outputKind
  modes
  minReferences
  maxReferences
  promptLimit
  defaultNegativePrompt
  sizes
  qualities
  inputFidelities
  maxVideoArea
  parameters {
    name
    type
    description
    default
    min
    max
    step
    options
    modes
  }
}
    `, {"fragmentName":"ModelFields"}) as unknown as TypedDocumentString<ModelFieldsFragment, unknown>;
export const StyleFieldsFragmentDoc = /* @__PURE__ */ new TypedDocumentString(`
    fragment StyleFields on Style {
  key
  name
  category
  description
  template
}
    `, {"fragmentName":"StyleFields"}) as unknown as TypedDocumentString<StyleFieldsFragment, unknown>;
export const DeleteResultFieldsFragmentDoc = /* @__PURE__ */ new TypedDocumentString(`
    fragment DeleteResultFields on DeleteResult {
  __typename
  ... on DeleteSuccess {
    deletedId
  }
  ... on Error {
    code
    message
  }
  ... on MediaInUseError {
    runCount
  }
  ... on NotFoundError {
    entity
    id
  }
}
    `, {"fragmentName":"DeleteResultFields"}) as unknown as TypedDocumentString<DeleteResultFieldsFragment, unknown>;
export const MediaFieldsFragmentDoc = /* @__PURE__ */ new TypedDocumentString(`
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
    `, {"fragmentName":"MediaFields"}) as unknown as TypedDocumentString<MediaFieldsFragment, unknown>;
export const RunFieldsFragmentDoc = /* @__PURE__ */ new TypedDocumentString(`
    fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}`, {"fragmentName":"RunFields"}) as unknown as TypedDocumentString<RunFieldsFragment, unknown>;
export const CreateRunResultFieldsFragmentDoc = /* @__PURE__ */ new TypedDocumentString(`
    fragment CreateRunResultFields on CreateRunResult {
  __typename
  ... on CreateRunSuccess {
    run {
      ...RunFields
    }
    webhookSecret
  }
  ... on Error {
    code
    message
  }
  ... on ValidationError {
    field
  }
  ... on NotFoundError {
    entity
    id
  }
  ... on InsufficientCreditsError {
    needed
    balance
  }
  ... on QueueLimitError {
    limit
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}`, {"fragmentName":"CreateRunResultFields"}) as unknown as TypedDocumentString<CreateRunResultFieldsFragment, unknown>;
export const ModelsDocument = /* @__PURE__ */ new TypedDocumentString(`
    query Models($mode: GenerationMode) {
  models(mode: $mode) {
    ...ModelFields
  }
}
    fragment ModelFields on Model {
  key
  name
  description
  outputKind
  modes
  minReferences
  maxReferences
  promptLimit
  defaultNegativePrompt
  sizes
  qualities
  inputFidelities
  maxVideoArea
  parameters {
    name
    type
    description
    default
    min
    max
    step
    options
    modes
  }
}`, {"hash":"sha256:94761416269dbeb8f682e18ca29f354ded72db13e44a581278e05e3e4bdd40dd"}) as unknown as TypedDocumentString<ModelsQuery, ModelsQueryVariables>;
export const StylesDocument = /* @__PURE__ */ new TypedDocumentString(`
    query Styles {
  styles {
    ...StyleFields
  }
}
    fragment StyleFields on Style {
  key
  name
  category
  description
  template
}`, {"hash":"sha256:d94453b4caa4a2852ddc9aaedd4464de0823be47fab200e9663a76e9b301cba0"}) as unknown as TypedDocumentString<StylesQuery, StylesQueryVariables>;
export const UploadMediaDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation UploadMedia($file: Upload!, $purpose: MediaPurpose) {
  uploadMedia(file: $file, purpose: $purpose) {
    __typename
    ... on UploadMediaSuccess {
      media {
        ...MediaFields
      }
    }
    ... on Error {
      code
      message
    }
    ... on MediaTooLargeError {
      limitKind
      limit
    }
    ... on ValidationError {
      field
    }
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}`, {"hash":"sha256:00a87a39e95f886d53bf8d1e1feb5ba63ac90859c5814ff693ad9a6000babc6e"}) as unknown as TypedDocumentString<UploadMediaMutation, UploadMediaMutationVariables>;
export const DeleteMediaDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation DeleteMedia($id: ID!) {
  deleteMedia(id: $id) {
    ...DeleteResultFields
  }
}
    fragment DeleteResultFields on DeleteResult {
  __typename
  ... on DeleteSuccess {
    deletedId
  }
  ... on Error {
    code
    message
  }
  ... on MediaInUseError {
    runCount
  }
  ... on NotFoundError {
    entity
    id
  }
}`, {"hash":"sha256:8ec4b4de754c361bf39f5dc3cfb8a54e19df47c71dac627196aa200d1cdf97cb"}) as unknown as TypedDocumentString<DeleteMediaMutation, DeleteMediaMutationVariables>;
export const GalleryDocument = /* @__PURE__ */ new TypedDocumentString(`
    query Gallery($first: Int, $after: String, $kind: MediaKind) {
  gallery(first: $first, after: $after, kind: $kind) {
    edges {
      cursor
      node {
        ...MediaFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}`, {"hash":"sha256:715e788768fe7dec72aa9c63f26a4bf80021b0185c0faece91f59a5036c3fc2b"}) as unknown as TypedDocumentString<GalleryQuery, GalleryQueryVariables>;
export const QueueUpdatedDocument = /* @__PURE__ */ new TypedDocumentString(`
    subscription QueueUpdated {
  queueUpdated {
    queued
    running
    workers {
      url
      healthy
      sandbox
      running
      queued
    }
    viewerRuns {
      position
      run {
        id
        status
      }
    }
  }
}
    `, {"hash":"sha256:045f81fced944f58502d510dbef36ec5854079af3b6760c9746811156dec28f1"}) as unknown as TypedDocumentString<QueueUpdatedSubscription, QueueUpdatedSubscriptionVariables>;
export const CreateRunDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation CreateRun($input: CreateRunInput!) {
  createRun(input: $input) {
    ...CreateRunResultFields
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}
fragment CreateRunResultFields on CreateRunResult {
  __typename
  ... on CreateRunSuccess {
    run {
      ...RunFields
    }
    webhookSecret
  }
  ... on Error {
    code
    message
  }
  ... on ValidationError {
    field
  }
  ... on NotFoundError {
    entity
    id
  }
  ... on InsufficientCreditsError {
    needed
    balance
  }
  ... on QueueLimitError {
    limit
  }
}`, {"hash":"sha256:cb4dcec0a5bfa238602c896072c0c26495c4bfa8716fc1c8371ceabff1b86b76"}) as unknown as TypedDocumentString<CreateRunMutation, CreateRunMutationVariables>;
export const RetryRunDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation RetryRun($id: ID!, $newSeed: Boolean) {
  retryRun(id: $id, newSeed: $newSeed) {
    ...CreateRunResultFields
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}
fragment CreateRunResultFields on CreateRunResult {
  __typename
  ... on CreateRunSuccess {
    run {
      ...RunFields
    }
    webhookSecret
  }
  ... on Error {
    code
    message
  }
  ... on ValidationError {
    field
  }
  ... on NotFoundError {
    entity
    id
  }
  ... on InsufficientCreditsError {
    needed
    balance
  }
  ... on QueueLimitError {
    limit
  }
}`, {"hash":"sha256:b1f18064c35ce2b5560a84312404e520968885de41ba31f0ba639feac3d69dbb"}) as unknown as TypedDocumentString<RetryRunMutation, RetryRunMutationVariables>;
export const CancelRunDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation CancelRun($id: ID!) {
  cancelRun(id: $id) {
    __typename
    ... on CancelRunSuccess {
      run {
        ...RunFields
      }
    }
    ... on Error {
      code
      message
    }
    ... on RunNotActiveError {
      status
    }
    ... on NotFoundError {
      entity
      id
    }
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}`, {"hash":"sha256:efd5c3ed37fee7b14a435c22c06bfeb3aa7aa7b5475006db6ea39aba361301f9"}) as unknown as TypedDocumentString<CancelRunMutation, CancelRunMutationVariables>;
export const DeleteRunDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation DeleteRun($id: ID!) {
  deleteRun(id: $id) {
    ...DeleteResultFields
  }
}
    fragment DeleteResultFields on DeleteResult {
  __typename
  ... on DeleteSuccess {
    deletedId
  }
  ... on Error {
    code
    message
  }
  ... on MediaInUseError {
    runCount
  }
  ... on NotFoundError {
    entity
    id
  }
}`, {"hash":"sha256:0db2fb3175a98b67a42bdedc71f5c15243bde6d8e56c3da99303e58ab5a19b9a"}) as unknown as TypedDocumentString<DeleteRunMutation, DeleteRunMutationVariables>;
export const RunDocument = /* @__PURE__ */ new TypedDocumentString(`
    query Run($id: ID!) {
  run(id: $id) {
    ...RunFields
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}`, {"hash":"sha256:a473a7a94a364be40472b7f0c60855e47dad1e88d233116a72870bb866777fca"}) as unknown as TypedDocumentString<RunQuery, RunQueryVariables>;
export const RunEventsDocument = /* @__PURE__ */ new TypedDocumentString(`
    subscription RunEvents($id: ID!) {
  runEvents(id: $id) {
    sequence
    type
    stage {
      kind
      status
      progress
      message
      nodeId
      nodeType
      step
      maxSteps
    }
    preview {
      mimeType
      dataUrl
      nodeId
    }
    output {
      ...MediaFields
    }
    run {
      ...RunFields
    }
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}`, {"hash":"sha256:2f6d6cedd559fa5e6f7a7f05213c71e4be302aa28b35cc0a398548ff681a99f7"}) as unknown as TypedDocumentString<RunEventsSubscription, RunEventsSubscriptionVariables>;
export const RunsDocument = /* @__PURE__ */ new TypedDocumentString(`
    query Runs($first: Int, $after: String, $filter: RunFilter) {
  runs(first: $first, after: $after, filter: $filter) {
    edges {
      cursor
      node {
        ...RunFields
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment MediaFields on Media {
  id
  kind
  purpose
  mimeType
  width
  height
  durationMs
  bytes
  sha256
  hasAlpha
  originalName
  createdAt
  url
  thumbnailUrl
}
fragment RunFields on Run {
  id
  mode
  modelKey
  styleKey
  prompt
  negativePrompt
  effectivePrompt
  effectiveNegativePrompt
  status
  progress
  sequence
  seed
  count
  priority
  queuePosition
  attempt
  worker
  parameters
  createdAt
  startedAt
  finishedAt
  output {
    format
    quality
    background
  }
  adjustments
  error {
    code
    message
    stage
    nodeId
    nodeType
    detail
    exceptionType
  }
  stages {
    kind
    status
    progress
    message
    nodeId
    nodeType
    step
    maxSteps
    input
    output
    startedAt
    finishedAt
    durationMs
  }
  inputs {
    role
    index
    media {
      ...MediaFields
    }
  }
  outputs {
    ...MediaFields
  }
  retryOf {
    id
  }
}`, {"hash":"sha256:970f6dcc758773530624750ade02a0b16aae5fe3cd533b25f941b4a820bba71d"}) as unknown as TypedDocumentString<RunsQuery, RunsQueryVariables>;
export const CreateWebhookDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation CreateWebhook($input: WebhookInput!) {
  createWebhook(input: $input) {
    __typename
    ... on CreateWebhookSuccess {
      secret
      webhook {
        id
        url
        events
        createdAt
      }
    }
    ... on Error {
      code
      message
    }
    ... on ValidationError {
      field
    }
  }
}
    `, {"hash":"sha256:18f8af18e95d55d11edb302fe836a562bbdf57b5a0df6cdd5c08fe6be258ac28"}) as unknown as TypedDocumentString<CreateWebhookMutation, CreateWebhookMutationVariables>;
export const DeleteWebhookDocument = /* @__PURE__ */ new TypedDocumentString(`
    mutation DeleteWebhook($id: ID!) {
  deleteWebhook(id: $id) {
    __typename
    ... on Error {
      code
      message
    }
  }
}
    `, {"hash":"sha256:70f611d7587b76c0b37a3becc97cc01ab8e04591f65c46575e2fc6a0f70eaecd"}) as unknown as TypedDocumentString<DeleteWebhookMutation, DeleteWebhookMutationVariables>;
export const WebhookDeliveriesDocument = /* @__PURE__ */ new TypedDocumentString(`
    query WebhookDeliveries($run: ID, $first: Int) {
  webhookDeliveries(run: $run, first: $first) {
    id
    url
    event
    status
    attempts
    lastStatus
    lastError
    nextAttemptAt
    deliveredAt
    createdAt
    forRunWebhook
    run {
      id
    }
  }
}
    `, {"hash":"sha256:c4c9a7528b7d6bbaa2021a0924706599330e7360aa13a2dd52bbb29a09998783"}) as unknown as TypedDocumentString<WebhookDeliveriesQuery, WebhookDeliveriesQueryVariables>;