// The SDK's webhook functions against a real server and a real receiver on loopback: an
// account webhook made with createWebhook and a run's own (createRun's `webhook`) both arrive
// and pass verifyWebhook with their secrets; webhookDeliveries shows them delivered;
// deleteWebhook removes the endpoint.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../server/test/fixtures/runs.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import {
  type AtelierClient,
  createAtelierClient,
  createRun,
  createWebhook,
  deleteWebhook,
  verifyWebhook,
  watchRun,
  webhookDeliveries,
} from '../src/index.ts';

let server: TestServer;
let client: AtelierClient;
let receiver: Server;
let hookUrl = '';
const received: { headers: Record<string, string>; body: string }[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  server = await startTestServer({
    WEBHOOK_ALLOW_PRIVATE: 'true',
    WEBHOOK_RETRY_BASE_MS: '100',
    SANDBOX_STEP_DELAY_MS: '5',
  });
  client = createAtelierClient({ url: server.url, retryWait: async () => {} });
});

afterAll(async () => {
  client?.close();
  await server?.stop();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
});

describe('webhooks through the SDK', () => {
  it('createWebhook and a run webhook: both delivered, both verify; deleteWebhook removes it', async () => {
    const made = await createWebhook(client, {
      url: `${hookUrl}?account`,
      events: ['RUN_SUCCEEDED'],
    });
    if (made.__typename !== 'CreateWebhookSuccess') throw new Error(JSON.stringify(made));
    const created = await createRun(client, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'a paper boat',
      parameters: { steps: 2, width: 256, height: 256 },
      webhook: { url: `${hookUrl}?run` },
    });
    if (created.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    expect(created.webhookSecret).toMatch(/^whsec_/);
    for await (const event of watchRun(client, created.run.id)) {
      if (event.type === 'RUN_FINISHED') break;
    }
    let log = await webhookDeliveries(client, { run: created.run.id });
    await until(async () => {
      log = await webhookDeliveries(client, { run: created.run.id });
      return log.filter((d) => d.status === 'DELIVERED').length >= 2;
    }, 'both deliveries');
    expect(log.map((d) => [d.forRunWebhook, d.status, d.event]).sort()).toEqual([
      [false, 'DELIVERED', 'RUN_SUCCEEDED'],
      [true, 'DELIVERED', 'RUN_SUCCEEDED'],
    ]);
    const secrets = [made.secret, created.webhookSecret!];
    for (const request of received) {
      const verified = secrets.filter((secret) => {
        try {
          return (
            verifyWebhook(secret, request.headers, request.body).data.run.id === created.run.id
          );
        } catch {
          return false;
        }
      });
      expect(verified).toHaveLength(1);
    }
    expect(received).toHaveLength(2);

    expect((await deleteWebhook(client, made.webhook.id)).__typename).toBe('DeleteSuccess');
    expect((await deleteWebhook(client, made.webhook.id)).__typename).toBe('NotFoundError');
  });
});
