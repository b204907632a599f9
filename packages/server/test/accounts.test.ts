// Accounts in AUTH_MODE=keys, end to end: two accounts through real HTTP, graphql-ws and SSE
// against a started server. Every object of one account is invisible to the other exactly
// like a missing id (same answer, only the id differs); queue counts stay global; an admin key
// reads anything by id but lists only its own; /media wants a valid signature or the owner's
// (or an admin's) key; missing, unknown and revoked keys are refused.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { MediaUrlSigner } from '../src/auth/media-urls.ts';
import { noisyPng, solid } from './fixtures/images.ts';
import {
  createRun,
  createRunOk,
  getRun,
  holdQueue,
  RUN_EVENTS,
  type RunView,
  until,
  watchRunWs,
} from './fixtures/runs.ts';
import { type UploadedMedia, uploadOk, uuidOf } from './fixtures/upload.ts';
import { startTestServer, type TestServer } from './harness.ts';

const T2I = {
  mode: 'TEXT_TO_IMAGE',
  model: 'flux1-dev',
  prompt: 'a lighthouse at dusk',
  parameters: { steps: 1, width: 256, height: 256 },
};

type GqlError = { message: string; extensions?: Record<string, unknown> };

/** A well-formed global id of `type` that names nothing. */
const missingId = (type: 'Run' | 'Media' | 'Account' | 'ApiKey') =>
  Buffer.from(`${type}:${randomUUID()}`).toString('base64');

/** The UUID inside a global id. */
const uuidIn = (globalId: string) =>
  Buffer.from(globalId, 'base64').toString('utf8').split(':')[1] ?? '';

/**
 * An answer with the looked-up id (global and UUID form) replaced by a placeholder, so the
 * answer about someone else's object can be compared with the answer about a missing one.
 */
function withoutId(value: unknown, globalId: string): unknown {
  const uuid = uuidIn(globalId);
  return JSON.parse(JSON.stringify(value).replaceAll(globalId, '<id>').replaceAll(uuid, '<id>'));
}

/** A random string that looks like a key but is not one. */
function fakeKey(): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
  let key = 'atl_';
  for (let i = 0; i < 40; i++) key += alphabet[Math.floor(Math.random() * alphabet.length)];
  return key;
}

interface SubscriptionOutcome {
  /** `data` of every `next` message. */
  data: unknown[];
  /** GraphQL errors, from `next` payloads or a graphql-ws `error` message. */
  errors: GqlError[];
  /** The close code when the socket was closed instead. */
  closeCode: number | null;
}

/** One operation over graphql-ws until it completes, errors or the socket closes. */
function overWebSocket(
  server: TestServer,
  query: string,
  variables: Record<string, unknown>,
  apiKey?: string,
): Promise<SubscriptionOutcome> {
  const outcome: SubscriptionOutcome = { data: [], errors: [], closeCode: null };
  const client = createClient({
    url: `${server.url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    ...(apiKey ? { connectionParams: { authorization: `Bearer ${apiKey}` } } : {}),
  });
  return new Promise<SubscriptionOutcome>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no end after 15 s: ${JSON.stringify(outcome)}`)),
      15_000,
    );
    const done = () => {
      clearTimeout(timer);
      resolve(outcome);
    };
    client.subscribe(
      { query, variables },
      {
        next: (value) => {
          if (value.data) outcome.data.push(value.data);
          if (value.errors) outcome.errors.push(...(value.errors as unknown as GqlError[]));
        },
        error: (error) => {
          if (Array.isArray(error)) outcome.errors.push(...(error as GqlError[]));
          else if (typeof (error as { code?: unknown }).code === 'number')
            outcome.closeCode = (error as { code: number }).code;
          else outcome.errors.push({ message: String(error) });
          done();
        },
        complete: done,
      },
    );
  }).finally(() => client.dispose());
}

/** One operation over GraphQL over SSE; collects `next` payloads until `complete`. */
async function overSse(
  server: TestServer,
  query: string,
  variables: Record<string, unknown>,
  apiKey?: string,
): Promise<{ status: number; data: unknown[]; errors: GqlError[] }> {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  const data: unknown[] = [];
  const errors: GqlError[] = [];
  if (!res.headers.get('content-type')?.includes('text/event-stream')) {
    const body = JSON.parse(text) as { errors?: GqlError[] };
    return { status: res.status, data, errors: body.errors ?? [] };
  }
  for (const block of text.split('\n\n')) {
    const payload = block
      .split('\n')
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).trimStart())
      .join('\n');
    if (!payload) continue;
    const parsed = JSON.parse(payload) as { data?: unknown; errors?: GqlError[] };
    if (parsed.data) data.push(parsed.data);
    if (parsed.errors) errors.push(...parsed.errors);
  }
  return { status: res.status, data, errors };
}

