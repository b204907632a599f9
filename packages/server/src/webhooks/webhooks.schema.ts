// GraphQL for webhooks: the events, account endpoints (createWebhook, deleteWebhook,
// webhooks) and the delivery log (webhookDeliveries).
import { encodeGlobalID } from '@pothos/plugin-relay';
import { builder } from '../builder.ts';
import { ValidationError } from '../domain-errors.ts';
import { Deleted, DeleteResult } from '../errors.ts';
import type { Webhook } from '../generated/prisma/client.ts';
import { RunRef } from '../runs/runs.schema.ts';
import { WebhookEventEnum, WebhookInput } from './webhook-input.ts';
import type { WEBHOOK_EVENTS } from './webhooks.service.ts';

const WebhookRef = builder.prismaNode('Webhook', {
  description: 'An account webhook: told of every run of the account it asked for.',
  id: { field: 'id' },
  fields: (t) => ({
    url: t.exposeString('url', { description: 'The receiver.' }),
    events: t.field({
      type: [WebhookEventEnum],
      description: 'Events it receives.',
      resolve: (w) => w.events as (typeof WEBHOOK_EVENTS)[number][],
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was made.' }),
  }),
});

builder.prismaObject('WebhookDelivery', {
  name: 'WebhookDelivery',
  description:
    'One event for one receiver: its attempts so far. `id` is the `webhook-id` header of every attempt.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The `webhook-id` of its requests.' }),
    url: t.exposeString('url', { description: 'The receiver.' }),
    event: t.field({
      type: WebhookEventEnum,
      description: 'The event.',
      resolve: (d) => d.event as (typeof WEBHOOK_EVENTS)[number],
    }),
    status: t.exposeString('status', {
      description: 'PENDING (more attempts to come), DELIVERED, or FAILED (gave up).',
    }),
    attempts: t.exposeInt('attempts', { description: 'Requests made so far.' }),
    lastStatus: t.exposeInt('lastStatus', {
      nullable: true,
      description: 'HTTP status of the last answer.',
    }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'Why the last attempt failed.',
    }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'When the next attempt is due (while PENDING).',
      resolve: (d) => (d.status === 'PENDING' ? d.nextAttemptAt : null),
    }),
    deliveredAt: t.expose('deliveredAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the receiver accepted it.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the event happened.' }),
    forRunWebhook: t.boolean({
      description:
        "True for the run's own webhook (createRun's `webhook`), false for an account webhook.",
      resolve: (d) => d.webhookId === null,
    }),
    run: t.relation('run', { description: 'The run it is about.' }),
  }),
});

/** A new webhook with its signing secret, shown this once. */
class WebhookCreated {
  constructor(
    readonly webhook: Webhook,
    readonly secret: string,
  ) {}
}

builder.objectType(WebhookCreated, {
  name: 'CreateWebhookSuccess',
  description:
    'The webhook was made. `secret` signs its requests (Standard Webhooks): store it now, it is never shown again.',
  isTypeOf: (value) => value instanceof WebhookCreated,
  fields: (t) => ({
    webhook: t.field({ type: WebhookRef, description: 'The webhook.', resolve: (r) => r.webhook }),
    secret: t.exposeString('secret', {
      description: 'The signing secret, `whsec_...` (see verifyWebhook in the SDK).',
    }),
  }),
});

const CreateWebhookResult = builder.errorUnion('CreateWebhookResult', {
  description: 'The new webhook, or why none was made.',
  types: [WebhookCreated, ValidationError],
});

builder.mutationField('createWebhook', (t) =>
  t.field({
    type: CreateWebhookResult,
    description:
      'Adds an account webhook: every run of the account that ends with one of its events is POSTed to it, signed, retried for more than a day until it answers 2xx.',
    args: { input: t.arg({ type: WebhookInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const created = await ctx.services.webhooks.create(ctx.viewer.accountId, input);
      return new WebhookCreated(created.webhook, created.secret);
    },
  }),
);

builder.mutationField('deleteWebhook', (t) =>
  t.field({
    type: DeleteResult,
    description: 'Removes an account webhook and its pending deliveries.',
    args: { id: t.arg.globalID({ for: WebhookRef, required: true, description: 'Webhook id.' }) },
    resolve: async (_root, args, ctx) => {
      await ctx.services.webhooks.delete(ctx.viewer.accountId, args.id.id);
      return new Deleted(encodeGlobalID('Webhook', args.id.id));
    },
  }),
);

builder.queryField('webhooks', (t) =>
  t.prismaField({
    type: [WebhookRef],
    description: 'Your account webhooks.',
    resolve: (query, _root, _args, ctx) =>
      ctx.prisma.webhook.findMany({
        ...query,
        where: { ownerId: ctx.viewer.accountId },
        orderBy: { createdAt: 'asc' },
      }),
  }),
);

builder.queryField('webhookDeliveries', (t) =>
  t.prismaField({
    type: ['WebhookDelivery'],
    description: 'Your webhook deliveries, newest first: what was sent, and how it went.',
    args: {
      run: t.arg.globalID({ for: RunRef, description: 'Only those about this run.' }),
      first: t.arg.int({ defaultValue: 50, description: 'How many (at most 100).' }),
    },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.webhookDelivery.findMany({
        ...query,
        where: {
          ownerId: ctx.viewer.accountId,
          ...(args.run ? { runId: args.run.id } : {}),
        },
        orderBy: { createdAt: 'desc' },
        take: Math.min(100, Math.max(1, args.first ?? 50)),
      }),
  }),
);
