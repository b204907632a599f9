// Receiving Atelier's webhooks: check a request's signature (Standard Webhooks: webhook-id,
// webhook-timestamp, webhook-signature) with the secret shown when the webhook was made, and
// get the event. Works in Node and in browsers (no Node-only modules).
import { Webhook } from 'standardwebhooks';
import type { AtelierClient } from './client.ts';
import type {
  CreateWebhookMutation,
  WebhookDeliveriesQuery,
  WebhookEvent,
} from './generated/graphql.ts';
import {
  CreateWebhookDocument,
  DeleteWebhookDocument,
  WebhookDeliveriesDocument,
} from './generated/graphql.ts';
import { mutate, query } from './request.ts';

/** What `createWebhook` returns: the webhook and its secret (shown once), or why not. */
export type CreateWebhookResult = CreateWebhookMutation['createWebhook'];
export type WebhookDelivery = WebhookDeliveriesQuery['webhookDeliveries'][number];

/**
 * Adds an account webhook: every run of the account ending with one of `events` (default
 * all) is POSTed to `url`. Keep the returned `secret` for {@link verifyWebhook}.
 */
export async function createWebhook(
  client: AtelierClient,
  input: { url: string; events?: WebhookEvent[] },
): Promise<CreateWebhookResult> {
  return (await mutate(client, 'createWebhook', CreateWebhookDocument, { input })).createWebhook;
}

/** Removes an account webhook; `__typename` says whether it existed. */
export async function deleteWebhook(
  client: AtelierClient,
  id: string,
): Promise<{ __typename: string }> {
  return (await mutate(client, 'deleteWebhook', DeleteWebhookDocument, { id })).deleteWebhook;
}

/** Deliveries (newest first), of one run or all: status, attempts, last answer. */
export async function webhookDeliveries(
  client: AtelierClient,
  options: { run?: string; first?: number } = {},
): Promise<WebhookDelivery[]> {
  return (
    await query(client, 'webhookDeliveries', WebhookDeliveriesDocument, {
      run: options.run ?? null,
      first: options.first ?? null,
    })
  ).webhookDeliveries;
}

/** A webhook body: the event and the run as the API shows it. */
export interface AtelierWebhookEvent {
  type: 'run.succeeded' | 'run.failed' | 'run.canceled';
  timestamp: string;
  data: {
    run: {
      id: string;
      status: 'SUCCEEDED' | 'FAILED' | 'CANCELED';
      mode: string;
      model: string;
      style: string | null;
      prompt: string;
      effectivePrompt: string | null;
      seed: string;
      count: number;
      cost: number;
      error: {
        code: string;
        message: string | null;
        stage: string | null;
        nodeId: string | null;
        nodeType: string | null;
      } | null;
      createdAt: string;
      startedAt: string | null;
      finishedAt: string | null;
      outputs: {
        id: string;
        kind: string;
        mimeType: string;
        width: number | null;
        height: number | null;
        durationMs: number | null;
        bytes: number;
        url: string;
        thumbnailUrl: string | null;
      }[];
    };
  };
}

/** Header access for both plain objects and fetch's Headers. */
type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? '';
  const record = headers as Record<string, string | string[] | undefined>;
  const value =
    record[name] ?? Object.entries(record).find(([key]) => key.toLowerCase() === name)?.[1] ?? '';
  return Array.isArray(value) ? (value[0] ?? '') : value;
}

/**
 * Verifies a webhook request and returns its event. Pass the raw body exactly as received
 * (a string or bytes). Throws when the signature does not match, or the timestamp is more
 * than five minutes off (replays). Use `webhook-id` to drop repeats of a delivery.
 */
export function verifyWebhook(
  secret: string,
  headers: HeaderSource,
  body: string | Uint8Array,
): AtelierWebhookEvent {
  const text = typeof body === 'string' ? body : new TextDecoder().decode(body);
  return new Webhook(secret).verify(text, {
    'webhook-id': header(headers, 'webhook-id'),
    'webhook-timestamp': header(headers, 'webhook-timestamp'),
    'webhook-signature': header(headers, 'webhook-signature'),
  }) as AtelierWebhookEvent;
}
