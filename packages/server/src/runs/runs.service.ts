// Creating, canceling, retrying and deleting runs. Validation happens here, against the
// model's catalog entry, before anything is written; a run and its four stages are written
// in one transaction.

import { randomBytes } from 'node:crypto';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Config } from '../config.ts';
import { InsufficientCreditsError } from '../credits/credits.errors.ts';
import type { CreditsService } from '../credits/credits.service.ts';
import type { Database } from '../db/database.ts';
import { jsonbText } from '../db/jsonb.ts';
import { NotFoundError, ValidationError } from '../domain-errors.ts';
import { Prisma, type PrismaClient, type Run } from '../generated/prisma/client.ts';
import type {
  GenerationMode,
  OutputBackground,
  OutputFormat,
  StageKind,
} from '../generated/prisma/enums.ts';
import { isUuid } from '../ids.ts';
import type { Catalog, CatalogModel } from '../models/catalog.service.ts';
import { runCost } from '../models/costs.ts';
import { clampVideoSize, optionParameters } from '../models/run-options.ts';
import { stageKindsFor } from '../stages/prompt-stages.ts';
import {
  enqueueRunWebhooks,
  newWebhookSecret,
  validateWebhook,
} from '../webhooks/webhooks.service.ts';
import { type CreateRunRow, runFromJson } from './run-row.ts';
import { QueueLimitError, RunNotActiveError } from './runs.errors.ts';

export const MAX_COUNT = 10;
export const MAX_PROMPT_CHARS = 10_000;
const MAX_SEED = 18_446_744_073_709_551_615n;

const TEXT_ONLY: GenerationMode[] = ['TEXT_TO_IMAGE', 'TEXT_TO_VIDEO', 'TEXT_TO_AUDIO'];

export interface CreateRunRequest {
  mode: GenerationMode;
  model: string;
  prompt: string;
  negativePrompt?: string | null;
  style?: string | null;
  /** Media UUIDs. */
  source?: string | null;
  mask?: string | null;
  references?: string[] | null;
  seed?: string | null;
  count?: number | null;
  parameters?: unknown;
  output?: {
    format?: OutputFormat | null;
    quality?: number | null;
    background?: OutputBackground | null;
  } | null;
  priority?: number | null;
  idempotencyKey?: string | null;
  skipStages?: StageKind[] | null;
  /** Uniform options, mapped to the model's parameters (explicit parameters win). */
  size?: string | null;
  quality?: string | null;
  inputFidelity?: string | null;
  /** The run's own webhook. */
  webhook?: { url: string; events?: readonly string[] | null } | null;
}

/** Prisma selection the GraphQL layer passes through (Pothos' `query`). */
export interface RunQuery {
  select?: Prisma.RunSelect | null;
  include?: Prisma.RunInclude | null;
}

export interface RunListFilter {
  status?: Run['status'][] | null;
  mode?: GenerationMode[] | null;
  model?: string[] | null;
}

function selection(query: RunQuery): RunQuery {
  return {
    ...(query.select ? { select: query.select } : {}),
    ...(query.include ? { include: query.include } : {}),
  };
}

/** A slot offered to a run being created (RunScheduler.reserve): see "atelier_create_run". */
export interface CreateClaim {
  owner: string;
  leaseExpiresAt: Date;
  attemptId: string;
  /** What this process can execute now, as `model/MODE`. */
  capable: string[];
  /** The run was created claimed: execute it. */
  started(run: Run): void;
  /** The run was not created claimed (or not at all): the slot goes back. */
  release(): void;
}

/** The create statement's p_claim (null: create the run QUEUED). */
function claimJson(claim: CreateClaim | null): string | null {
  return claim
    ? JSON.stringify({
        owner: claim.owner,
        lease: claim.leaseExpiresAt.toISOString(),
        attemptId: claim.attemptId,
        capable: claim.capable,
      })
    : null;
}

