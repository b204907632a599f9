// Executes one claimed run: the prompt stages, then GENERATE on the executor, storing every
// output as Media. Every state change is written first, then published (RunEvents).
import { createHash, randomUUID } from 'node:crypto';
import type { CreditsService } from '../credits/credits.service.ts';
import type { Database } from '../db/database.ts';
import { jsonbText } from '../db/jsonb.ts';
import { AtelierError } from '../domain-errors.ts';
import { type Media, Prisma, type PrismaClient, type Run } from '../generated/prisma/client.ts';
import type { StageKind, StageStatus } from '../generated/prisma/enums.ts';
import { observeRunFinished } from '../instruments.ts';
import type { LlmClient } from '../llm/llm.client.ts';
import type { Logger } from '../log.ts';
import {
  EarlyOutputs,
  type OutputFile,
  type OutputMetadata,
  type PreparedOutput,
  prepareOutput,
  recordOutput,
  type Thumbnails,
} from '../media/outputs.ts';
import type { Catalog } from '../models/catalog.service.ts';
import { ExecutionError, type ExecutionEvent, type Executor } from '../queue/executor.ts';
import { runPromptStages } from '../stages/prompt-stages.ts';
import type { Storage } from '../storage/storage.ts';
import { inThisTrace, withSpan } from '../tracing.ts';
import { enqueueRunWebhooks } from '../webhooks/webhooks.service.ts';
import { bindWorkflow, supportsBatch } from './bind.ts';
import { type ChangeEvent, type RunEvents, type StagePatch, throttleLatest } from './run-events.ts';

export interface EngineDeps {
  prisma: PrismaClient;
  /** The statement that ends a successful run goes through the driver (Database.query). */
  query: Database['query'];
  credits: CreditsService;
  catalog: Catalog;
  executor: Executor;
  storage: Storage;
  events: RunEvents;
  log: Logger;
  llm: LlmClient | null;
  /** The LLM takes images (LLM_VISION): DESCRIBE may send it the source. */
  llmVision?: boolean;
  blocklist: string[];
  /**
   * Makes image outputs' thumbnails once they are stored (not awaited by the run's end); its
   * edge is also a video poster's thumbnail's.
   */
  thumbnails: Thumbnails;
  outputMetadata: OutputMetadata;
  backgroundRemovalModel: string;
  /** Minimum time between progress events per run (ms). */
  progressIntervalMs: number;
  /** Minimum time between preview events per run (ms). */
  previewIntervalMs: number;
  /** Told after a run's end enqueued webhook deliveries (they are due now). */
  onWebhooksDue?: () => void;
}

/** What the engine tells whoever launched a run while it executes. */
export interface ExecuteHooks {
  /**
   * The run was just claimed from the queue for its first attempt: its stages are all
   * PENDING and it has no outputs yet, so nothing needs reading back.
   */
  fresh?: boolean;
  /**
   * The run was left RUNNING by a process that is gone (or by this one before a restart):
   * its prompt may be on a worker even if no worker is recorded for it.
   */
  adopted?: boolean;
  /** With adopted: the ComfyUI servers the process that held the run used. */
  previousWorkers?: string[];
  /**
   * The run's prompt went to a ComfyUI server (true) or that server is done with it and its
   * slot is free (false): the outputs are downloaded and stored after that.
   */
  onSlot?(held: boolean): void;
}

/**
 * What a successful run's last statement records besides its end (finishSucceeded): the last
 * execution's outputs (stored, not yet recorded) and GENERATE's last position (its last
 * progress, when that was not written yet).
 */
interface RunEnding {
  outputs: PreparedOutput[];
  generate: StagePatch | null;
}

/** Modes whose runs have no input images (nothing to read before binding). */
const TEXT_ONLY = new Set<Run['mode']>(['TEXT_TO_IMAGE', 'TEXT_TO_VIDEO', 'TEXT_TO_AUDIO']);

/** Share of run progress the three prompt stages take together (the rest is GENERATE). */
const PROMPT_STAGES_SHARE = 0.06;

/** Thrown inside the engine when the process is shutting down: leave the run as it is. */
export class EngineStopped extends Error {}

