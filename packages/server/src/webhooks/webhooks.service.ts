// Webhooks: an account's endpoints (createWebhook) and a run's own (createRun's `webhook`),
// told when a run ends. Events go through an outbox table written in the transaction that
// ends the run, so no event is lost to a crash; a dispatcher in every API process sends due
// deliveries, each claimed first (one sender at a time), signed per the Standard Webhooks
// spec (webhook-id, webhook-timestamp, webhook-signature), and retried with backoff for more
// than a day until the receiver answers 2xx. A delivery's id is its `webhook-id` on every
// attempt, so a receiver can drop repeats.
import { randomBytes } from 'node:crypto';
import { encodeGlobalID } from '@pothos/plugin-relay';
import { Webhook as Signer } from 'standardwebhooks';
import type { MediaUrlSigner } from '../auth/media-urls.ts';
import { NotFoundError, ValidationError } from '../domain-errors.ts';
import type { Prisma, PrismaClient, Webhook } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { assertPublicDestination, webhookUrlProblem } from './url-guard.ts';

export const WEBHOOK_EVENTS = ['run.succeeded', 'run.failed', 'run.canceled'] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/** Wait before attempt n+1, in units of the base delay (5 s by default: about 32 h in all). */
const BACKOFF = [1, 6, 24, 60, 120, 360, 720, 1440, 2880, 5760, 5760, 5760];
export const MAX_ATTEMPTS = BACKOFF.length + 1;
const MAX_WEBHOOKS_PER_ACCOUNT = 20;

export interface WebhookOptions {
  /** Lets receivers on loopback and private networks through (tests, closed networks). */
  allowPrivate: boolean;
  /** First retry delay; later ones grow from it (WEBHOOK_RETRY_BASE_MS). */
  retryBaseMs: number;
  /** One attempt's time limit. */
  timeoutMs: number;
}

/** A new signing secret, as Standard Webhooks writes them. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function eventOf(status: string): WebhookEvent | null {
  if (status === 'SUCCEEDED') return 'run.succeeded';
  if (status === 'FAILED') return 'run.failed';
  if (status === 'CANCELED') return 'run.canceled';
  return null;
}

/** Checks a webhook request (URL and events); throws ValidationError naming the field. */
export function validateWebhook(
  field: string,
  input: { url: string; events?: readonly string[] | null },
  allowPrivate: boolean,
): { url: string; events: WebhookEvent[] } {
  const problem = webhookUrlProblem(input.url, allowPrivate);
  if (problem) throw new ValidationError(`${field}.url`, problem);
  const events = [...new Set(input.events?.length ? input.events : WEBHOOK_EVENTS)];
  const unknown = events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length) {
    throw new ValidationError(
      `${field}.events`,
      `unknown event ${unknown.join(', ')}: use ${WEBHOOK_EVENTS.join(', ')}`,
    );
  }
  return { url: new URL(input.url).toString(), events: events as WebhookEvent[] };
}

/**
 * Writes the deliveries a run's end causes, inside the transaction that ends it: one per
 * account endpoint that wants the event, and one for the run's own webhook.
 */
export async function enqueueRunWebhooks(
  tx: Prisma.TransactionClient,
  run: {
    id: string;
    ownerId: string;
    status: string;
    webhookUrl: string | null;
    webhookEvents: string[];
  },
): Promise<number> {
  const event = eventOf(run.status);
  if (!event) return 0;
  const endpoints = await tx.webhook.findMany({
    where: { ownerId: run.ownerId, events: { has: event } },
    select: { id: true, url: true },
  });
  const rows: Prisma.WebhookDeliveryCreateManyInput[] = endpoints.map((w) => ({
    ownerId: run.ownerId,
    runId: run.id,
    webhookId: w.id,
    url: w.url,
    event,
  }));
  if (run.webhookUrl && run.webhookEvents.includes(event)) {
    rows.push({ ownerId: run.ownerId, runId: run.id, webhookId: null, url: run.webhookUrl, event });
  }
  if (!rows.length) return 0;
  await tx.webhookDelivery.createMany({ data: rows });
  return rows.length;
}

export class WebhooksService {
  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: WebhookOptions,
  ) {}

  async create(
    ownerId: string,
    input: { url: string; events?: readonly string[] | null },
  ): Promise<{ webhook: Webhook; secret: string }> {
    const { url, events } = validateWebhook('input', input, this.options.allowPrivate);
    const count = await this.prisma.webhook.count({ where: { ownerId } });
    if (count >= MAX_WEBHOOKS_PER_ACCOUNT) {
      throw new ValidationError(
        'input',
        `an account has at most ${MAX_WEBHOOKS_PER_ACCOUNT} webhooks`,
      );
    }
    const secret = newWebhookSecret();
    const webhook = await this.prisma.webhook.create({ data: { ownerId, url, events, secret } });
    return { webhook, secret };
  }

  async delete(ownerId: string, id: string): Promise<void> {
    const { count } = await this.prisma.webhook.deleteMany({ where: { id, ownerId } });
    if (count === 0) throw new NotFoundError('Webhook', id);
  }
}