/** Hooks the service calls after writes (the queue wakes up, events go out). */
export interface RunLifecycle {
  queued(run: Run): Promise<void>;
  /**
   * A ComfyUI slot of this process for the run being created (`capability`: `model/MODE`),
   * when it could execute it and would take a queued run now (the create statement then
   * claims the run itself); null otherwise.
   */
  reserve?(capability: string): CreateClaim | null;
  /** Cancels a run that is executing in this process; false when it is not here. */
  cancelRunning(runId: string): boolean;
  /** Asks the process executing a run (another one, or none yet) to cancel it. */
  cancelElsewhere(runId: string): void;
  canceled(run: Run): Promise<void>;
}

/** A random seed in JavaScript's exact integer range (so it round-trips through JSON). */
/** Random bytes for seeds, drawn 1 KiB at a time: one call per seed was 1% of createRun's CPU. */
let seedPool = Buffer.alloc(0);
let seedOffset = 0;

export function randomSeed(): string {
  if (seedOffset + 8 > seedPool.length) {
    seedPool = randomBytes(1024);
    seedOffset = 0;
  }
  const value = seedPool.readBigUInt64BE(seedOffset);
  seedOffset += 8;
  return (value % BigInt(Number.MAX_SAFE_INTEGER)).toString();
}

function fail(field: string, message: string): never {
  throw new ValidationError(field, message);
}

/**
 * The run's parameters with the uniform options' values added under them (explicit
 * parameters win); only the values that apply to `mode` count.
 */
function withOptions(
  model: CatalogModel,
  mode: GenerationMode,
  req: Pick<CreateRunRequest, 'size' | 'quality' | 'inputFidelity'>,
  given: unknown,
): unknown {
  let mapped: Record<string, unknown>;
  try {
    mapped = optionParameters(model.options, req, model.name);
  } catch (error) {
    const { field, message } = error as { field: string; message: string };
    fail(field, message);
  }
  const applicable = new Set(
    model.parameters.filter((p) => p.modes.includes(mode)).map((p) => p.name),
  );
  for (const name of ['size', 'quality', 'inputFidelity'] as const) {
    const value = req[name];
    if (!value || value === 'AUTO') continue;
    const names = Object.keys(
      (model.options[name] as Record<string, Record<string, unknown>> | undefined)?.[value] ?? {},
    );
    if (names.length && !names.some((n) => applicable.has(n))) {
      fail(name, `${name} ${value} does not apply to ${mode} runs of ${model.name}`);
    }
  }
  const fromOptions = Object.fromEntries(Object.entries(mapped).filter(([n]) => applicable.has(n)));
  if (!Object.keys(fromOptions).length) return given;
  if (
    given !== undefined &&
    given !== null &&
    (typeof given !== 'object' || Array.isArray(given))
  ) {
    return given; // resolveParameters refuses it
  }
  return { ...fromOptions, ...(given as Record<string, unknown> | null) };
}

