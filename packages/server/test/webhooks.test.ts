// Webhooks against a real HTTP receiver on loopback (WEBHOOK_ALLOW_PRIVATE=true here):
// signed per Standard Webhooks and verified with the SDK's verifyWebhook; a receiver that is
// down for the first attempts still gets the event once; a server restarted between attempts
// still delivers it once; a tampered body fails verification; private receivers are refused
// when not allowed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhook } from '@atelier/sdk';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRun, createRunOk, type RunView, until, watchRunWs } from './fixtures/runs.ts';
import {
  createPersistentState,
  type PersistentState,
  startTestServer,
  type TestServer,
} from './harness.ts';

interface Received {
  headers: Record<string, string>;
  body: string;
  answered: number;
}

/** A receiver that records every request and answers `status()` (or is closed: down). */
class Receiver {
  readonly received: Received[] = [];
  status: (url: string) => number = () => 204;
  private server: Server | null = null;
  port = 0;

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const answered = this.status(req.url ?? '');
        this.received.push({
          headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
          body: Buffer.concat(chunks).toString('utf8'),
          answered,
        });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Requests it accepted (2xx), by webhook-id. */
  accepted(): Received[] {
    return this.received.filter((r) => r.answered >= 200 && r.answered < 300);
  }
}

const T2I = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a lighthouse at dusk',
  parameters: { steps: 2, width: 256, height: 256 },
};

const CREATE_WEBHOOK = `mutation($input: WebhookInput!) {
  createWebhook(input: $input) {
    __typename
    ... on CreateWebhookSuccess { secret webhook { id url events } }
    ... on ValidationError { field message }
  }
}`;

const DELIVERIES = `query($run: ID) {
  webhookDeliveries(run: $run) { id event status attempts lastStatus lastError forRunWebhook url }
}`;

type Delivery = {
  id: string;
  event: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  lastError: string | null;
  forRunWebhook: boolean;
  url: string;
};

const FAST = { WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_RETRY_BASE_MS: '100' };

async function deliveries(server: TestServer, run?: string): Promise<Delivery[]> {
  const result = await server.gql<{ webhookDeliveries: Delivery[] }>(DELIVERIES, { run });
  if (!result.data) throw new Error(JSON.stringify(result.errors));
  return result.data.webhookDeliveries;
}

/** createRun with the run's own webhook; returns the run and the secret shown once. */
async function runWithWebhook(server: TestServer, url: string, events?: string[]) {
  const result = await server.gql<{
    createRun: { __typename: string; run: RunView; webhookSecret: string | null };
  }>(
    `mutation($input: CreateRunInput!) { createRun(input: $input) {
      __typename ... on CreateRunSuccess { webhookSecret run { id status } }
    } }`,
    { input: { ...T2I, webhook: { url, ...(events ? { events } : {}) } } },
  );
  if (result.data?.createRun.__typename !== 'CreateRunSuccess') {
    throw new Error(JSON.stringify(result));
  }
  return { run: result.data.createRun.run, secret: result.data.createRun.webhookSecret! };
}