/** Sends due deliveries; one per process with the API (it knows the public URL). */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      prisma: PrismaClient;
      mediaUrls: MediaUrlSigner;
      log: Logger;
      options: WebhookOptions;
      /** Base URL for the links in bodies (PUBLIC_URL, else this server's own). */
      baseUrl: () => string;
      pollMs: number;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => this.notify(), this.deps.pollMs);
    this.timer.unref();
    this.notify();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Looks for due deliveries now (a run just ended). */
  notify(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.sweep()
      .catch((error: unknown) => this.deps.log.error('webhook dispatch failed', { error }))
      .finally(() => {
        this.running = false;
        if (this.again) {
          this.again = false;
          this.notify();
        }
      });
  }

  private async sweep(): Promise<void> {
    const { prisma, options } = this.deps;
    const due = await prisma.webhookDelivery.findMany({
      where: { status: 'PENDING', nextAttemptAt: { lte: new Date() } },
      orderBy: { nextAttemptAt: 'asc' },
      take: 20,
      select: { id: true, nextAttemptAt: true },
    });
    for (const d of due) {
      if (this.stopping) return;
      // Claim: push the next attempt past this one's time limit; whoever moved it owns it.
      const lease = new Date(Date.now() + options.timeoutMs * 2 + 5_000);
      const { count } = await prisma.webhookDelivery.updateMany({
        where: { id: d.id, status: 'PENDING', nextAttemptAt: d.nextAttemptAt },
        data: { nextAttemptAt: lease },
      });
      if (count !== 1) continue;
      const sending = this.attempt(d.id).finally(() => this.inFlight.delete(sending));
      this.inFlight.add(sending);
    }
  }

  /** One attempt of a claimed delivery. */
  private async attempt(id: string): Promise<void> {
    const { prisma, options, log } = this.deps;
    const delivery = await prisma.webhookDelivery.findUnique({
      where: { id },
      include: { webhook: { select: { secret: true } }, run: { select: { webhookSecret: true } } },
    });
    if (delivery?.status !== 'PENDING') return;
    const secret = delivery.webhook?.secret ?? delivery.run.webhookSecret;
    const attempts = delivery.attempts + 1;
    let status: number | null = null;
    let error: string | null = null;
    try {
      if (!secret) throw new Error('the webhook has no signing secret');
      const body = delivery.body ?? (await this.render(delivery.runId, delivery.event));
      if (!delivery.body) await prisma.webhookDelivery.update({ where: { id }, data: { body } });
      await assertPublicDestination(delivery.url, options.allowPrivate);
      const timestamp = new Date();
      const signature = new Signer(secret).sign(id, timestamp, body);
      const res = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Atelier-Webhooks/1',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = res.status;
      // Only the status counts: a body that fails to close changes nothing about it.
      await res.body?.cancel().catch(() => {});
      if (status < 200 || status >= 300) error = `the receiver answered HTTP ${status}`;
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    if (!error) {
      await prisma.webhookDelivery.update({
        where: { id },
        data: {
          status: 'DELIVERED',
          attempts,
          lastStatus: status,
          lastError: null,
          deliveredAt: new Date(),
        },
      });
      return;
    }
    const giveUp = attempts >= MAX_ATTEMPTS;
    const wait = options.retryBaseMs * (BACKOFF[attempts - 1] ?? BACKOFF.at(-1)!);
    log.warn('webhook delivery failed', { delivery: id, attempts, error, giveUp });
    await prisma.webhookDelivery.update({
      where: { id },
      data: {
        attempts,
        lastStatus: status,
        lastError: error.slice(0, 500),
        ...(giveUp ? { status: 'FAILED' } : { nextAttemptAt: new Date(Date.now() + wait) }),
      },
    });
  }

  /** The body: the event and the run as the API shows it, with signed output URLs. */
  private async render(runId: string, event: string): Promise<string> {
    const run = await this.deps.prisma.run.findUniqueOrThrow({
      where: { id: runId },
      include: { outputs: { orderBy: { outputIndex: 'asc' } } },
    });
    const base = this.deps.baseUrl().replace(/\/+$/, '');
    const signer = this.deps.mediaUrls;
    return JSON.stringify({
      type: event,
      timestamp: new Date().toISOString(),
      data: {
        run: {
          id: encodeGlobalID('Run', run.id),
          status: run.status,
          mode: run.mode,
          model: run.modelKey,
          style: run.styleKey,
          prompt: run.prompt,
          effectivePrompt: run.effectivePrompt,
          seed: run.seed,
          count: run.count,
          cost: run.cost,
          error: run.errorCode
            ? {
                code: run.errorCode,
                message: run.errorMessage,
                stage: run.errorStage,
                nodeId: run.errorNodeId,
                nodeType: run.errorNodeType,
                detail: run.errorDetail,
                exceptionType: run.errorExceptionType,
              }
            : null,
          createdAt: run.createdAt.toISOString(),
          startedAt: run.startedAt?.toISOString() ?? null,
          finishedAt: run.finishedAt?.toISOString() ?? null,
          outputs: run.outputs.map((m) => ({
            id: encodeGlobalID('Media', m.id),
            kind: m.kind,
            mimeType: m.mimeType,
            width: m.width,
            height: m.height,
            durationMs: m.durationMs,
            bytes: m.bytes,
            url: `${base}${signer.sign(m.id, 'original')}`,
            thumbnailUrl: m.thumbnailKey ? `${base}${signer.sign(m.id, 'thumbnail')}` : null,
          })),
        },
      },
    });
  }
}
