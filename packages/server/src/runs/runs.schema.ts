// GraphQL for runs: Run, Stage, inputs, events; createRun, cancelRun, retryRun, deleteRun;
// run, runs; the runEvents subscription (SNAPSHOT first, then live events).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { readableBy } from '../auth/viewer.ts';
import { builder, MAX_PAGE_SIZE } from '../builder.ts';
import type { Context } from '../context.ts';
import { InsufficientCreditsError } from '../credits/credits.errors.ts';
import { NotFoundError, ValidationError } from '../domain-errors.ts';
import {
  GenerationMode,
  GenerationQuality,
  ImageSize,
  InputFidelity,
  OutputBackground,
  OutputFormat,
  RunInputRole,
  RunStatus,
  StageKind,
  StageStatus,
} from '../enums.ts';
import { Deleted, DeleteResult, errorTypeOptions } from '../errors.ts';
import type { Run } from '../generated/prisma/client.ts';
import { noteRunEvent, timeCreateRun } from '../instruments.ts';
import { MediaRef } from '../media/media.schema.ts';
import { ModelRef } from '../models/models.schema.ts';
import { type RunEventPayload, untilReturned } from '../pubsub.ts';
import { positionLoader } from '../queue/queue.service.ts';
import { SHARED_EVENTS, type SharedEventsExtension } from '../shared-subscriptions.ts';
import { StyleRef } from '../styles/styles.schema.ts';
import { WebhookInput } from '../webhooks/webhook-input.ts';
import { followRun } from './follow-run.ts';
import { QueueLimitError, RunNotActiveError } from './runs.errors.ts';
import { eventReadKey } from './shared-reads.ts';

export const StageRef = builder.prismaObject('Stage', {
  description:
    'One of the four stages of a run: TRANSLATE, STYLE, OPTIMIZE, GENERATE (in that order).',
  fields: (t) => ({
    kind: t.expose('kind', { type: StageKind, description: 'Which stage.' }),
    status: t.expose('status', { type: StageStatus, description: 'Where the stage is.' }),
    progress: t.exposeFloat('progress', { description: 'Progress of this stage, 0 to 1.' }),
    message: t.exposeString('message', {
      nullable: true,
      description: 'Human-readable state, e.g. "KSampler step 3/4" or why it was skipped.',
    }),
    input: t.exposeString('input', { nullable: true, description: 'Text the stage received.' }),
    output: t.exposeString('output', { nullable: true, description: 'Text the stage produced.' }),
    nodeId: t.exposeString('nodeId', {
      nullable: true,
      description: 'GENERATE: the workflow node executing.',
    }),
    nodeType: t.exposeString('nodeType', {
      nullable: true,
      description: 'GENERATE: the class of the node executing.',
    }),
    step: t.exposeInt('step', { nullable: true, description: 'GENERATE: sampler step.' }),
    maxSteps: t.exposeInt('maxSteps', {
      nullable: true,
      description: 'GENERATE: sampler steps in total.',
    }),
    startedAt: t.expose('startedAt', { type: 'DateTime', nullable: true, description: 'Start.' }),
    finishedAt: t.expose('finishedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'End.',
    }),
    durationMs: t.int({
      nullable: true,
      description: 'How long the stage took (so far, while running), in milliseconds.',
      resolve: (s) =>
        s.startedAt ? (s.finishedAt ?? new Date()).getTime() - s.startedAt.getTime() : null,
    }),
  }),
});

builder.prismaObject('RunInput', {
  description: 'A media item a run uses, with its role.',
  fields: (t) => ({
    role: t.expose('role', { type: RunInputRole, description: 'SOURCE, MASK or REFERENCE.' }),
    index: t.exposeInt('index', { description: 'Position among the references (0 otherwise).' }),
    media: t.relation('media', { description: 'The media item.' }),
  }),
});

