// Persisted documents: operations sent by hash (extensions.persistedQuery.sha256Hash) over
// HTTP and graphql-ws, the SDK's manifest known by default, apps' manifests from
// PERSISTED_DOCUMENTS, and PERSISTED_ONLY=true refusing every other document.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ConfigError } from '../src/config.ts';
import { CSRF_HEADERS } from './fixtures/upload.ts';
import { startTestServer, type TestServer } from './harness.ts';

const manifest: Record<string, string> = JSON.parse(
  readFileSync(new URL('../src/generated/persisted-documents.json', import.meta.url), 'utf8'),
);
/** The manifest key of the SDK's document that defines `operation`. */
function sdkHash(operation: string): string {
  const entry = Object.entries(manifest).find(
    ([, text]) => text.includes(`${operation} `) || text.includes(`${operation}(`),
  );
  if (!entry) throw new Error(`no SDK document for ${operation}`);
  return entry[0];
}
const persisted = (sha256Hash: string) => ({ persistedQuery: { version: 1, sha256Hash } });

async function post(server: TestServer, body: Record<string, unknown>) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...CSRF_HEADERS },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as {
      data?: Record<string, unknown> | null;
      errors?: { message: string; extensions?: { code?: string } }[];
    },
  };
}

/** Subscribes once over graphql-ws and returns the first result (data or errors). */
async function subscribeOnce(server: TestServer, payload: Record<string, unknown>) {
  const client = createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
  });
  try {
    return await new Promise<{ data?: unknown; errors?: readonly { message: string }[] }>(
      (resolve, reject) => {
        const stop = client.subscribe(payload as never, {
          next: (result) => {
            stop();
            resolve(result as never);
          },
          error: (error) =>
            Array.isArray(error) ? resolve({ errors: error }) : reject(error as Error),
          complete: () => {},
        });
      },
    );
  } finally {
    await client.dispose();
  }
}

describe('by default (any document, SDK documents also by hash)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs an SDK document sent by its hash alone, with or without the sha256: prefix', async () => {
    const hash = sdkHash('query Styles');
    const full = await post(server, { extensions: persisted(hash) });
    expect(full.status).toBe(200);
    expect((full.body.data?.styles as unknown[] | undefined)?.length).toBeGreaterThan(0);
    const bare = await post(server, { extensions: persisted(hash.replace(/^sha256:/, '')) });
    expect(bare.body.data).toEqual(full.body.data);
  });

  it('answers PersistedQueryNotFound for an unknown hash, so a client resends the text', async () => {
    const { body } = await post(server, { extensions: persisted(`sha256:${'0'.repeat(64)}`) });
    expect(body.errors?.[0]?.message).toBe('PersistedQueryNotFound');
    expect(body.data ?? null).toBeNull();
  });

  it('still runs documents sent as text, and refuses a request with neither', async () => {
    const text = await post(server, { query: '{ styles { key } }' });
    expect((text.body.data?.styles as unknown[] | undefined)?.length).toBeGreaterThan(0);
    const neither = await post(server, { variables: {} });
    expect(neither.status).toBe(400);
    expect(neither.body.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
  });

  it('runs a subscription by hash on the socket, and by text when the hash is unknown', async () => {
    const byHash = await subscribeOnce(server, {
      query: '',
      extensions: persisted(sdkHash('subscription QueueUpdated')),
    });
    expect(byHash.errors).toBeUndefined();
    expect(byHash.data).toHaveProperty('queueUpdated.workers');
    const byText = await subscribeOnce(server, {
      query: 'subscription { queueUpdated { queued } }',
      extensions: persisted(`sha256:${'1'.repeat(64)}`),
    });
    expect(byText.data).toHaveProperty('queueUpdated.queued');
  });
});

describe('PERSISTED_ONLY=true with an app manifest in PERSISTED_DOCUMENTS', () => {
  let server: TestServer;
  let dir: string;
  const appDocument = 'query AppStyles { styles { key name } }';
  const appHash = `sha256:${createHash('sha256').update(appDocument).digest('hex')}`;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'atelier-persisted-'));
    const file = path.join(dir, 'app-documents.json');
    await writeFile(file, JSON.stringify({ [appHash]: appDocument }));
    server = await startTestServer({
      SANDBOX_STEP_DELAY_MS: '0',
      PERSISTED_ONLY: 'true',
      PERSISTED_DOCUMENTS: file,
    });
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses a document sent as text with a 400 and runs nothing', async () => {
    const refused = await post(server, {
      query:
        'mutation { createRun(input: { mode: TEXT_TO_IMAGE, model: "flux1-dev", prompt: "x" }) { __typename } }',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('PERSISTED_QUERY_ONLY');
    expect(refused.body.data ?? null).toBeNull();
    const runs = await post(server, {
      extensions: persisted(sdkHash('query Runs')),
      variables: { first: 10 },
    });
    expect(runs.body.errors).toBeUndefined();
    expect(runs.body.data?.runs).toMatchObject({ edges: [] });
  });

  it("runs the SDK's documents and the app's own by hash", async () => {
    const sdk = await post(server, { extensions: persisted(sdkHash('query Styles')) });
    expect((sdk.body.data?.styles as unknown[] | undefined)?.length).toBeGreaterThan(0);
    const app = await post(server, { extensions: persisted(appHash) });
    expect(app.body.errors).toBeUndefined();
    expect((app.body.data?.styles as { name: string }[] | undefined)?.[0]?.name).toEqual(
      expect.any(String),
    );
  });

  it('refuses a text subscription on the socket and runs a persisted one', async () => {
    const text = await subscribeOnce(server, { query: 'subscription { queueUpdated { queued } }' });
    expect(text.errors?.[0]?.message).toMatch(/^PersistedQueryOnly/);
    const unknown = await subscribeOnce(server, {
      query: 'subscription { queueUpdated { queued } }',
      extensions: persisted(`sha256:${'2'.repeat(64)}`),
    });
    expect(unknown.errors?.[0]?.message).toBe('PersistedQueryNotFound');
    const known = await subscribeOnce(server, {
      query: 'subscription { queueUpdated { queued } }',
      extensions: persisted(sdkHash('subscription QueueUpdated')),
    });
    expect(known.data).toHaveProperty('queueUpdated.viewerRuns');
  });
});

it('does not start with a PERSISTED_DOCUMENTS file it cannot read', async () => {
  const missing = path.join(tmpdir(), `atelier-no-such-manifest-${process.pid}.json`);
  const error = await startTestServer({ PERSISTED_DOCUMENTS: missing }).then(
    async (server) => {
      await server.stop();
      return null;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toContain('PERSISTED_DOCUMENTS');
  expect((error as Error).message).toContain(missing);
});