/** A GET of /media with an optional key. */
async function getMedia(
  server: TestServer,
  pathAndQuery: string,
  apiKey?: string,
): Promise<{ status: number; bytes: number }> {
  const res = await fetch(new URL(pathAndQuery, server.url), {
    headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
  });
  return { status: res.status, bytes: (await res.arrayBuffer()).byteLength };
}

/** POST /graphql `{ viewer { ... } }` with the key (or none); the HTTP status and body. */
async function viewerOverHttp(server: TestServer, apiKey?: string) {
  const res = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
    },
    body: JSON.stringify({ query: '{ viewer { account { name } } }' }),
  });
  return {
    status: res.status,
    wwwAuthenticate: res.headers.get('www-authenticate'),
    body: (await res.json()) as {
      data?: { viewer: { account: { name: string } } };
      errors?: GqlError[];
    },
  };
}

const RESULT_FIELDS = /* GraphQL */ `
  __typename
  ... on Error { code message }
  ... on NotFoundError { entity id }
`;

describe('accounts in AUTH_MODE=keys', () => {
  let server: TestServer;
  let alice: { key: string; accountId: string; prefix: string };
  let bob: { key: string; accountId: string; prefix: string };
  let root: { key: string; accountId: string; prefix: string };
  let aliceImage: Buffer;
  /** Alice's upload, the source of her finished run. */
  let aliceUpload: UploadedMedia;
  /** Alice's finished image-to-image run (with an idempotency key). */
  let aliceDone: RunView;
  const aliceIdempotencyKey = `alice-${randomUUID()}`;
  /** Alice's two runs that hold the sandbox worker (RUNNING, the first hanging on it). */
  let aliceRunning: string[];
  /** Alice's run waiting behind them (QUEUED). */
  let aliceQueued: RunView;

  const I2I = () => ({
    mode: 'IMAGE_TO_IMAGE',
    model: 'flux1-dev',
    prompt: 'the same scene in winter',
    source: aliceUpload.id,
    parameters: { steps: 2, megapixels: 0.25 },
  });

  beforeAll(async () => {
    server = await startTestServer({ AUTH_MODE: 'keys', SANDBOX_STEP_DELAY_MS: '0' });
    [alice, bob, root] = await Promise.all([
      server.createKey({ account: 'alice', credits: 1000 }),
      server.createKey({ account: 'bob', credits: 1000 }),
      server.createKey({ account: 'root', credits: 1000, admin: true }),
    ]);
    aliceImage = await noisyPng(200, 200);
    aliceUpload = await uploadOk(server.url, aliceImage, { apiKey: alice.key });

    // A finished run whose input is Alice's upload.
    aliceDone = await createRunOk(
      server,
      { ...I2I(), idempotencyKey: aliceIdempotencyKey },
      { apiKey: alice.key },
    );
    const events = await watchRunWs(server, aliceDone.id, { apiKey: alice.key });
    aliceDone = events.at(-1)!.run;
    expect(aliceDone.status).toBe('SUCCEEDED');
    expect(aliceDone.outputs.length).toBe(1);

    // Hold the single sandbox worker: its two slots get Alice's runs, the first of which
    // hangs on the worker, so her third run stays QUEUED until the end of the file.
    aliceRunning = (await holdQueue(server, { apiKey: alice.key })).blockers;
    aliceQueued = await createRunOk(server, T2I, { apiKey: alice.key });
    expect(aliceQueued.status).toBe('QUEUED');
  });

  afterAll(async () => {
    server?.app.sandbox?.releaseHang();
    await server?.stop();
  });

  describe('keys', () => {
    it('each key acts as its own account, over HTTP and graphql-ws', async () => {
      const viewer = `{ viewer { account { id name credits } apiKey { prefix scopes } scopes } }`;
      const [a, b, r] = await Promise.all([
        server.gql(viewer, {}, { apiKey: alice.key }),
        server.gql(viewer, {}, { apiKey: bob.key }),
        server.gql(viewer, {}, { apiKey: root.key }),
      ]);
      expect(a.data).toMatchObject({
        viewer: {
          account: { name: 'alice' },
          apiKey: { prefix: alice.prefix, scopes: ['user'] },
          scopes: ['user'],
        },
      });
      expect(b.data).toMatchObject({ viewer: { account: { name: 'bob', credits: 1000 } } });
      expect(r.data).toMatchObject({
        viewer: { account: { name: 'root' }, scopes: ['user', 'admin'] },
      });
      const overWs = await overWebSocket(server, viewer, {}, bob.key);
      expect(overWs.closeCode).toBeNull();
      expect(overWs.data).toMatchObject([{ viewer: { account: { name: 'bob' } } }]);
    });

    it('no key or an unknown key: 401 over HTTP, the socket closed with 4403', async () => {
      for (const key of [undefined, fakeKey()]) {
        const http = await viewerOverHttp(server, key);
        expect(http.status).toBe(401);
        expect(http.wwwAuthenticate).toBe('Bearer realm="atelier"');
        expect(http.body.data).toBeUndefined();
        expect(http.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');

        const ws = await overWebSocket(server, '{ viewer { account { name } } }', {}, key);
        expect(ws.closeCode).toBe(4403);
        expect(ws.data).toEqual([]);
      }
    });

    it('a revoked key is refused within the key cache time', async () => {
      // A second key of Alice's, so revoking it leaves her first key working.
      const spare = await server.createKey({ account: 'alice' });
      expect((await viewerOverHttp(server, spare.key)).status).toBe(200);

      const REVOKE = `mutation($prefix: String!) {
        revokeApiKey(prefix: $prefix) {
          __typename ... on Error { code } ... on RevokeApiKeySuccess { apiKey { prefix revokedAt } }
        }
      }`;
      // Only administrators revoke keys.
      const byBob = await server.gql<{ revokeApiKey: unknown }>(
        REVOKE,
        { prefix: spare.prefix },
        { apiKey: bob.key },
      );
      expect(byBob.data?.revokeApiKey).toEqual({ __typename: 'ForbiddenError', code: 'FORBIDDEN' });
      expect((await viewerOverHttp(server, spare.key)).status).toBe(200);

      const byRoot = await server.gql<{
        revokeApiKey: { __typename: string; apiKey: { prefix: string; revokedAt: string } };
      }>(REVOKE, { prefix: spare.prefix }, { apiKey: root.key });
      expect(byRoot.data?.revokeApiKey).toMatchObject({
        __typename: 'RevokeApiKeySuccess',
        apiKey: { prefix: spare.prefix, revokedAt: expect.any(String) },
      });
      // The server caches keys for 10 s: the key must be refused within that (plus slack).
      await until(
        async () => (await viewerOverHttp(server, spare.key)).status === 401,
        'the revoked key to be refused',
        12_000,
      );
      expect((await overWebSocket(server, '{ viewer { scopes } }', {}, spare.key)).closeCode).toBe(
        4403,
      );
      // Alice's other key is unaffected.
      expect((await viewerOverHttp(server, alice.key)).body.data?.viewer.account.name).toBe(
        'alice',
      );
    });
  });

  describe("Bob cannot see or touch Alice's objects (exactly like missing ones); Alice can", () => {
    it('runs: the list', async () => {
      const LIST = `{ runs(first: 100) { edges { node { id } } } }`;
      const ids = async (apiKey: string) =>
        (
          await server.gql<{ runs: { edges: { node: { id: string } }[] } }>(LIST, {}, { apiKey })
        ).data!.runs.edges.map((e) => e.node.id);
      const aliceIds = [aliceDone.id, ...aliceRunning, aliceQueued.id];
      expect(await ids(alice.key)).toEqual(expect.arrayContaining(aliceIds));
      const bobs = await ids(bob.key);
      for (const id of aliceIds) expect(bobs).not.toContain(id);
    });

    it('run(id): null, with no error', async () => {
      const RUN = `query($id: ID!) { run(id: $id) { id status } }`;
      for (const id of [aliceDone.id, aliceQueued.id]) {
        const mine = await server.gql(RUN, { id }, { apiKey: alice.key });
        expect(mine).toEqual({ data: { run: { id, status: expect.any(String) } } });
        const missing = missingId('Run');
        const [theirs, none] = await Promise.all([
          server.gql(RUN, { id }, { apiKey: bob.key }),
          server.gql(RUN, { id: missing }, { apiKey: bob.key }),
        ]);
        expect(theirs).toEqual({ data: { run: null } });
        expect(theirs).toEqual(none);
      }
    });

    it('media(id): null, with no error (uploads and outputs)', async () => {
      const MEDIA = `query($id: ID!) { media(id: $id) { id sha256 } }`;
      for (const id of [aliceUpload.id, aliceDone.outputs[0]!.id]) {
        const mine = await server.gql(MEDIA, { id }, { apiKey: alice.key });
        expect(mine).toEqual({ data: { media: { id, sha256: expect.any(String) } } });
        const [theirs, none] = await Promise.all([
          server.gql(MEDIA, { id }, { apiKey: bob.key }),
          server.gql(MEDIA, { id: missingId('Media') }, { apiKey: bob.key }),
        ]);
        expect(theirs).toEqual({ data: { media: null } });
        expect(theirs).toEqual(none);
      }
    });

    /** Global ids of Alice's objects of every Node type, with a missing id of each type. */
    const aliceNodes = async () => {
      const me = await server.gql<{ viewer: { account: { id: string }; apiKey: { id: string } } }>(
        `{ viewer { account { id } apiKey { id } } }`,
        {},
        { apiKey: alice.key },
      );
      return [
        [aliceDone.id, missingId('Run')],
        [aliceQueued.id, missingId('Run')],
        [aliceUpload.id, missingId('Media')],
        [aliceDone.outputs[0]!.id, missingId('Media')],
        [me.data!.viewer.account.id, missingId('Account')],
        [me.data!.viewer.apiKey.id, missingId('ApiKey')],
      ] as const;
    };
    const NODE = `query($id: ID!) { node(id: $id) { id } }`;
    const NODES = `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`;

    it("node(id) and nodes(ids): Bob gets what a missing id gets (runs, media, Alice's account and key)", async () => {
      const pairs = await aliceNodes();
      for (const [id, missing] of pairs) {
        expect(await server.gql(NODE, { id }, { apiKey: alice.key })).toEqual({
          data: { node: { id } },
        });
        const [theirs, none] = await Promise.all([
          server.gql(NODE, { id }, { apiKey: bob.key }),
          server.gql(NODE, { id: missing }, { apiKey: bob.key }),
        ]);
        expect(theirs.data).toEqual({ node: null });
        expect(withoutId(theirs, id)).toEqual(withoutId(none, missing));
      }
      const ids = pairs.map(([id]) => id);
      expect(await server.gql(NODES, { ids }, { apiKey: alice.key })).toEqual({
        data: { nodes: ids.map((id) => ({ id })) },
      });
      const [theirs, none] = await Promise.all([
        server.gql<{ nodes: unknown[] | null }>(NODES, { ids }, { apiKey: bob.key }),
        server.gql<{ nodes: unknown[] | null }>(
          NODES,
          { ids: pairs.map(([, missing]) => missing) },
          { apiKey: bob.key },
        ),
      ]);
      expect(JSON.stringify(theirs)).not.toContain('"id"');
      expect(theirs).toEqual(none);
    });

    it('node(id) and nodes(ids): null, without an error, for unknown and others’ ids', async () => {
      // Not an INTERNAL_SERVER_ERROR from a loader that throws on "no record" (node), nor a
      // whole list lost for one such id (nodes).
      const pairs = await aliceNodes();
      for (const [id, missing] of pairs) {
        for (const unknown of [id, missing]) {
          expect(await server.gql(NODE, { id: unknown }, { apiKey: bob.key })).toEqual({
            data: { node: null },
          });
        }
      }
      const ids = pairs.flat();
      expect(await server.gql(NODES, { ids }, { apiKey: alice.key })).toEqual({
        data: { nodes: pairs.flatMap(([id]) => [{ id }, null]) },
      });
      expect(await server.gql(NODES, { ids }, { apiKey: bob.key })).toEqual({
        data: { nodes: ids.map(() => null) },
      });
    });

    it('gallery: without her media', async () => {
      const GALLERY = `{ gallery(first: 100) { edges { node { id } } } }`;
      const ids = async (apiKey: string) =>
        (
          await server.gql<{ gallery: { edges: { node: { id: string } }[] } }>(
            GALLERY,
            {},
            { apiKey },
          )
        ).data!.gallery.edges.map((e) => e.node.id);
      const hers = [aliceUpload.id, aliceDone.outputs[0]!.id];
      expect(await ids(alice.key)).toEqual(expect.arrayContaining(hers));
      const bobs = await ids(bob.key);
      for (const id of hers) expect(bobs).not.toContain(id);
    });

    it('queue: counts are global, viewerRuns and positions only the viewer’s own', async () => {
      const bobQueued = await createRunOk(server, T2I, { apiKey: bob.key });
      expect(bobQueued.status).toBe('QUEUED');
      const QUEUE = `{ queue { queued running viewerRuns { run { id status } position } } }`;
      type Queue = {
        queued: number;
        running: number;
        viewerRuns: { run: { id: string; status: string }; position: number | null }[];
      };
      // The worker is held, so nothing moves between the two reads.
      const aliceView = (await server.gql<{ queue: Queue }>(QUEUE, {}, { apiKey: alice.key })).data!
        .queue;
      const bobView = (await server.gql<{ queue: Queue }>(QUEUE, {}, { apiKey: bob.key })).data!
        .queue;
      expect(bobView.queued).toBe(aliceView.queued);
      expect(bobView.running).toBe(aliceView.running);
      // Both accounts' runs are counted: Alice's two running ones, her and Bob's queued ones.
      expect(aliceView.running).toBeGreaterThanOrEqual(2);
      expect(aliceView.queued).toBeGreaterThanOrEqual(2);

      expect(aliceView.viewerRuns).toEqual([
        ...aliceRunning.map((id) => ({ run: { id, status: 'RUNNING' }, position: null })),
        { run: { id: aliceQueued.id, status: 'QUEUED' }, position: 1 },
      ]);
      // Bob sees only his run, at its place in the whole queue (behind Alice's).
      expect(bobView.viewerRuns).toEqual([
        { run: { id: bobQueued.id, status: 'QUEUED' }, position: 2 },
      ]);
      // Not kept: it would run (and take Bob's credits) once the worker is released.
      await server.gql(
        `mutation($id: ID!) { cancelRun(id: $id) { __typename } }`,
        { id: bobQueued.id },
        { apiKey: bob.key },
      );
    });

    it('runEvents over graphql-ws and SSE: NOT_FOUND, like a missing run, and no SNAPSHOT', async () => {
      for (const id of [aliceDone.id, aliceQueued.id]) {
        const missing = missingId('Run');
        const [ws, wsMissing, sse, sseMissing] = await Promise.all([
          overWebSocket(server, RUN_EVENTS, { id }, bob.key),
          overWebSocket(server, RUN_EVENTS, { id: missing }, bob.key),
          overSse(server, RUN_EVENTS, { id }, bob.key),
          overSse(server, RUN_EVENTS, { id: missing }, bob.key),
        ]);
        for (const outcome of [ws, sse]) {
          expect(outcome.data).toEqual([]);
          expect(outcome.errors).toHaveLength(1);
          expect(outcome.errors[0]?.extensions?.code).toBe('NOT_FOUND');
        }
        expect(ws.closeCode).toBeNull();
        expect(sse.status).toBe(200);
        expect(withoutId(ws, id)).toEqual(withoutId(wsMissing, missing));
        expect(withoutId(sse, id)).toEqual(withoutId(sseMissing, missing));
      }
      // Alice gets the SNAPSHOT of her finished run (and then the end) on both transports.
      const [ws, sse] = await Promise.all([
        overWebSocket(server, RUN_EVENTS, { id: aliceDone.id }, alice.key),
        overSse(server, RUN_EVENTS, { id: aliceDone.id }, alice.key),
      ]);
      for (const outcome of [ws, sse]) {
        expect(outcome.errors).toEqual([]);
        expect(outcome.data).toMatchObject([
          { runEvents: { type: 'SNAPSHOT', run: { id: aliceDone.id, status: 'SUCCEEDED' } } },
        ]);
      }
    });

    it('cancelRun, retryRun, deleteRun: NotFoundError, like a missing run; nothing changes', async () => {
      const runsBefore = await server.app.db.prisma.run.count();
      const cases: [string, string, string[]][] = [
        [
          'cancelRun',
          `mutation($id: ID!) { cancelRun(id: $id) { ${RESULT_FIELDS} } }`,
          [aliceQueued.id, aliceRunning[0]!],
        ],
        [
          'retryRun',
          `mutation($id: ID!) { retryRun(id: $id) { ${RESULT_FIELDS} } }`,
          [aliceDone.id],
        ],
        [
          'deleteRun',
          `mutation($id: ID!) { deleteRun(id: $id) { ${RESULT_FIELDS} } }`,
          [aliceDone.id, aliceQueued.id, aliceRunning[1]!],
        ],
      ];
      for (const [field, mutation, ids] of cases) {
        for (const id of ids) {
          const missing = missingId('Run');
          const [theirs, none] = await Promise.all([
            server.gql<Record<string, unknown>>(mutation, { id }, { apiKey: bob.key }),
            server.gql<Record<string, unknown>>(mutation, { id: missing }, { apiKey: bob.key }),
          ]);
          expect(theirs.errors, field).toBeUndefined();
          expect(theirs.data?.[field], field).toMatchObject({
            __typename: 'NotFoundError',
            code: 'NOT_FOUND',
            entity: 'Run',
            id,
          });
          expect(withoutId(theirs, id), field).toEqual(withoutId(none, missing));
        }
      }
      expect(await server.app.db.prisma.run.count()).toBe(runsBefore);
      // Alice's runs are as they were.
      const status = async (id: string) => (await getRun(server, id, { apiKey: alice.key })).status;
      expect(await status(aliceQueued.id)).toBe('QUEUED');
      expect(await Promise.all(aliceRunning.map(status))).toEqual(['RUNNING', 'RUNNING']);
      expect(await status(aliceDone.id)).toBe('SUCCEEDED');
    });

    it('deleteMedia: NotFoundError, like missing media, even for media in use', async () => {
      const DELETE = `mutation($id: ID!) { deleteMedia(id: $id) { ${RESULT_FIELDS} } }`;
      for (const id of [aliceUpload.id, aliceDone.outputs[0]!.id]) {
        const missing = missingId('Media');
        const [theirs, none] = await Promise.all([
          server.gql<{ deleteMedia: unknown }>(DELETE, { id }, { apiKey: bob.key }),
          server.gql<{ deleteMedia: unknown }>(DELETE, { id: missing }, { apiKey: bob.key }),
        ]);
        // Alice's upload is her finished run's source: anything but NOT_FOUND (such as
        // MediaInUseError) would tell Bob it exists.
        expect(theirs.data?.deleteMedia).toMatchObject({
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          entity: 'Media',
          id,
        });
        expect(withoutId(theirs, id)).toEqual(withoutId(none, missing));
      }
      // Alice sees her upload is in use (it exists for her).
      const mine = await server.gql<{ deleteMedia: unknown }>(
        DELETE,
        { id: aliceUpload.id },
        { apiKey: alice.key },
      );
      expect(mine.data?.deleteMedia).toMatchObject({ __typename: 'MediaInUseError' });
    });

    it('idempotency keys are per account: Bob reusing Alice’s key gets a new run of his own', async () => {
      const bobInput = { ...T2I, idempotencyKey: aliceIdempotencyKey };
      const first = await createRunOk(server, bobInput, { apiKey: bob.key });
      expect(first.id).not.toBe(aliceDone.id);
      // The key still deduplicates within Bob's account...
      expect((await createRunOk(server, bobInput, { apiKey: bob.key })).id).toBe(first.id);
      // ...and within Alice's.
      const aliceInput = { ...I2I(), idempotencyKey: aliceIdempotencyKey };
      expect((await createRunOk(server, aliceInput, { apiKey: alice.key })).id).toBe(aliceDone.id);
      // The run is Bob's: Alice cannot see it, Bob can.
      const RUN = `query($id: ID!) { run(id: $id) { id } }`;
      expect((await server.gql(RUN, { id: first.id }, { apiKey: alice.key })).data).toEqual({
        run: null,
      });
      expect((await server.gql(RUN, { id: first.id }, { apiKey: bob.key })).data).toEqual({
        run: { id: first.id },
      });
      await server.gql(
        `mutation($id: ID!) { deleteRun(id: $id) { __typename } }`,
        { id: first.id },
        { apiKey: bob.key },
      );
    });

    it('uploads deduplicate per account: the same bytes give Bob his own media', async () => {
      const bobs = await uploadOk(server.url, aliceImage, { apiKey: bob.key });
      expect(bobs.id).not.toBe(aliceUpload.id);
      expect(bobs.sha256).toBe(aliceUpload.sha256);
      // Uploading it again still deduplicates, for each owner.
      expect((await uploadOk(server.url, aliceImage, { apiKey: bob.key })).id).toBe(bobs.id);
      expect((await uploadOk(server.url, aliceImage, { apiKey: alice.key })).id).toBe(
        aliceUpload.id,
      );
      const MEDIA = `query($id: ID!) { media(id: $id) { id } }`;
      expect((await server.gql(MEDIA, { id: bobs.id }, { apiKey: alice.key })).data).toEqual({
        media: null,
      });
    });

    it('run inputs only from the viewer’s own media: NotFoundError, nothing created or charged', async () => {
      const CREDITS = `{ viewer { account { credits } } }`;
      const credits = async () =>
        (
          await server.gql<{ viewer: { account: { credits: number } } }>(
            CREDITS,
            {},
            { apiKey: bob.key },
          )
        ).data!.viewer.account.credits;
      const runsBefore = await server.app.db.prisma.run.count();
      const creditsBefore = await credits();
      const missing = missingId('Media');
      const inputs: [Record<string, unknown>, string, Record<string, unknown>][] = [
        [I2I(), aliceUpload.id, { ...I2I(), source: missing }],
        [
          { ...I2I(), source: aliceDone.outputs[0]!.id },
          aliceDone.outputs[0]!.id,
          { ...I2I(), source: missing },
        ],
      ];
      for (const [input, id, missingInput] of inputs) {
        const theirs = await createRun(server, input, { apiKey: bob.key });
        const none = await createRun(server, missingInput, { apiKey: bob.key });
        expect(theirs).toMatchObject({
          __typename: 'NotFoundError',
          code: 'NOT_FOUND',
          entity: 'Media',
          id,
        });
        expect(withoutId(theirs, id)).toEqual(withoutId(none, missing));
      }
      expect(await server.app.db.prisma.run.count()).toBe(runsBefore);
      expect(await credits()).toBe(creditsBefore);
    });

    it('the admin reads Alice’s run and media by id, but lists only its own', async () => {
      const read = await server.gql<Record<string, { id: string } | null>>(
        `query($run: ID!, $media: ID!) {
          run(id: $run) { id } media(id: $media) { id } node(id: $run) { id }
        }`,
        { run: aliceDone.id, media: aliceUpload.id },
        { apiKey: root.key },
      );
      expect(read).toEqual({
        data: {
          run: { id: aliceDone.id },
          media: { id: aliceUpload.id },
          node: { id: aliceDone.id },
        },
      });
      const rootMedia = await uploadOk(server.url, await solid(64, 64, 'png', '#123456'), {
        apiKey: root.key,
      });
      const rootRun = await createRunOk(server, T2I, { apiKey: root.key });
      const lists = await server.gql<{
        runs: { edges: { node: { id: string } }[] };
        gallery: { edges: { node: { id: string } }[] };
        queue: { viewerRuns: { run: { id: string } }[] };
      }>(
        `{
          runs(first: 100) { edges { node { id } } }
          gallery(first: 100) { edges { node { id } } }
          queue { viewerRuns { run { id } } }
        }`,
        {},
        { apiKey: root.key },
      );
      expect(lists.data!.runs.edges.map((e) => e.node.id)).toEqual([rootRun.id]);
      expect(lists.data!.gallery.edges.map((e) => e.node.id)).toEqual([rootMedia.id]);
      expect(lists.data!.queue.viewerRuns.map((r) => r.run.id)).toEqual([rootRun.id]);
      await server.gql(
        `mutation($id: ID!) { deleteRun(id: $id) { __typename } }`,
        { id: rootRun.id },
        { apiKey: root.key },
      );
    });
  });

  describe('/media', () => {
    const mediaCases = () =>
      [
        ['an upload', aliceUpload],
        ['an output', aliceDone.outputs[0]!],
      ] as const;

    it('needs the owner’s (or an admin’s) key or a valid signature; otherwise 404', async () => {
      for (const [what, media] of mediaCases()) {
        const plain = `/media/${uuidOf(media)}`;
        const expected = media.bytes;
        expect(await getMedia(server, plain), what).toMatchObject({ status: 404 });
        expect(await getMedia(server, plain, bob.key), what).toMatchObject({ status: 404 });
        expect(await getMedia(server, plain, fakeKey()), what).toMatchObject({ status: 404 });
        expect(await getMedia(server, plain, alice.key), what).toEqual({
          status: 200,
          bytes: expected,
        });
        expect(await getMedia(server, plain, root.key), what).toEqual({
          status: 200,
          bytes: expected,
        });
        // The signed URL the API hands out works for anyone, without headers.
        expect(new URL(media.url).search).toMatch(/^\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
        expect(await getMedia(server, media.url), what).toEqual({ status: 200, bytes: expected });
        // A changed signature is 404 even with a key (the signature is checked, not the key).
        const url = new URL(media.url);
        const sig = url.searchParams.get('sig')!;
        url.searchParams.set('sig', (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1));
        expect(await getMedia(server, url.toString()), what).toMatchObject({ status: 404 });
        // The signature binds the id: Alice's signature on another id is refused.
        const other = new URL(media.url);
        other.pathname = `/media/${randomUUID()}`;
        expect(await getMedia(server, other.toString()), what).toMatchObject({ status: 404 });
      }
    });

    it('an expired signature is 404', async () => {
      // The server's own secret and TTL, with a clock three hours back: its URLs expired.
      const secret = Buffer.from(
        (await readFile(path.join(server.config.home, 'media-url-secret'), 'utf8')).trim(),
      );
      const ttl = server.config.auth.mediaUrlTtlSeconds;
      const past = new MediaUrlSigner(secret, ttl, () => Date.now() - 3 * 3600_000 - ttl * 1000);
      const present = new MediaUrlSigner(secret, ttl);
      for (const [what, media] of mediaCases()) {
        const id = uuidOf(media);
        const expired = past.sign(id, 'original');
        expect(Number(new URLSearchParams(expired.split('?')[1]).get('exp'))).toBeLessThan(
          Date.now() / 1000,
        );
        expect(await getMedia(server, expired), what).toMatchObject({ status: 404 });
        // The same signer with the right clock works: the 404 above is the expiry alone.
        expect(await getMedia(server, present.sign(id, 'original')), what).toMatchObject({
          status: 200,
        });
        expect(await getMedia(server, past.sign(id, 'thumbnail')), what).toMatchObject({
          status: 404,
        });
        expect(await getMedia(server, present.sign(id, 'thumbnail')), what).toMatchObject({
          status: 200,
        });
      }
    });
  });

  describe('afterwards', () => {
    it('Alice’s objects are untouched, and she can cancel, retry and delete her own', async () => {
      const done = await getRun(server, aliceDone.id, { apiKey: alice.key });
      expect(done.status).toBe('SUCCEEDED');
      expect(done.outputs.map((o) => o.id)).toEqual(aliceDone.outputs.map((o) => o.id));
      expect((await getRun(server, aliceQueued.id, { apiKey: alice.key })).status).toBe('QUEUED');
      const upload = await server.gql(
        `query($id: ID!) { media(id: $id) { id } }`,
        { id: aliceUpload.id },
        { apiKey: alice.key },
      );
      expect(upload.data).toEqual({ media: { id: aliceUpload.id } });

      const cancel = await server.gql<{ cancelRun: unknown }>(
        `mutation($id: ID!) { cancelRun(id: $id) { __typename ... on CancelRunSuccess { run { id status } } } }`,
        { id: aliceQueued.id },
        { apiKey: alice.key },
      );
      expect(cancel.data?.cancelRun).toEqual({
        __typename: 'CancelRunSuccess',
        run: { id: aliceQueued.id, status: 'CANCELED' },
      });

      const retry = await server.gql<{
        retryRun: { __typename: string; run: { id: string; status: string } };
      }>(
        `mutation($id: ID!) { retryRun(id: $id) { __typename ... on CreateRunSuccess { run { id status } } } }`,
        { id: aliceDone.id },
        { apiKey: alice.key },
      );
      expect(retry.data?.retryRun).toMatchObject({
        __typename: 'CreateRunSuccess',
        run: { status: 'QUEUED' },
      });
      const retried = retry.data!.retryRun.run.id;
      expect(retried).not.toBe(aliceDone.id);

      const deleteRun = await server.gql<{ deleteRun: unknown }>(
        `mutation($id: ID!) { deleteRun(id: $id) { __typename ... on DeleteSuccess { deletedId } } }`,
        { id: retried },
        { apiKey: alice.key },
      );
      expect(deleteRun.data?.deleteRun).toEqual({
        __typename: 'DeleteSuccess',
        deletedId: retried,
      });

      const spare = await uploadOk(server.url, await solid(32, 32, 'png', '#abcdef'), {
        apiKey: alice.key,
      });
      const deleteMedia = await server.gql<{ deleteMedia: unknown }>(
        `mutation($id: ID!) { deleteMedia(id: $id) { __typename ... on DeleteSuccess { deletedId } } }`,
        { id: spare.id },
        { apiKey: alice.key },
      );
      expect(deleteMedia.data?.deleteMedia).toEqual({
        __typename: 'DeleteSuccess',
        deletedId: spare.id,
      });
    });
  });
});