const RunErrorRef = builder
  .objectRef<{
    code: string;
    message: string;
    stage: string | null;
    nodeId: string | null;
    nodeType: string | null;
    detail: string | null;
    exceptionType: string | null;
  }>('RunError')
  .implement({
    description: 'Why a run failed or was canceled.',
    fields: (t) => ({
      code: t.exposeString('code', {
        description:
          'Stable code: CONTENT_BLOCKED, NODE_ERROR, OUT_OF_MEMORY, INVALID_WORKFLOW, MODEL_UNAVAILABLE, WORKER_UNAVAILABLE, TIMED_OUT, CANCELED, INTERNAL_ERROR.',
      }),
      message: t.exposeString('message', { description: 'Human-readable explanation.' }),
      stage: t.field({
        type: StageKind,
        nullable: true,
        description: 'Stage that failed.',
        resolve: (e) => e.stage as never,
      }),
      nodeId: t.exposeString('nodeId', {
        nullable: true,
        description: 'Workflow node that failed.',
      }),
      nodeType: t.exposeString('nodeType', {
        nullable: true,
        description: 'Class of the node that failed.',
      }),
      detail: t.exposeString('detail', {
        nullable: true,
        description:
          "The worker's whole error text when `message` shows only its first line (e.g. ComfyUI's exception message with its hints).",
      }),
      exceptionType: t.exposeString('exceptionType', {
        nullable: true,
        description: "The exception's type as ComfyUI named it (e.g. torch.OutOfMemoryError).",
      }),
    }),
  });

const OutputOptionsRef = builder
  .objectRef<{ format: string; quality: number | null; background: string }>('OutputSettings')
  .implement({
    description: 'How outputs are stored.',
    fields: (t) => ({
      format: t.field({
        type: OutputFormat,
        description: 'Image file format.',
        resolve: (o) => o.format as never,
      }),
      quality: t.exposeInt('quality', {
        nullable: true,
        description: 'Encoder quality 1-100 for JPEG/WebP (null: default).',
      }),
      background: t.field({
        type: OutputBackground,
        description: 'Background handling.',
        resolve: (o) => o.background as never,
      }),
    }),
  });