/** Checks and fills parameters: unknown names, types, ranges, step grid; defaults added. */
export function resolveParameters(
  model: CatalogModel,
  mode: GenerationMode,
  given: unknown,
): Record<string, unknown> {
  if (
    given !== undefined &&
    given !== null &&
    (typeof given !== 'object' || Array.isArray(given))
  ) {
    fail('parameters', 'must be a JSON object of parameter names to values');
  }
  const input = (given ?? {}) as Record<string, unknown>;
  const applicable = model.parameters.filter((p) => p.modes.includes(mode));
  const known = new Set(applicable.map((p) => p.name));
  for (const name of Object.keys(input)) {
    if (!known.has(name)) {
      const names = [...known].join(', ') || 'none';
      fail(
        `parameters.${name}`,
        `${model.key} has no parameter "${name}" in ${mode} (known: ${names})`,
      );
    }
  }
  const resolved: Record<string, unknown> = {};
  for (const p of applicable) {
    const value = input[p.name] ?? p.default;
    const field = `parameters.${p.name}`;
    switch (p.type) {
      case 'INT':
      case 'FLOAT': {
        if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, 'must be a number');
        if (p.type === 'INT' && !Number.isInteger(value)) fail(field, 'must be a whole number');
        const min = p.min ?? Number.NEGATIVE_INFINITY;
        const max = p.max ?? Number.POSITIVE_INFINITY;
        if (value < min || value > max)
          fail(field, `must be between ${min} and ${max}, got ${value}`);
        if (p.step) {
          const steps = (value - min) / p.step;
          if (Math.abs(steps - Math.round(steps)) > 1e-6) {
            fail(field, `must be ${min} plus a multiple of ${p.step}, got ${value}`);
          }
        }
        resolved[p.name] = value;
        break;
      }
      case 'BOOLEAN':
        if (typeof value !== 'boolean') fail(field, 'must be true or false');
        resolved[p.name] = value;
        break;
      case 'STRING':
        if (typeof value !== 'string') fail(field, 'must be a string');
        if (value.length > MAX_PROMPT_CHARS)
          fail(field, `must be at most ${MAX_PROMPT_CHARS} characters`);
        resolved[p.name] = value;
        break;
      case 'ENUM':
        if (typeof value !== 'string' || !p.options?.includes(value)) {
          fail(field, `must be one of ${p.options?.join(', ')}`);
        }
        resolved[p.name] = value;
        break;
    }
  }
  return resolved;
}

export class RunsService {
  private readonly prisma: PrismaClient;
  /** Statements sent by the driver itself (see Database.query): createRun's one statement. */
  private readonly query: Database['query'];

  constructor(
    db: Pick<Database, 'prisma' | 'query'>,
    private readonly catalog: Catalog,
    private readonly credits: CreditsService,
    private readonly limits: Pick<Config['limits'], 'maxQueuedRunsPerAccount'> & {
      /** WEBHOOK_ALLOW_PRIVATE: run webhooks may point at private networks. */
      webhookAllowPrivate?: boolean;
      /** An LLM that sees images is configured: IMAGE_TO_AUDIO may go without a prompt. */
      describeImages?: boolean;
      /**
       * createRun transactions at once (default 6). A burst of createRuns waits here, not
       * for the database's connections, so the run executor's claims and writes (and other
       * requests) still get a connection at once: the first run of a burst of 200 starts
       * while the rest are still being created.
       */
      createConcurrency?: number;
    },
    private readonly lifecycle: RunLifecycle,
  ) {
    this.prisma = db.prisma;
    this.query = db.query;
    this.createSlots = pLimit(limits.createConcurrency ?? 6);
  }

  private readonly createSlots: LimitFunction;

  /**
   * A run by id within `scope` (`{ ownerId }`, or `{}` for admins), with the caller's
   * Prisma selection (Pothos passes the fields the query asked for).
   */
  async find(scope: { ownerId?: string }, id: string, query: RunQuery = {}): Promise<Run | null> {
    if (!isUuid(id)) return null;
    return (await this.prisma.run.findFirst({
      ...selection(query),
      where: { id, ...scope },
    })) as Run | null;
  }