/** A UUID for the i-th execution of an attempt: the attempt id itself for i = 0. */
export function executionId(attemptId: string, index: number): string {
  if (index === 0) return attemptId;
  const h = createHash('sha256').update(`${attemptId}:${index}`).digest('hex');
  const variant = ((Number.parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export class RunEngine {
  constructor(private readonly deps: EngineDeps) {}

  /**
   * Runs `run` (already claimed: status RUNNING, attemptId set) to its end. `signal`
   * cancels it; `stopping()` tells a cancel from a process shutdown.
   */
  execute(
    run: Run,
    signal: AbortSignal,
    stopping: () => boolean,
    hooks: ExecuteHooks = {},
  ): Promise<void> {
    // A trace per run (whatever woke the scheduler): stages, ComfyUI calls, storage under it.
    const attributes = {
      'atelier.run.id': run.id,
      'atelier.model': run.modelKey,
      'atelier.mode': run.mode,
    };
    return withSpan('run', attributes, () => this.executeRun(run, signal, stopping, hooks), {
      root: true,
    });
  }

  private async executeRun(
    run: Run,
    signal: AbortSignal,
    stopping: () => boolean,
    hooks: ExecuteHooks,
  ): Promise<void> {
    const { prisma, log } = this.deps;
    try {
      const stages = hooks.fresh ? [] : await prisma.stage.findMany({ where: { runId: run.id } });
      const promptDone = stages.every(
        (s) => s.kind === 'GENERATE' || s.status === 'SUCCEEDED' || s.status === 'SKIPPED',
      );
      const prompts =
        promptDone && run.effectivePrompt !== null
          ? {
              prompt: run.effectivePrompt,
              negativePrompt: run.effectiveNegativePrompt,
              fresh: false,
            }
          : { ...(await this.promptStages(run, signal)), fresh: true };
      const resumed = stages.some((s) => s.kind === 'GENERATE' && s.status === 'RUNNING');
      const ending = await withSpan('stage GENERATE', { 'atelier.run.id': run.id }, () =>
        this.generate(run, prompts, resumed, signal, hooks),
      );
      await this.finish(run.id, 'SUCCEEDED', null, ending);
    } catch (error) {
      if (stopping()) return; // the next start reconciles this run
      const canceled =
        signal.aborted || (error instanceof ExecutionError && error.code === 'CANCELED');
      if (canceled) {
        // A worker that never confirmed it stopped is named in the message.
        const unconfirmed = error instanceof ExecutionError && error.details.unconfirmed === true;
        await this.finish(run.id, 'CANCELED', {
          code: 'CANCELED',
          message: unconfirmed ? error.message : 'Canceled while running.',
        });
        return;
      }
      if (error instanceof AtelierError) {
        const details = error instanceof ExecutionError ? error.details : {};
        await this.finish(run.id, 'FAILED', {
          code: error.code,
          message: error.message,
          nodeId: details.nodeId ?? null,
          nodeType: details.nodeType ?? null,
          detail: details.detail ?? null,
          exceptionType: details.exceptionType ?? null,
        });
        return;
      }
      log.error('run failed unexpectedly', { runId: run.id, error });
      await this.finish(run.id, 'FAILED', {
        code: 'INTERNAL_ERROR',
        message: 'The run failed because of an internal error.',
      });
    }
  }

  private async promptStages(run: Run, signal: AbortSignal) {
    const { catalog, events } = this.deps;
    const model = catalog.model(run.modelKey);
    if (!model)
      throw new ExecutionError('MODEL_UNAVAILABLE', `Model ${run.modelKey} left the catalog.`);
    const style = run.styleKey ? (catalog.style(run.styleKey) ?? null) : null;
    let done = 0;
    const promptStages = run.mode === 'IMAGE_TO_AUDIO' ? 4 : 3;
    const result = await runPromptStages(
      {
        prompt: run.prompt,
        negativePrompt: run.negativePrompt,
        mode: run.mode,
        model,
        style,
        skip: new Set(run.skipStages.filter((s) => s !== 'GENERATE')),
        ...(run.mode === 'IMAGE_TO_AUDIO' ? { sourceImage: () => this.sourceImage(run.id) } : {}),
      },
      {
        llm: this.deps.llm,
        blocklist: this.deps.blocklist,
        vision: this.deps.llmVision ?? false,
        signal,
      },
      {
        // Not awaited: stage changes that come in a burst (stages without an LLM finish at
        // once) are merged into one statement; a failed write surfaces at flushed().
        onStageStart: async (kind, input) => {
          events
            .change(
              run.id,
              {
                stages: {
                  [kind]: { status: 'RUNNING', input, startedAt: new Date(), message: null },
                },
              },
              [{ type: 'STAGE_STARTED', stage: kind }],
            )
            .catch(reportedByFlushed);
        },
        onStageFinish: async (kind, outcome) => {
          done++;
          events
            .change(
              run.id,
              {
                stages: {
                  [kind]: {
                    status: outcome.status,
                    output: outcome.output,
                    message: outcome.message,
                    progress: 1,
                    finishedAt: new Date(),
                  },
                },
                run: { progress: (PROMPT_STAGES_SHARE * done) / promptStages },
              },
              [{ type: 'STAGE_FINISHED', stage: kind }],
            )
            .catch(reportedByFlushed);
        },
      },
    );
    // The effective prompt is written with GENERATE's start (one statement less).
    return result;
  }

  /** The bytes of a run's source image (IMAGE_TO_AUDIO's DESCRIBE stage). */
  private async sourceImage(runId: string): Promise<Buffer> {
    const input = await this.deps.prisma.runInput.findFirst({
      where: { runId, role: 'SOURCE' },
      include: { media: true },
    });
    if (!input) throw new ExecutionError('INVALID_WORKFLOW', 'The run has no source image.');
    return readAll(this.deps.storage, input.media.storageKey);
  }

  private async generate(
    run: Run,
    prompts: { prompt: string; negativePrompt: string | null; fresh: boolean },
    resumed: boolean,
    signal: AbortSignal,
    hooks: ExecuteHooks,
  ) {
    const { prisma, catalog, executor, events, storage } = this.deps;
    const { prompt, negativePrompt } = prompts;
    const model = catalog.model(run.modelKey);
    if (!model)
      throw new ExecutionError('MODEL_UNAVAILABLE', `Model ${run.modelKey} left the catalog.`);
    const runId = run.id;
    const effective = prompts.fresh
      ? { effectivePrompt: prompt, effectiveNegativePrompt: negativePrompt }
      : undefined;
    if (!resumed) {
      // GENERATE starts, with the effective prompt. Not awaited: the write merges with the
      // prompt stages' before it and the worker's URL after it (beforeSubmit awaits them all).
      events
        .change(
          runId,
          {
            stages: {
              GENERATE: {
                status: 'RUNNING',
                startedAt: new Date(),
                input: prompt,
                message: 'Waiting for a worker',
              },
            },
            ...(effective ? { run: effective } : {}),
          },
          [{ type: 'STAGE_STARTED', stage: 'GENERATE' }],
        )
        .catch(reportedByFlushed);
    } else if (effective) {
      await prisma.run.update({ where: { id: runId }, data: effective });
    }
    const [inputs, stored] = await Promise.all([
      TEXT_ONLY.has(run.mode)
        ? []
        : prisma.runInput.findMany({
            where: { runId },
            include: { media: true },
            orderBy: [{ role: 'asc' }, { index: 'asc' }],
          }),
      hooks.fresh ? 0 : prisma.media.count({ where: { runId } }),
    ]);
    const byRole = (role: string) => inputs.filter((i) => i.role === role);
    const mediaById = new Map(inputs.map((i) => [i.mediaId, i.media]));

    const batch = supportsBatch(model, run.mode);
    const executions = batch ? 1 : run.count;
    let outputIndex = stored;
    // Jobs whose outputs are already stored (a resumed run) are not run again.
    const firstExecution = batch ? (stored > 0 ? 1 : 0) : stored;

    let firstDone = 0;
    let current = 0;
    // Set once the executor sent the cancel to the worker: the run stays RUNNING until the
    // worker stops (at its next sampler step or node), and the stage says so.
    let canceling: string | null = null;
    let lastProgress: Extract<ExecutionEvent, { type: 'progress' }> | null = null;
    // A failed write is logged; the next one supersedes it (the latest state wins).
    const { progressIntervalMs, previewIntervalMs } = this.deps;
    const warn = (error: unknown) =>
      this.deps.log.warn('could not write a progress or preview event', { runId, error });
    // What a progress event changes: GENERATE's progress and where it is, the run's progress.
    const progressPatch = (e: Extract<ExecutionEvent, { type: 'progress' }>) => {
      const overall = (firstDone + e.overall) / executions;
      let message =
        e.step !== null && e.maxSteps
          ? `${e.nodeType} step ${e.step}/${e.maxSteps}`
          : e.nodeType
            ? `Running ${e.nodeType}`
            : '';
      if (executions > 1 && message) message += ` (output ${current + 1}/${executions})`;
      if (canceling !== null) {
        message = `Canceling: waiting for ${canceling} to stop${message ? ` (at ${message})` : ''}`;
      }
      return {
        stage: {
          progress: overall,
          message,
          nodeId: e.nodeId,
          nodeType: e.nodeType,
          step: e.step,
          maxSteps: e.maxSteps,
        } satisfies StagePatch,
        run: { progress: PROMPT_STAGES_SHARE + (1 - PROMPT_STAGES_SHARE) * overall },
      };
    };
    const progress = throttleLatest(progressIntervalMs, warn, async (e: ExecutionEvent) => {
      if (e.type !== 'progress') return;
      const patch = progressPatch(e);
      await events.change(runId, { stages: { GENERATE: patch.stage }, run: patch.run }, [
        { type: 'STAGE_PROGRESS', stage: 'GENERATE' },
      ]);
    });
    const previewEvent = (e: Extract<ExecutionEvent, { type: 'preview' }>): ChangeEvent => ({
      type: 'PREVIEW',
      stage: 'GENERATE',
      preview: {
        mimeType: e.mimeType,
        dataUrl: `data:${e.mimeType};base64,${e.data.toString('base64')}`,
        nodeId: e.nodeId,
      },
    });
    const preview = throttleLatest(previewIntervalMs, warn, async (e: ExecutionEvent) => {
      if (e.type !== 'preview') return;
      await events.change(runId, {}, [previewEvent(e)]);
    });
    const ending: RunEnding = { outputs: [], generate: null };
    const options = {
      format: run.outputFormat,
      quality: run.outputQuality,
      keepAlpha: run.outputBackground === 'TRANSPARENT',
      metadata: this.deps.outputMetadata,
    };
    // The current execution's outputs reported before its prompt ended, converted and stored
    // meanwhile; its result takes them, and the ones it does not take are deleted after it.
    let early: EarlyOutputs | null = null;
    const closeEarly = async () => {
      const rest = early ? await early.close() : [];
      early = null;
      await discardAll(rest, this.deps.log);
    };

    try {
      for (current = firstExecution; current < executions; current++) {
        firstDone = current;
        const seed = batch ? run.seed : (BigInt(run.seed) + BigInt(current)).toString();
        const bound = bindWorkflow(model, run.mode, {
          prompt,
          negativePrompt,
          seed,
          parameters: run.parameters as Record<string, unknown>,
          batchSize: batch ? run.count : 1,
          images: {
            source: byRole('SOURCE')[0]?.mediaId,
            mask: byRole('MASK')[0]?.mediaId,
            references: byRole('REFERENCE').map((i) => i.mediaId),
          },
          removeBackground:
            run.outputBackground === 'TRANSPARENT'
              ? { modelFile: this.deps.backgroundRemovalModel }
              : null,
        });
        const attemptId = run.attemptId ?? randomUUID();
        // Bound to the run's trace: an offer comes from the worker socket's message handler.
        const outputs = new EarlyOutputs(
          inThisTrace((file: OutputFile) =>
            prepareOutput(
              storage,
              { ownerId: run.ownerId, runId, index: 0 },
              file,
              options,
              this.deps.thumbnails,
            ),
          ),
        );
        early = outputs;
        const result = await executor.execute(
          {
            runId,
            attemptId: executionId(attemptId, current),
            modelKey: model.key,
            graph: bound.graph,
            images: bound.images.map((image) => {
              const media = mediaById.get(image.mediaId)!;
              return {
                node: image.node,
                input: image.input,
                sha256: media.sha256,
                mimeType: media.mimeType,
                mask: image.mask,
                read: () => readAll(storage, media.storageKey),
              };
            }),
            requirements: bound.requirements,
            ...(run.workerUrl && current === firstExecution ? { resumeOn: run.workerUrl } : {}),
            ...(hooks.adopted && current === firstExecution
              ? { takenOver: true, askAlso: hooks.previousWorkers ?? [] }
              : {}),
            // Written as the prompt leaves: a process that takes this run over after a crash
            // asks that server first, then every other (the prompt may be out before this
            // write is), by prompt id, before it submits the prompt anew.
            beforeSubmit: async (worker) => {
              const written = events.change(runId, { run: { workerUrl: worker } }, []);
              // Every earlier change of the run is written too (in the same statement, which
              // starts now); one that failed fails it here.
              await Promise.all([written, events.flushed(runId)]);
            },
          },
          (event) => {
            // ('submitted': workerUrl was written by beforeSubmit already.)
            if (event.type === 'submitted') {
              hooks.onSlot?.(true);
            } else if (event.type === 'released') {
              hooks.onSlot?.(false);
            } else if (event.type === 'started') {
              if (canceling !== null) return;
              void events
                .change(
                  runId,
                  { stages: { GENERATE: { message: `Running on ${event.worker}` } } },
                  [{ type: 'STAGE_PROGRESS', stage: 'GENERATE' }],
                )
                .catch((error: unknown) =>
                  this.deps.log.warn('could not say where a run runs', { runId, error }),
                );
            } else if (event.type === 'canceling') {
              // Through the progress writer, so no earlier progress overwrites the message.
              canceling = event.worker;
              progress.push(
                lastProgress ?? {
                  type: 'progress',
                  nodeId: '',
                  nodeType: '',
                  step: null,
                  maxSteps: null,
                  overall: 0,
                },
              );
              void progress.flush();
            } else if (event.type === 'progress') {
              lastProgress = event;
              progress.push(event);
            } else if (event.type === 'preview') preview.push(event);
            else if (event.type === 'output' && event.output.kind === model.outputKind) {
              outputs.offer(event.output);
            }
          },
          signal,
        );
        const wanted = result.outputs.filter((o) => o.kind === model.outputKind);
        const files = wanted.length ? wanted : result.outputs;
        // Every output prepared at once (taken from its early preparation when there is one);
        // when one fails, the files of the others are deleted.
        const first = outputIndex;
        outputIndex += files.length;
        const taken = await Promise.allSettled(
          files.map((file, i) => outputs.take(file, first + i)),
        );
        await closeEarly();
        const prepared = taken.flatMap((t) => (t.status === 'fulfilled' ? [t.value] : []));
        const failed = taken.find((t) => t.status === 'rejected');
        if (failed) {
          await discardAll(prepared, this.deps.log);
          throw failed.reason;
        }
        if (current === executions - 1) {
          // The last execution: its outputs are recorded by the statement that ends the run
          // (finishSucceeded), their OUTPUTs go out with RUN_FINISHED. A progress and a
          // preview still waiting are superseded by that end, not sent on their own: the
          // statement records GENERATE at that last position (what OUTPUT's and
          // RUN_FINISHED's reads of the run and stage show), and the outputs replace the
          // preview. Deliveries already started finish first (take waits for them).
          const [pendingProgress] = await Promise.all([progress.take(), preview.take()]);
          if (pendingProgress?.type === 'progress') {
            ending.generate = progressPatch(pendingProgress).stage;
          }
          ending.outputs.push(...prepared);
          continue;
        }
        // An execution before the last: its last progress and preview are written while its
        // outputs are recorded; every event goes through the run's writer, so they still go
        // out before the OUTPUTs.
        const flushing = Promise.all([progress.flush(), preview.flush()]);
        for (const [i, output] of prepared.entries()) {
          let media: Media;
          try {
            media = await recordOutput(prisma, output);
          } catch (error) {
            await discardAll(prepared.slice(i + 1), this.deps.log);
            throw error;
          }
          events
            .change(runId, {}, [{ type: 'OUTPUT', stage: 'GENERATE', mediaId: media.id }])
            .catch(reportedByFlushed);
        }
        await flushing;
      }
    } finally {
      progress.cancel();
      preview.cancel();
      await closeEarly();
    }
    if (outputIndex === 0) {
      throw new ExecutionError('NODE_ERROR', 'The workflow finished without writing any output.');
    }
    return ending;
  }

  /**
   * A run's success in ONE statement (atomic like a transaction): the last outputs' Media
   * rows, its open stages closed (GENERATE at its last step), its final state with the
   * sequences of the events that go out with it (one OUTPUT per output, RUN_FINISHED), and the webhook deliveries it causes (the account's endpoints
   * that want `run.succeeded`, and its own webhook). Null if it is gone.
   */
  private async finishSucceeded(runId: string, now: Date, ending: RunEnding) {
    const at = Prisma.sql`(${now.toISOString()}::timestamptz AT TIME ZONE 'UTC')`;
    const event = 'run.succeeded';
    const bump = ending.outputs.length + 1;
    // GENERATE keeps the position of its last progress (the one not written yet).
    const generate = ending.generate;
    const position = generate
      ? Prisma.sql`, "step" = CASE WHEN "kind" = 'GENERATE' THEN ${generate.step ?? null}::integer ELSE "step" END,
          "maxSteps" = CASE WHEN "kind" = 'GENERATE' THEN ${generate.maxSteps ?? null}::integer ELSE "maxSteps" END,
          "nodeId" = CASE WHEN "kind" = 'GENERATE' THEN ${generate.nodeId ?? null}::text ELSE "nodeId" END,
          "nodeType" = CASE WHEN "kind" = 'GENERATE' THEN ${generate.nodeType ?? null}::text ELSE "nodeType" END`
      : Prisma.empty;
    const rows = await this.deps.query<{
      sequence: number;
      modelKey: string;
      mode: string;
      status: string;
      startedAt: Date | null;
      finishedAt: Date | null;
      webhooks: number;
    }>(Prisma.sql`
      WITH m AS (
        INSERT INTO "Media" (${Prisma.raw(MEDIA_COLUMNS.map((c) => `"${c}"`).join(', '))}, "createdAt")
        SELECT ${Prisma.raw(MEDIA_COLUMNS.map((c) => `"${c}"`).join(', '))}, ${at}
          FROM jsonb_populate_recordset(NULL::"Media", ${jsonbText(ending.outputs.map((o) => o.row))}::jsonb)
      ), s AS (
        UPDATE "Stage" SET "status" = 'SUCCEEDED', "finishedAt" = ${at}, "progress" = 1,
          "message" = 'Done'${position}
        WHERE "runId" = ${runId}::uuid AND "status" NOT IN ('SUCCEEDED', 'SKIPPED')
      ), r AS (
        UPDATE "Run" SET "status" = 'SUCCEEDED', "finishedAt" = ${at}, "progress" = 1,
          "errorCode" = NULL, "errorMessage" = NULL, "errorStage" = NULL, "errorNodeId" = NULL,
          "errorNodeType" = NULL, "errorDetail" = NULL, "errorExceptionType" = NULL,
          "sequence" = "sequence" + ${bump}::integer, "updatedAt" = ${at}
        WHERE "id" = ${runId}::uuid
        RETURNING "id", "ownerId", "webhookUrl", "webhookEvents", "sequence", "modelKey",
          "mode"::text AS "mode", "status"::text AS "status", "startedAt", "finishedAt"
      ), d AS (
        INSERT INTO "WebhookDelivery" ("id", "ownerId", "runId", "webhookId", "url", "event")
        SELECT gen_random_uuid(), r."ownerId", r."id", w."id", w."url", ${event}
          FROM r JOIN "Webhook" w ON w."ownerId" = r."ownerId" AND ${event} = ANY(w."events")
        UNION ALL
        SELECT gen_random_uuid(), r."ownerId", r."id", NULL, r."webhookUrl", ${event}
          FROM r WHERE r."webhookUrl" IS NOT NULL AND ${event} = ANY(r."webhookEvents")
        RETURNING "id"
      )
      SELECT "sequence", "modelKey", "mode", "status",
        -- UTC, as Prisma reads them: the driver would read a bare timestamp as local time.
        "startedAt" AT TIME ZONE 'UTC' AS "startedAt", "finishedAt" AT TIME ZONE 'UTC' AS "finishedAt",
        -- The deliveries it enqueued (the dispatcher is told only then).
        (SELECT count(*)::integer FROM d) AS "webhooks"
      FROM r`);
    const run = rows[0];
    return run
      ? { ...run, sequence: Number(run.sequence), webhooks: Number(run.webhooks), errorCode: null }
      : null;
  }

  /** Writes the final state of the run and its stages, then RUN_FINISHED. */
  async finish(
    runId: string,
    status: 'SUCCEEDED' | 'FAILED' | 'CANCELED',
    error: {
      code: string;
      message: string;
      nodeId?: string | null;
      nodeType?: string | null;
      detail?: string | null;
      exceptionType?: string | null;
    } | null,
    ending: RunEnding = { outputs: [], generate: null },
  ) {
    const { prisma, events } = this.deps;
    // Stage changes still being written land first (a stage that failed is RUNNING there).
    await events
      .flushed(runId)
      .catch((error: unknown) =>
        this.deps.log.warn('a stage change of an ending run was not written', { runId, error }),
      );
    const now = new Date();
    if (status === 'SUCCEEDED') {
      const run = await this.finishSucceeded(runId, now, ending).catch(async (error: unknown) => {
        await discardAll(ending.outputs, this.deps.log);
        throw error;
      });
      if (!run) {
        await discardAll(ending.outputs, this.deps.log);
        return;
      }
      observeRunFinished(run);
      // The events recorded with the end, in order, with the sequences it reserved.
      const published: ChangeEvent[] = [
        ...ending.outputs.map(
          (o): ChangeEvent => ({ type: 'OUTPUT', stage: 'GENERATE', mediaId: o.row.id }),
        ),
        { type: 'RUN_FINISHED' },
      ];
      const first = run.sequence - published.length + 1;
      published.forEach((e, i) => {
        events.publish(runId, first + i, e, run.sequence);
      });
      // After the subscribers' reads of RUN_FINISHED have started (they come first).
      if (run.webhooks > 0) setImmediate(() => this.deps.onWebhooksDue?.());
      return;
    }
    const open = { runId, status: { notIn: ['SUCCEEDED', 'SKIPPED'] as StageStatus[] } };
    // The stage it ended in: the one running, else the first still pending.
    const stages = await prisma.stage.findMany({
      where: open,
      select: { id: true, kind: true, status: true },
      orderBy: { position: 'asc' },
    });
    const failing: { id: string; kind: StageKind } | null =
      stages.find((s) => s.status === 'RUNNING') ??
      stages.find((s) => s.status === 'PENDING') ??
      null;
    // The final state and the refund of the run's credits are one transaction: a run never
    // ends without its refund, nor is refunded twice.
    const updated = await prisma
      .$transaction(async (tx) => {
        if (failing) {
          await tx.stage.update({
            where: { id: failing.id },
            data: {
              status,
              finishedAt: now,
              ...(status === 'FAILED' && error ? { message: error.message } : {}),
            },
          });
        }
        await tx.stage.updateMany({
          where: { ...open, ...(failing ? { id: { not: failing.id } } : {}) },
          data: { status: 'CANCELED', finishedAt: now },
        });
        const run = await tx.run.update({
          where: { id: runId },
          data: {
            // RUN_FINISHED's sequence, bumped with the final state.
            sequence: { increment: 1 },
            status,
            finishedAt: now,
            errorCode: error?.code ?? null,
            errorMessage: error?.message ?? null,
            errorStage: failing?.kind ?? null,
            errorNodeId: error?.nodeId ?? null,
            errorNodeType: error?.nodeType ?? null,
            errorDetail: error?.detail ?? null,
            errorExceptionType: error?.exceptionType ?? null,
          },
        });
        await this.deps.credits.refund(tx, runId);
        // The webhooks of its end, in the same transaction: none is lost to a crash.
        const webhooks = await enqueueRunWebhooks(tx, run);
        return { ...run, webhooks };
      })
      .catch((e: { code?: string }) => {
        if (e.code === 'P2025') return null; // deleted meanwhile
        throw e;
      });
    if (updated) {
      observeRunFinished(updated);
      events.publish(runId, updated.sequence, { type: 'RUN_FINISHED' });
      if (updated.webhooks > 0) this.deps.onWebhooksDue?.();
    }
  }
}

/** Media columns a run's last statement records (OutputRow's, in the table's names). */
const MEDIA_COLUMNS = [
  'id',
  'ownerId',
  'runId',
  'outputIndex',
  'kind',
  'purpose',
  'mimeType',
  'width',
  'height',
  'durationMs',
  'bytes',
  'sha256',
  'hasAlpha',
  'originalName',
  'originalBytes',
  'storageKey',
  'thumbnailKey',
  'thumbnailMime',
  'thumbnailBytes',
] as const satisfies readonly (keyof PreparedOutput['row'])[];

/** Deletes the files of outputs whose rows were not recorded (logged, never thrown). */
async function discardAll(outputs: PreparedOutput[], log: Logger): Promise<void> {
  await Promise.all(
    outputs.map((o) =>
      o
        .discard()
        .catch((error: unknown) =>
          log.warn('could not delete an unrecorded output', { key: o.row.storageKey, error }),
        ),
    ),
  );
}

/** A write nobody awaits: RunEvents keeps its error for the next flushed() of the run. */
const reportedByFlushed = () => {};

async function readAll(storage: Storage, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of storage.read(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