export const RunRef = builder.prismaNode('Run', {
  description: 'One generation request and everything that happened to it.',
  id: { field: 'id', description: 'Global id (Relay).' },
  // Unknown ids and other accounts' objects load as null (node, nodes), not as errors.
  nullable: true,
  // node(id:) finds the viewer's runs (an admin's: any); ids are UUIDs (see builder.ts).
  findUnique: (id, ctx) => ({ id, ...readableBy(ctx.viewer) }),
  fields: (t) => ({
    mode: t.expose('mode', { type: GenerationMode, description: 'What is generated from what.' }),
    modelKey: t.exposeString('modelKey', { description: 'Key of the catalog model.' }),
    model: t.field({
      type: ModelRef,
      nullable: true,
      description: 'The catalog model (null if it left the catalog).',
      resolve: (run, _args, ctx) => ctx.services.catalog.model(run.modelKey) ?? null,
    }),
    styleKey: t.exposeString('styleKey', { nullable: true, description: 'Key of the style.' }),
    style: t.field({
      type: StyleRef,
      nullable: true,
      description: 'The style applied in the STYLE stage.',
      resolve: (run, _args, ctx) =>
        run.styleKey ? (ctx.services.catalog.style(run.styleKey) ?? null) : null,
    }),
    prompt: t.exposeString('prompt', { description: 'The prompt as given.' }),
    negativePrompt: t.exposeString('negativePrompt', {
      nullable: true,
      description: 'The negative prompt as given.',
    }),
    effectivePrompt: t.exposeString('effectivePrompt', {
      nullable: true,
      description: 'The prompt sent to the model after TRANSLATE, STYLE and OPTIMIZE.',
    }),
    effectiveNegativePrompt: t.exposeString('effectiveNegativePrompt', {
      nullable: true,
      description: 'The negative prompt sent to the model.',
    }),
    parameters: t.expose('parameters', {
      type: 'JSON',
      description: "Resolved parameters: the model's defaults with the run's overrides.",
    }),
    seed: t.exposeString('seed', {
      description: 'Unsigned 64-bit seed (decimal string); random when not given, always recorded.',
    }),
    count: t.exposeInt('count', { description: 'Outputs requested (1-10).' }),
    cost: t.exposeInt('cost', {
      description:
        'Credits the run costs (see Model.costs); charged when it was created, refunded when it fails or is canceled. Not charged to accounts with unlimited credits.',
    }),
    output: t.field({
      type: OutputOptionsRef,
      description: 'How outputs are stored.',
      resolve: (run) => ({
        format: run.outputFormat,
        quality: run.outputQuality,
        background: run.outputBackground,
      }),
    }),
    priority: t.exposeInt('priority', { description: 'Higher runs first (-100 to 100).' }),
    idempotencyKey: t.exposeString('idempotencyKey', {
      nullable: true,
      description: 'Key that made createRun idempotent.',
    }),
    skipStages: t.field({
      type: [StageKind],
      description: 'Stages skipped on request.',
      resolve: (run) => run.skipStages,
    }),
    adjustments: t.exposeStringList('adjustments', {
      description:
        "What the server changed in the request, in words: e.g. a video size clamped to the model's maximum area.",
    }),
    status: t.expose('status', { type: RunStatus, description: 'Lifecycle state.' }),
    progress: t.exposeFloat('progress', { description: 'Overall progress, 0 to 1.' }),
    sequence: t.exposeInt('sequence', {
      description: 'Bumped on every change; drop events with a lower sequence than seen.',
    }),
    queuePosition: t.int({
      nullable: true,
      description: 'Position in the queue (1 = next) while QUEUED; null otherwise.',
      resolve: (run, _args, ctx) => {
        if (run.status !== 'QUEUED') return null;
        // One query for every position this request asks for (queue.service.ts).
        return positionLoader(ctx, ctx.services.queueStatus).load(run.id);
      },
    }),
    attempt: t.exposeInt('attempt', { description: 'How many times execution started.' }),
    worker: t.exposeString('workerUrl', {
      nullable: true,
      description: 'The ComfyUI worker executing (or that executed) the run.',
    }),
    error: t.field({
      type: RunErrorRef,
      nullable: true,
      description: 'Why the run failed or was canceled.',
      resolve: (run) =>
        run.errorCode && run.status !== 'RUNNING' && run.status !== 'QUEUED'
          ? {
              code: run.errorCode,
              message: run.errorMessage ?? run.errorCode,
              stage: run.errorStage,
              nodeId: run.errorNodeId,
              nodeType: run.errorNodeType,
              detail: run.errorDetail,
              exceptionType: run.errorExceptionType,
            }
          : null,
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    startedAt: t.expose('startedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When execution (last) started.',
    }),
    finishedAt: t.expose('finishedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it finished.',
    }),
    stages: t.relation('stages', {
      description: 'The four stages, in order.',
      query: { orderBy: { position: 'asc' } },
    }),
    inputs: t.relation('inputs', {
      description: 'Input media with their roles.',
      query: { orderBy: [{ role: 'asc' }, { index: 'asc' }] },
    }),
    outputs: t.relation('outputs', {
      description: 'Generated media, in output order.',
      query: { orderBy: { outputIndex: 'asc' } },
    }),
    retryOf: t.relation('retryOf', {
      nullable: true,
      description: 'The run this one retries.',
    }),
  }),
});

builder.objectType(RunNotActiveError, {
  name: 'RunNotActiveError',
  description: 'The run already finished, so it cannot be canceled.',
  ...errorTypeOptions(RunNotActiveError),
  fields: (t) => ({
    status: t.field({
      type: RunStatus,
      description: 'The run status.',
      resolve: (e) => e.status as never,
    }),
  }),
});

const OutputOptionsInput = builder.inputType('OutputOptions', {
  description: 'How outputs are stored.',
  fields: (t) => ({
    format: t.field({ type: OutputFormat, description: 'Image file format (default PNG).' }),
    quality: t.int({ description: 'JPEG/WebP quality 1-100.' }),
    background: t.field({
      type: OutputBackground,
      description: 'TRANSPARENT removes the background on the worker (PNG or WEBP).',
    }),
  }),
});

