// The public API of @atelier/sdk, listed explicitly (React hooks live in ./react.ts).
export type {
  ListModelsOptions,
  Model,
  ModelParameter,
  Style,
} from './catalog.ts';
export { listModels, listStyles } from './catalog.ts';
export type {
  AtelierClient,
  AtelierClientOptions,
  AtelierHeaders,
} from './client.ts';
export { CSRF_HEADER, createAtelierClient } from './client.ts';
export type { AtelierGraphQLError } from './errors.ts';
export { AtelierRequestError, RunTimeoutError } from './errors.ts';
export type {
  CreateRunInput,
  GenerationMode,
  GenerationQuality,
  ImageSize,
  InputFidelity,
  MediaKind,
  MediaLimitKind,
  MediaPurpose,
  OutputBackground,
  OutputFormat,
  OutputOptions,
  ParameterType,
  RunEventType,
  RunFilter,
  RunInputRole,
  RunStatus,
  StageKind,
  StageStatus,
  WebhookEvent,
} from './generated/graphql.ts';
export type {
  DeleteResult,
  GalleryOptions,
  GalleryPage,
  Media,
  UploadInput,
  UploadMediaOptions,
  UploadMediaResult,
} from './media.ts';
export { deleteMedia, gallery, uploadMedia } from './media.ts';
export type {
  QueuedRun,
  QueueStatus,
  QueueWorker,
  WatchQueueOptions,
} from './queue.ts';
export { watchQueue } from './queue.ts';
export type {
  CancelRunResult,
  CreateRunResult,
  ListRunsOptions,
  RetryRunOptions,
  Run,
  RunEvent,
  RunStage,
  RunsPage,
  WaitForRunOptions,
  WatchRunOptions,
} from './runs.ts';
export {
  cancelRun,
  createRun,
  deleteRun,
  FINISHED_RUN_STATUSES,
  getRun,
  listRuns,
  RunsDocument,
  retryRun,
  waitForRun,
  watchRun,
} from './runs.ts';
export type {
  AtelierWebhookEvent,
  CreateWebhookResult,
  WebhookDelivery,
} from './webhooks.ts';
export { createWebhook, deleteWebhook, verifyWebhook, webhookDeliveries } from './webhooks.ts';