describe('webhooks', () => {
  const receiver = new Receiver();
  let server: TestServer;

  beforeAll(async () => {
    await receiver.up();
    server = await startTestServer({ ...FAST, SANDBOX_STEP_DELAY_MS: '5' });
  });
  afterAll(async () => {
    await server?.stop();
    await receiver.down();
  });
  afterEach(() => {
    receiver.status = () => 204;
  });

  it("an account webhook and a run's own: both signed, verified with verifyWebhook; a tampered body fails", async () => {
    const made = await server.gql<{
      createWebhook: { __typename: string; secret: string; webhook: { events: string[] } };
    }>(CREATE_WEBHOOK, { input: { url: receiver.url } });
    expect(made.data?.createWebhook.__typename).toBe('CreateWebhookSuccess');
    const accountSecret = made.data!.createWebhook.secret;
    expect(accountSecret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(made.data!.createWebhook.webhook.events).toEqual([
      'RUN_SUCCEEDED',
      'RUN_FAILED',
      'RUN_CANCELED',
    ]);

    const { run, secret } = await runWithWebhook(server, `${receiver.url}?own=1`);
    expect(secret).toMatch(/^whsec_/);
    expect(secret).not.toBe(accountSecret);
    await watchRunWs(server, run.id);
    await until(async () => receiver.accepted().length >= 2, 'both webhooks to arrive');

    expect(receiver.accepted()).toHaveLength(2);
    const [a, b] = receiver.accepted();
    const events = [a!, b!].map((r) => {
      // Each verifies with exactly one of the two secrets.
      const tries = [accountSecret, secret].map((s) => {
        try {
          return verifyWebhook(s, r.headers, r.body);
        } catch {
          return null;
        }
      });
      expect(tries.filter(Boolean)).toHaveLength(1);
      return tries.find(Boolean)!;
    });
    for (const event of events) {
      expect(event.type).toBe('run.succeeded');
      expect(event.data.run.id).toBe(run.id);
      expect(event.data.run.status).toBe('SUCCEEDED');
      expect(event.data.run.outputs).toHaveLength(1);
      const file = await fetch(event.data.run.outputs[0]!.url);
      expect(file.status).toBe(200);
      expect(file.headers.get('content-type')).toBe(event.data.run.outputs[0]!.mimeType);
    }
    expect(a!.headers['content-type']).toBe('application/json');
    expect(a!.headers['webhook-id']).not.toBe(b!.headers['webhook-id']);

    // One byte changed: the signature no longer matches.
    const tampered = a!.body.replace('SUCCEEDED', 'SUCCEEDEX');
    expect(() => verifyWebhook(accountSecret, a!.headers, tampered)).toThrow();
    expect(() => verifyWebhook(secret, a!.headers, tampered)).toThrow();

    const log = await deliveries(server, run.id);
    expect(log.map((d) => [d.forRunWebhook, d.status, d.attempts]).sort()).toEqual([
      [false, 'DELIVERED', 1],
      [true, 'DELIVERED', 1],
    ]);
  });

  it('a receiver failing the first attempts, then answering: delivered once, one webhook-id', async () => {
    const before = receiver.received.length;
    let calls = 0;
    // Only this run's own receiver URL fails, twice.
    receiver.status = (url) => (url.includes('flaky') && ++calls <= 2 ? 503 : 200);
    const { run } = await runWithWebhook(server, `${receiver.url}?flaky=1`, ['RUN_SUCCEEDED']);
    await watchRunWs(server, run.id);
    await until(
      async () =>
        (await deliveries(server, run.id)).some((d) => d.forRunWebhook && d.status === 'DELIVERED'),
      'the delivery to succeed',
    );
    const forRun = receiver.received.slice(before).filter((r) => r.body.includes(run.id));
    const delivered = (await deliveries(server, run.id)).find((d) => d.forRunWebhook)!;
    expect(delivered).toMatchObject({ status: 'DELIVERED', lastStatus: 200 });
    expect(delivered.attempts).toBe(3);
    // Every attempt of that delivery carried the same id, and only one was accepted.
    const attempts = forRun.filter((r) => r.headers['webhook-id'] === delivered.id);
    expect(attempts).toHaveLength(delivered.attempts);
    expect(attempts.filter((r) => r.answered === 200)).toHaveLength(1);
  });

  it('run.canceled reaches a webhook that asked only for it', async () => {
    const made = await server.gql<{ createWebhook: { __typename: string } }>(CREATE_WEBHOOK, {
      input: { url: `${receiver.url}?canceled=1`, events: ['RUN_CANCELED'] },
    });
    expect(made.data?.createWebhook.__typename).toBe('CreateWebhookSuccess');
    const run = await createRunOk(server, {
      ...T2I,
      parameters: { steps: 50, width: 256, height: 256 },
    });
    await server.gql('mutation($id: ID!) { cancelRun(id: $id) { __typename } }', { id: run.id });
    await until(
      async () =>
        (await deliveries(server, run.id)).some(
          (d) => d.url.includes('canceled=1') && d.status === 'DELIVERED',
        ),
      'run.canceled to be delivered',
    );
    const log = await deliveries(server, run.id);
    expect(log.filter((d) => d.url.includes('canceled=1')).map((d) => d.event)).toEqual([
      'RUN_CANCELED',
    ]);
  });
});

describe('webhooks across a restart', () => {
  let state: PersistentState;
  const receiver = new Receiver();

  beforeAll(async () => {
    state = await createPersistentState();
  });
  afterAll(async () => {
    await receiver.down();
    await state?.dispose();
  });

  it('the server restarted between attempts still delivers the event, once', async () => {
    await receiver.up(); // to learn a free port, then down: attempts fail
    await receiver.down();
    let server = await startTestServer({ ...FAST, SANDBOX_STEP_DELAY_MS: '5' }, state);
    const { run, secret } = await runWithWebhook(server, receiver.url, ['RUN_SUCCEEDED']);
    await watchRunWs(server, run.id);
    await until(
      async () => ((await deliveries(server, run.id))[0]?.attempts ?? 0) >= 1,
      'a first attempt to fail',
    );
    expect((await deliveries(server, run.id))[0]).toMatchObject({ status: 'PENDING' });
    await server.stop();

    await receiver.up();
    server = await startTestServer({ ...FAST, SANDBOX_STEP_DELAY_MS: '5' }, state);
    try {
      await until(
        async () => (await deliveries(server, run.id))[0]?.status === 'DELIVERED',
        'the delivery after the restart',
      );
      expect(receiver.accepted()).toHaveLength(1);
      const event = verifyWebhook(
        secret,
        receiver.accepted()[0]!.headers,
        receiver.accepted()[0]!.body,
      );
      expect(event.data.run.id).toBe(run.id);
    } finally {
      await server.stop();
    }
  });
});

describe('webhook receivers on private networks', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ WEBHOOK_ALLOW_PRIVATE: 'false' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('are refused unless WEBHOOK_ALLOW_PRIVATE=true', async () => {
    for (const url of [
      'http://127.0.0.1:9/hook',
      'http://localhost/hook',
      'http://10.1.2.3/hook',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]/hook',
      'ftp://example.com/hook',
    ]) {
      const made = await server.gql<{ createWebhook: { __typename: string; field: string } }>(
        CREATE_WEBHOOK,
        { input: { url } },
      );
      expect(made.data?.createWebhook, url).toMatchObject({
        __typename: 'ValidationError',
        field: 'input.url',
      });
    }
    const refused = await createRun(server, { ...T2I, webhook: { url: 'http://192.168.1.10/x' } });
    expect(refused).toMatchObject({ __typename: 'ValidationError', field: 'webhook.url' });
    const ok = await server.gql<{ createWebhook: { __typename: string } }>(CREATE_WEBHOOK, {
      input: { url: 'https://hooks.example.com/atelier' },
    });
    expect(ok.data?.createWebhook.__typename).toBe('CreateWebhookSuccess');
  });
});