const CreateRunInput = builder.inputType('CreateRunInput', {
  description: 'A generation request.',
  fields: (t) => ({
    mode: t.field({ type: GenerationMode, required: true, description: 'What to generate.' }),
    model: t.string({ required: true, description: 'Catalog model key (see `models`).' }),
    prompt: t.string({ required: true, description: 'What to generate, in any language.' }),
    negativePrompt: t.string({ description: "What to avoid (default: the model's)." }),
    style: t.string({ description: 'Style key (see `styles`).' }),
    source: t.globalID({
      for: MediaRef,
      description: 'Media id of the source image (I2I, EDIT, INPAINT, I2V).',
    }),
    mask: t.globalID({
      for: MediaRef,
      description: 'Media id of the mask (INPAINT): transparent pixels are repainted.',
    }),
    references: t.globalIDList({
      for: MediaRef,
      description: 'Media ids of the reference images (MULTI_REFERENCE).',
    }),
    seed: t.string({
      description: 'Unsigned 64-bit seed as a decimal string (random if omitted).',
    }),
    count: t.int({ defaultValue: 1, description: 'Outputs to generate, 1-10.' }),
    parameters: t.field({
      type: 'JSON',
      description: 'Model parameters by name (see `Model.parameters`); defaults fill the rest.',
    }),
    output: t.field({ type: OutputOptionsInput, description: 'How outputs are stored.' }),
    priority: t.int({ defaultValue: 0, description: 'Higher runs first (-100 to 100).' }),
    idempotencyKey: t.string({
      description: 'Repeating a key returns the run it created instead of a second one.',
    }),
    skipStages: t.field({
      type: [StageKind],
      description: 'Prompt stages to skip (TRANSLATE, STYLE, OPTIMIZE).',
    }),
    size: t.field({
      type: ImageSize,
      description: 'Image size preset (see Model.sizes); explicit width/height parameters win.',
    }),
    quality: t.field({
      type: GenerationQuality,
      description: 'Generation effort (see Model.qualities); explicit parameters win.',
    }),
    inputFidelity: t.field({
      type: InputFidelity,
      description: 'How closely the result keeps the source image (see Model.inputFidelities).',
    }),
    webhook: t.field({
      type: WebhookInput,
      description:
        "This run's own webhook: POSTed when the run ends with one of its events, signed with the secret in CreateRunSuccess.webhookSecret.",
    }),
  }),
});

/** Successful createRun / retryRun. */
class RunCreated {
  constructor(readonly run: Run) {}
}

builder.objectType(RunCreated, {
  name: 'CreateRunSuccess',
  description: 'The run was created (or found by its idempotency key).',
  isTypeOf: (value) => value instanceof RunCreated,
  fields: (t) => ({
    run: t.field({ type: RunRef, description: 'The run.', resolve: (r) => r.run }),
    webhookSecret: t.string({
      nullable: true,
      description:
        "The signing secret of the run's own webhook (`whsec_...`, Standard Webhooks); null without one.",
      resolve: (r) => r.run.webhookSecret,
    }),
  }),
});

builder.objectType(QueueLimitError, {
  name: 'QueueLimitError',
  description: 'You already have as many queued runs as the server allows per account.',
  ...errorTypeOptions(QueueLimitError),
  fields: (t) => ({
    limit: t.exposeInt('limit', { description: 'Most queued runs per account.' }),
  }),
});

/**
 * Result of createRun and retryRun: the run, or why nothing was created. Resolvers return
 * the run; the domain errors they throw become these members (errors plugin).
 */
const CreateRunResult = builder.errorUnion('CreateRunResult', {
  description: 'The created run, or why the request was refused (nothing is created then).',
  types: [RunCreated, ValidationError, NotFoundError, InsufficientCreditsError, QueueLimitError],
});

const RunId = { for: RunRef, required: true, description: 'Run id.' } as const;

builder.mutationField('createRun', (t) =>
  t.field({
    type: CreateRunResult,
    description:
      'Validates and queues a run, charging its cost (see Model.costs). Watch it with `runEvents`; the same idempotency key returns the same run.',
    args: { input: t.arg({ type: CreateRunInput, required: true }) },
    resolve: async (_root, { input }, ctx) =>
      new RunCreated(
        await timeCreateRun(() =>
          ctx.services.runs.create(ctx.viewer.accountId, {
            ...input,
            source: input.source?.id ?? null,
            mask: input.mask?.id ?? null,
            references: input.references?.map((r) => r.id) ?? null,
          }),
        ),
      ),
  }),
);

builder.mutationField('cancelRun', (t) =>
  t.field({
    type: RunRef,
    description:
      'Cancels a queued run at once, or a running one on its worker (only that run stops). Its credits are refunded.',
    errors: { types: [NotFoundError, RunNotActiveError], dataField: { name: 'run' } },
    args: { id: t.arg.globalID(RunId) },
    resolve: (_root, args, ctx) => ctx.services.runs.cancel(ctx.viewer.accountId, args.id.id),
  }),
);