  /** A page of `ownerId`'s runs, newest first, filtered by status, mode and model. */
  async list(
    ownerId: string,
    filter: RunListFilter,
    page: RunQuery & { take?: number; skip?: number; cursor?: Prisma.RunWhereUniqueInput },
  ): Promise<Run[]> {
    return (await this.prisma.run.findMany({
      ...selection(page),
      take: page.take,
      skip: page.skip,
      cursor: page.cursor,
      where: {
        ownerId,
        ...(filter.status ? { status: { in: filter.status } } : {}),
        ...(filter.mode ? { mode: { in: filter.mode } } : {}),
        ...(filter.model ? { modelKey: { in: filter.model } } : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    })) as Run[];
  }

  /** Like `get`, but NotFoundError when missing or not the owner's. */
  private async require(ownerId: string, id: string): Promise<Run> {
    const run = await this.find({ ownerId }, id);
    if (!run) throw new NotFoundError('Run', id);
    return run;
  }

  /** Validates and creates a run (or returns the run of a repeated idempotency key). */
  async create(ownerId: string, req: CreateRunRequest, retryOfId?: string): Promise<Run> {
    if (req.idempotencyKey) {
      if (req.idempotencyKey.length > 200) fail('idempotencyKey', 'must be at most 200 characters');
      const existing = await this.prisma.run.findUnique({
        where: { ownerId_idempotencyKey: { ownerId, idempotencyKey: req.idempotencyKey } },
      });
      if (existing) return existing;
    }
    const model = this.catalog.model(req.model);
    if (!model) fail('model', `Unknown model "${req.model}"`);
    const workflow = model.workflows[req.mode];
    if (!workflow) {
      fail(
        'mode',
        `${model.name} does not support ${req.mode} (it supports ${model.modes.join(', ')})`,
      );
    }
    if (req.style && !this.catalog.style(req.style)) fail('style', `Unknown style "${req.style}"`);
    const prompt = req.prompt.trim();
    if (!prompt) {
      if (req.mode !== 'IMAGE_TO_AUDIO') fail('prompt', 'must not be empty');
      if (!this.limits.describeImages) {
        fail(
          'prompt',
          'IMAGE_TO_AUDIO needs a prompt on this server: no LLM that can describe images is configured (LLM_URL with LLM_VISION=true)',
        );
      }
    }
    if (prompt.length > MAX_PROMPT_CHARS)
      fail('prompt', `must be at most ${MAX_PROMPT_CHARS} characters`);
    if ((req.negativePrompt?.length ?? 0) > MAX_PROMPT_CHARS) {
      fail('negativePrompt', `must be at most ${MAX_PROMPT_CHARS} characters`);
    }

    const count = req.count ?? 1;
    if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) {
      fail('count', `must be between 1 and ${MAX_COUNT}, got ${count}`);
    }
    let seed = req.seed?.trim() || randomSeed();
    if (!/^\d{1,20}$/.test(seed) || BigInt(seed) > MAX_SEED) {
      fail('seed', 'must be an unsigned 64-bit integer written as a decimal string');
    }
    seed = BigInt(seed).toString();
    const priority = req.priority ?? 0;
    if (!Number.isInteger(priority) || priority < -100 || priority > 100) {
      fail('priority', 'must be a whole number between -100 and 100');
    }
    const skipStages = [...new Set(req.skipStages ?? [])];
    if (skipStages.includes('GENERATE')) fail('skipStages', 'GENERATE cannot be skipped');
    if (skipStages.includes('DESCRIBE') && req.mode !== 'IMAGE_TO_AUDIO') {
      fail('skipStages', 'DESCRIBE is a stage of IMAGE_TO_AUDIO runs only');
    }
    if (skipStages.includes('DESCRIBE') && !prompt) {
      fail('skipStages', 'DESCRIBE can be skipped only with a prompt (it would have none)');
    }

    const output = req.output ?? {};
    const format = output.format ?? 'PNG';
    const background = output.background ?? 'AUTO';
    const quality = output.quality ?? null;
    if (quality !== null && (!Number.isInteger(quality) || quality < 1 || quality > 100)) {
      fail('output.quality', 'must be a whole number between 1 and 100');
    }
    if (background === 'TRANSPARENT') {
      if (model.outputKind !== 'IMAGE')
        fail('output.background', 'TRANSPARENT needs an image model');
      if (format === 'JPEG')
        fail('output.background', 'JPEG has no alpha channel: use PNG or WEBP');
    }

    const webhook = req.webhook
      ? validateWebhook('webhook', req.webhook, this.limits.webhookAllowPrivate ?? false)
      : null;
    const parameters = resolveParameters(
      model,
      req.mode,
      withOptions(model, req.mode, req, req.parameters),
    );
    const inputs = await this.validateInputs(ownerId, model, req);
    const adjustments = await this.clampVideo(model, req, parameters);

    const cost = runCost(model, req.mode, parameters, count);

    const max = this.limits.maxQueuedRunsPerAccount;
    const columns = {
      mode: req.mode,
      modelKey: model.key,
      styleKey: req.style || null,
      prompt,
      negativePrompt: req.negativePrompt?.trim() || null,
      parameters,
      adjustments,
      seed,
      count,
      cost,
      outputFormat: format,
      outputQuality: quality,
      outputBackground: background,
      priority,
      webhookUrl: webhook?.url ?? null,
      webhookEvents: webhook ? webhook.events : [],
      webhookSecret: webhook ? newWebhookSecret() : null,
      idempotencyKey: req.idempotencyKey || null,
      skipStages,
      retryOfId: retryOfId ?? null,
    };
    // One statement (the migration create_run_function): the account's row lock, the queue
    // cap, the idempotency key, the balance, the run with its stages and inputs, and the
    // charge. Six round trips of an interactive transaction before, and most of the
    // database client's CPU per createRun. A free slot of this process lets the same
    // statement claim the run (no claim statement before its prompt goes out), unless older
    // queued runs come first. The slot is asked for once this create's turn has come (not
    // while it waits for one, holding a slot queued runs could use), and the lease counts
    // from then.
    const { result, claim } = await this.createSlots(async () => {
      const claim = this.lifecycle.reserve?.(`${model.key}/${req.mode}`) ?? null;
      try {
        const [row] = await this.query<{ result: CreateRunRow }>(Prisma.sql`
          SELECT "atelier_create_run"(
            ${ownerId}::uuid,
            ${jsonbText({ ...columns, createdAt: new Date().toISOString() })}::jsonb,
            ${JSON.stringify(stageKindsFor(req.mode))}::jsonb, ${JSON.stringify(inputs)}::jsonb,
            ${max}::int,
            ${claimJson(claim)}::jsonb
          ) AS result`);
        return { result: row!.result, claim };
      } catch (error) {
        claim?.release();
        throw error;
      }
    });
    try {
      if ('run' in result) {
        const run = runFromJson(result.run);
        if (run.status === 'RUNNING' && claim) {
          claim.started(run);
          // One hop through the next-tick queue: a run without slow prompt stages reaches its
          // POST /prompt in the microtasks that follow, and Node writes a request's bytes in
          // a next-tick callback, which now runs before this answer is serialized (queued
          // behind it, the prompt waited for the answer's 1-3 ms).
          await new Promise<void>((resolve) => process.nextTick(resolve));
          return run;
        }
        claim?.release();
        await this.lifecycle.queued(run);
        return run;
      }
      if ('existing' in result) return runFromJson(result.existing);
      if (result.error === 'ACCOUNT') throw new NotFoundError('Account', ownerId);
      if (result.error === 'QUEUE_LIMIT') throw new QueueLimitError(max);
      throw new InsufficientCreditsError(cost, result.balance ?? 0);
    } finally {
      // An offered slot that did not start the run goes back, whatever happened (release
      // does nothing after started).
      claim?.release();
    }
  }

  /**
   * Keeps a video within the model's maximum area: an IMAGE_TO_VIDEO run without an explicit
   * size takes its source's aspect ratio; a larger size is scaled down keeping its ratio.
   * Changes `parameters` in place and says what changed.
   */
  private async clampVideo(
    model: CatalogModel,
    req: CreateRunRequest,
    parameters: Record<string, unknown>,
  ): Promise<string[]> {
    const maxArea = model.maxVideoArea;
    const width = parameters.width;
    const height = parameters.height;
    if (!maxArea || typeof width !== 'number' || typeof height !== 'number') return [];
    const given = (req.parameters ?? {}) as Record<string, unknown>;
    const explicit = given.width !== undefined || given.height !== undefined;
    let aspect: number | undefined;
    let from = `${width}×${height}`;
    if (req.mode === 'IMAGE_TO_VIDEO' && req.source && !explicit) {
      const source = await this.prisma.media.findUnique({
        where: { id: req.source },
        select: { width: true, height: true },
      });
      if (source?.width && source.height) {
        aspect = source.width / source.height;
        from = `the source's ${source.width}×${source.height}`;
      }
    }
    const spec = model.parameters.find((p) => p.name === 'width');
    const fitted = clampVideoSize({
      width,
      height,
      maxArea,
      multiple: spec?.step ?? 16,
      min: spec?.min ?? 16,
      max: spec?.max ?? 8192,
      ...(aspect ? { aspect } : {}),
    });
    if (fitted.width === width && fitted.height === height) return [];
    parameters.width = fitted.width;
    parameters.height = fitted.height;
    return [
      `Video size ${fitted.width}×${fitted.height} from ${from}: ${model.name} makes at most ${maxArea.toLocaleString('en')} pixels per frame; the aspect ratio is kept (on a ${spec?.step ?? 16}-pixel grid).`,
    ];
  }

  private async validateInputs(ownerId: string, model: CatalogModel, req: CreateRunRequest) {
    const mode = req.mode;
    const bound = model.workflows[mode]?.bindings.images ?? {};
    const references = req.references ?? [];
    if (TEXT_ONLY.includes(mode)) {
      for (const field of ['source', 'mask'] as const) {
        if (req[field]) fail(field, `${mode} takes no ${field} image`);
      }
      if (references.length) fail('references', `${mode} takes no reference images`);
    }
    // IMAGE_TO_AUDIO's source image goes to the DESCRIBE stage, not into the workflow.
    const source = Boolean(bound.source) || mode === 'IMAGE_TO_AUDIO';
    if (source && !req.source) fail('source', `${mode} needs a source image`);
    if (!source && req.source) fail('source', `${mode} takes no source image`);
    if (bound.mask && !req.mask) fail('mask', `${mode} needs a mask image`);
    if (!bound.mask && req.mask) fail('mask', `${mode} takes no mask image`);
    if (bound.references) {
      if (references.length < model.minReferences || references.length > model.maxReferences) {
        fail(
          'references',
          `${model.name} takes ${model.minReferences} to ${model.maxReferences} reference images, got ${references.length}`,
        );
      }
    } else if (references.length) {
      fail('references', `${mode} takes no reference images`);
    }

    const wanted = [
      ...(req.source
        ? [{ field: 'source', id: req.source, role: 'SOURCE' as const, index: 0 }]
        : []),
      ...(req.mask ? [{ field: 'mask', id: req.mask, role: 'MASK' as const, index: 0 }] : []),
      ...references.map((id, index) => ({
        field: `references.${index}`,
        id,
        role: 'REFERENCE' as const,
        index,
      })),
    ];
    for (const w of wanted) if (!isUuid(w.id)) throw new NotFoundError('Media', w.id);
    const media = wanted.length
      ? await this.prisma.media.findMany({
          where: { id: { in: wanted.map((w) => w.id) }, ownerId },
          select: { id: true, kind: true },
        })
      : [];
    const byId = new Map(media.map((m) => [m.id, m]));
    for (const w of wanted) {
      const found = byId.get(w.id);
      if (!found) throw new NotFoundError('Media', w.id);
      if (found.kind !== 'IMAGE')
        fail(w.field, `must be an image, got ${found.kind.toLowerCase()}`);
    }
    return wanted.map((w) => ({ mediaId: w.id, role: w.role, index: w.index }));
  }

  /** Cancels a queued or running run (refunding a queued one at once). */
  async cancel(ownerId: string, id: string): Promise<Run> {
    const run = await this.require(ownerId, id);
    if (run.status === 'QUEUED') {
      const canceled = await this.prisma.$transaction(async (tx) => {
        const { count } = await tx.run.updateMany({
          where: { id, status: 'QUEUED' },
          data: {
            status: 'CANCELED',
            finishedAt: new Date(),
            errorCode: 'CANCELED',
            errorMessage: 'Canceled before it started.',
            sequence: { increment: 1 },
          },
        });
        if (count !== 1) return null;
        await tx.stage.updateMany({
          where: { runId: id, status: { in: ['PENDING', 'RUNNING'] } },
          data: { status: 'CANCELED', finishedAt: new Date() },
        });
        await this.credits.refund(tx, id);
        const ended = await tx.run.findUniqueOrThrow({ where: { id } });
        await enqueueRunWebhooks(tx, ended);
        return ended;
      });
      if (canceled) {
        await this.lifecycle.canceled(canceled);
        return canceled;
      }
      // It was picked up meanwhile: cancel it as a running run.
      return this.cancel(ownerId, id);
    }
    if (run.status === 'RUNNING') {
      // Marked first: the run stays RUNNING until its worker confirms the prompt stopped
      // (ComfyUI finishes the step or node in progress), and a process that resumes it
      // meanwhile (after a crash, or because it is not executing here) cancels it at once.
      await this.prisma.run.updateMany({
        where: { id, status: 'RUNNING' },
        data: { errorCode: 'CANCEL_REQUESTED' },
      });
      // Executing here: stop it; otherwise ask whichever process executes it.
      if (!this.lifecycle.cancelRunning(id)) this.lifecycle.cancelElsewhere(id);
      return run;
    }
    throw new RunNotActiveError(id, run.status);
  }

  /** Creates a new run from an existing one, linked to it; a new seed unless told otherwise. */
  async retry(ownerId: string, id: string, newSeed: boolean): Promise<Run> {
    const run = isUuid(id)
      ? await this.prisma.run.findFirst({
          where: { id, ownerId },
          include: { inputs: { orderBy: [{ role: 'asc' }, { index: 'asc' }] } },
        })
      : null;
    if (!run) throw new NotFoundError('Run', id);
    const byRole = (role: string) =>
      run.inputs.filter((i) => i.role === role).map((i) => i.mediaId);
    return this.create(
      ownerId,
      {
        mode: run.mode,
        model: run.modelKey,
        prompt: run.prompt,
        negativePrompt: run.negativePrompt,
        style: run.styleKey,
        source: byRole('SOURCE')[0] ?? null,
        mask: byRole('MASK')[0] ?? null,
        references: byRole('REFERENCE'),
        seed: newSeed ? null : run.seed,
        count: run.count,
        parameters: run.parameters,
        output: {
          format: run.outputFormat,
          quality: run.outputQuality,
          background: run.outputBackground,
        },
        priority: run.priority,
        skipStages: run.skipStages,
      },
      run.id,
    );
  }

  /**
   * Deletes a run (canceling it first when active; an unfinished run's credits come back);
   * its outputs stay in the gallery.
   */
  async delete(ownerId: string, id: string): Promise<void> {
    const run = await this.require(ownerId, id);
    if (run.status === 'QUEUED' || run.status === 'RUNNING') {
      try {
        await this.cancel(ownerId, id);
      } catch (error) {
        // It finished meanwhile: nothing left to cancel, delete it all the same.
        if (!(error instanceof RunNotActiveError)) throw error;
      }
    }
    await this.prisma.$transaction(async (tx) => {
      const current = await tx.run.findFirst({ where: { id, ownerId }, select: { status: true } });
      if (!current) return;
      // A running run is deleted before its engine could record the end: refund it here.
      if (current.status !== 'SUCCEEDED') await this.credits.refund(tx, id);
      await tx.run.deleteMany({ where: { id, ownerId } });
    });
  }
}