builder.mutationField('retryRun', (t) =>
  t.field({
    type: CreateRunResult,
    description: 'Creates (and charges) a new run like this one, linked to it (`retryOf`).',
    args: {
      id: t.arg.globalID({ ...RunId, description: 'Run to retry.' }),
      newSeed: t.arg.boolean({ defaultValue: true, description: 'Draw a new random seed.' }),
    },
    resolve: async (_root, args, ctx) =>
      new RunCreated(
        await ctx.services.runs.retry(ctx.viewer.accountId, args.id.id, args.newSeed ?? true),
      ),
  }),
);

builder.mutationField('deleteRun', (t) =>
  t.field({
    type: DeleteResult,
    description: 'Deletes a run (canceling it first); its outputs stay in the gallery.',
    args: { id: t.arg.globalID(RunId) },
    resolve: async (_root, args, ctx) => {
      await ctx.services.runs.delete(ctx.viewer.accountId, args.id.id);
      return new Deleted(encodeGlobalID('Run', args.id.id));
    },
  }),
);

builder.queryField('run', (t) =>
  t.prismaField({
    type: 'Run',
    nullable: true,
    description: 'One of your runs by global id; null when unknown or not yours.',
    args: { id: t.arg.globalID({ ...RunId, description: 'Global id of the run.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.services.runs.find(readableBy(ctx.viewer), args.id.id, query),
  }),
);

const RunFilter = builder.inputType('RunFilter', {
  description: 'Filters for `runs`.',
  fields: (t) => ({
    status: t.field({ type: [RunStatus], description: 'Only runs in these states.' }),
    mode: t.field({ type: [GenerationMode], description: 'Only runs of these modes.' }),
    model: t.stringList({ description: 'Only runs of these model keys.' }),
  }),
});

builder.queryField('runs', (t) =>
  t.prismaConnection(
    {
      type: 'Run',
      cursor: 'id',
      defaultSize: 20,
      maxSize: MAX_PAGE_SIZE,
      description: `Your runs, newest first (pages of at most ${MAX_PAGE_SIZE}).`,
      args: { filter: t.arg({ type: RunFilter, description: 'Filters.' }) },
      resolve: (query, _root, args, ctx) =>
        ctx.services.runs.list(ctx.viewer.accountId, args.filter ?? {}, query),
    },
    { name: 'RunConnection', description: 'A page of runs (Relay connection).' },
    { name: 'RunEdge', description: 'A run in a page, with its cursor.' },
  ),
);

// --- live events -------------------------------------------------------------------------

const RunEventType = builder.enumType('RunEventType', {
  description: 'What happened.',
  values: {
    SNAPSHOT: { description: 'The current state, sent first on every subscription.' },
    STAGE_STARTED: { description: 'A stage started.' },
    STAGE_PROGRESS: { description: 'A stage progressed (node, step, overall).' },
    STAGE_FINISHED: { description: 'A stage finished (succeeded or skipped).' },
    PREVIEW: { description: 'A new preview image (latest only, throttled).' },
    OUTPUT: { description: 'An output was stored.' },
    RUN_FINISHED: { description: 'The run ended (see status).' },
  } as const,
});

const PreviewRef = builder.objectRef<NonNullable<RunEventPayload['preview']>>('Preview').implement({
  description: 'A preview image of a run in progress.',
  fields: (t) => ({
    mimeType: t.exposeString('mimeType', { description: 'Image type.' }),
    dataUrl: t.exposeString('dataUrl', { description: 'The image as a data: URL.' }),
    nodeId: t.exposeString('nodeId', { nullable: true, description: 'Node that made it.' }),
  }),
});

const RunEventRef = builder.objectRef<RunEventPayload>('RunEvent').implement({
  description: 'A change of a run. `sequence` is the run sequence after the change.',
  fields: (t) => ({
    sequence: t.exposeInt('sequence', { description: 'Monotonic per run.' }),
    type: t.field({ type: RunEventType, description: 'What happened.', resolve: (e) => e.type }),
    run: t.prismaField({
      type: 'Run',
      description: 'The run, read when the event is delivered.',
      // One read per event and selection, shared by every subscriber (shared-reads.ts).
      resolve: (query, e, _args, ctx) =>
        ctx.services.eventReads.read(eventReadKey('run', e, query), e, () =>
          ctx.prisma.run.findUniqueOrThrow({ ...query, where: { id: e.runId } }),
        ),
    }),
    stage: t.prismaField({
      type: 'Stage',
      nullable: true,
      description: 'The stage concerned, if any.',
      resolve: (query, e, _args, ctx) =>
        e.stage
          ? ctx.services.eventReads.read(eventReadKey(`stage:${e.stage}`, e, query), e, () =>
              ctx.prisma.stage.findUnique({
                ...query,
                where: { runId_kind: { runId: e.runId, kind: e.stage! } },
              }),
            )
          : null,
    }),
    preview: t.field({
      type: PreviewRef,
      nullable: true,
      description: 'PREVIEW: the image.',
      resolve: (e) => e.preview,
    }),
    output: t.prismaField({
      type: 'Media',
      nullable: true,
      description: 'OUTPUT: the media stored.',
      resolve: (query, e, _args, ctx) =>
        e.mediaId
          ? ctx.services.eventReads.read(eventReadKey(`media:${e.mediaId}`, e, query), e, () =>
              ctx.prisma.media.findUnique({ ...query, where: { id: e.mediaId! } }),
            )
          : null,
    }),
  }),
});

/** A subscriber that heard nothing for this long checks the run in the database. */
export const RUN_EVENTS_RESYNC_MS = 3_000;
/** How long the catch-up waits for events the database has and pub/sub has not delivered. */
export const RUN_EVENTS_GRACE_MS = 2_000;

builder.subscriptionField('runEvents', (t) =>
  t.field({
    type: RunEventRef,
    description:
      'Live events of one run: a SNAPSHOT first, then every change with its sequence. Ends after RUN_FINISHED (or right after the snapshot of a finished run).',
    args: { id: t.arg.globalID(RunId) },
    subscribe: (_root, args, ctx) => {
      const runId = args.id.id;
      // Subscribe before reading, so nothing between the read and the subscription is lost;
      // a client that leaves ends it at once, even while the run is quiet (untilReturned).
      return untilReturned(ctx.services.pubsub.subscribe('run', runId), (live) =>
        runEvents(live, runId, ctx),
      );
    },
    // Noted for atelier_run_event_delivery_lag_seconds (observed once the result is ready).
    resolve: (event, _args, ctx) => noteRunEvent(ctx, event),
    extensions: {
      // Subscribers over WebSocket with the same document, variables and viewer share one
      // execution of each live event (shared-subscriptions.ts); the lag is still noted for
      // each of them.
      [SHARED_EVENTS]: {
        perSubscriber: (ctx, event) => noteRunEvent(ctx, event as RunEventPayload),
      } satisfies SharedEventsExtension,
    },
  }),
);

/** A subscriber's events of one run, from `live` (its pub/sub subscription). */
async function* runEvents(
  live: AsyncIterableIterator<RunEventPayload>,
  runId: string,
  ctx: Context,
): AsyncGenerator<RunEventPayload> {
  try {
    // Another account's run is NOT_FOUND, exactly like a missing one.
    const run = await ctx.services.runs.find(readableBy(ctx.viewer), runId, {
      select: { id: true, sequence: true, status: true },
    });
    if (!run) throw new NotFoundError('Run', runId);
    yield {
      runId: run.id,
      sequence: run.sequence,
      type: 'SNAPSHOT',
      stage: null,
      preview: null,
      mediaId: null,
    } satisfies RunEventPayload;
    if (run.status !== 'QUEUED' && run.status !== 'RUNNING') return;
    // A subscriber that cannot keep up gets the latest progress and preview, not a
    // backlog; every other event reaches it, in order; after a quiet spell the database
    // says whether pub/sub lost anything (follow-run.ts).
    yield* followRun(live, {
      runId,
      from: run.sequence,
      idleMs: RUN_EVENTS_RESYNC_MS,
      graceMs: RUN_EVENTS_GRACE_MS,
      read: () =>
        ctx.prisma.run.findUnique({
          where: { id: runId },
          select: { sequence: true, status: true },
        }),
      // Reads made from now on see this event's change (shared-reads.ts).
      arrived: (e) =>
        ctx.services.eventReads.arrived({ runId: e.runId, sequence: e.written ?? e.sequence }),
    });
  } finally {
    await live.return?.();
  }
}
