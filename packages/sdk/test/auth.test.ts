// The SDK against a real server in AUTH_MODE=keys: a client with `apiKey` lists, uploads
// (multipart, so the CSRF header the SDK adds is needed), creates and watches a run over the
// WebSocket; a client without a key is refused on HTTP (UNAUTHENTICATED) and on the socket
// (closed with 4403); an `apiKey` function is read per request, so switching keys switches
// accounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { noisyPng } from '../../server/test/fixtures/images.ts';
import { UPLOAD_MEDIA } from '../../server/test/fixtures/upload.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import {
  type AtelierClient,
  type AtelierClientOptions,
  AtelierRequestError,
  createAtelierClient,
  createRun,
  getRun,
  listModels,
  type RunEvent,
  uploadMedia,
  watchRun,
} from '../src/index.ts';

let server: TestServer;
let alice: { key: string; accountId: string; prefix: string };
let bob: { key: string; accountId: string; prefix: string };
const clients: AtelierClient[] = [];

/** A client closed after the file; socket retries never wait (refusals end quickly). */
function connect(options: Omit<AtelierClientOptions, 'url'> = {}): AtelierClient {
  const client = createAtelierClient({ url: server.url, retryWait: async () => {}, ...options });
  clients.push(client);
  return client;
}

interface ViewerData {
  viewer: {
    account: { id: string; name: string; credits: number | null };
    apiKey: { prefix: string } | null;
  };
}

const VIEWER = 'query Viewer { viewer { account { id name credits } apiKey { prefix } } }';

/** `viewer` through the client's own urql (no SDK helper exists for it), never from cache. */
async function viewer(client: AtelierClient): Promise<ViewerData['viewer']> {
  const result = await client.urql
    .query<ViewerData>(VIEWER, {}, { requestPolicy: 'network-only' })
    .toPromise();
  if (result.error) throw AtelierRequestError.fromCombined('viewer', result.error);
  return result.data!.viewer;
}

beforeAll(async () => {
  server = await startTestServer({ AUTH_MODE: 'keys', SANDBOX_STEP_DELAY_MS: '0' });
  alice = await server.createKey({ account: 'alice', credits: 50 });
  bob = await server.createKey({ account: 'bob', credits: 7 });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await server?.stop();
});

describe('a client with an API key', () => {
  it('lists models, uploads, creates a run and watches it to RUN_FINISHED over the socket', async () => {
    const client = connect({ apiKey: alice.key });
    expect(await viewer(client)).toMatchObject({
      account: { id: expect.any(String), name: 'alice', credits: 50 },
      apiKey: { prefix: alice.prefix },
    });

    const models = await listModels(client, { mode: 'IMAGE_TO_IMAGE' });
    expect(models.map((m) => m.key)).toContain('flux1-dev');

    // The same multipart upload without the CSRF header is refused: the SDK's one passes
    // because the SDK sends that header.
    const png = await noisyPng(96, 64);
    const form = new FormData();
    form.append('operations', JSON.stringify({ query: UPLOAD_MEDIA, variables: { file: null } }));
    form.append('map', JSON.stringify({ 0: ['variables.file'] }));
    form.append('0', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'bare.png');
    const bare = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.key}` },
      body: form,
    });
    expect(bare.status).toBe(403);
    const upload = await uploadMedia(client, png, { filename: 'alice.png' });
    if (upload.__typename !== 'UploadMediaSuccess') throw new Error(JSON.stringify(upload));
    expect(upload.media.width).toBe(96);
    // Signed URL: loads without any credentials.
    expect(upload.media.url).toMatch(/\/media\/[0-9a-f-]{36}\?exp=\d+&sig=[\w-]{43}$/);
    expect((await fetch(upload.media.url)).status).toBe(200);

    const created = await createRun(client, {
      mode: 'IMAGE_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'the same, at night',
      source: upload.media.id,
      parameters: { steps: 2 },
    });
    if (created.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    const events: RunEvent[] = [];
    for await (const event of watchRun(client, created.run.id)) events.push(event);
    expect(events[0]?.type).toBe('SNAPSHOT');
    expect(events.at(-1)?.type).toBe('RUN_FINISHED');
    expect(events.at(-1)?.run.status).toBe('SUCCEEDED');
    expect(events.at(-1)?.run.outputs).toHaveLength(1);

    // Charged once: I2I costs 4 per output.
    expect((await viewer(client)).account.credits).toBe(46);
  });
});

describe('a client without a key', () => {
  it('gets AtelierRequestError with UNAUTHENTICATED on HTTP', async () => {
    const client = connect();
    const error = await listModels(client).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AtelierRequestError);
    const { graphQLErrors } = error as AtelierRequestError;
    expect(graphQLErrors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);

    // A wrong key is refused the same way.
    const wrong = connect({ apiKey: `atl_${'x'.repeat(40)}` });
    const refused = await viewer(wrong).then(
      () => null,
      (e: unknown) => e as AtelierRequestError,
    );
    expect(refused?.graphQLErrors.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it('has its subscription fail: the socket is closed with 4403', async () => {
    const owner = connect({ apiKey: alice.key });
    const created = await createRun(owner, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'not for strangers',
      parameters: { steps: 1, width: 256, height: 256 },
    });
    if (created.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));

    // The SDK does not reconnect after 4403 (the same key cannot succeed): a retry would wait
    // for this never-ending retryWait and the test would time out instead of rejecting.
    const client = connect({ retryWait: () => new Promise<void>(() => {}) });
    const error = await (async () => {
      for await (const _ of watchRun(client, created.run.id)) return null;
      return null;
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AtelierRequestError);
    expect((error as AtelierRequestError).message).toMatch(/socket closed \(4403/);
    expect((error as AtelierRequestError).networkError).toMatchObject({ code: 4403 });
  });
});

describe('an apiKey function', () => {
  it('is read per request: switching keys switches accounts', async () => {
    let current: string | null = alice.key;
    const client = connect({ apiKey: () => current });
    expect((await viewer(client)).account.name).toBe('alice');

    const created = await createRun(client, {
      mode: 'TEXT_TO_IMAGE',
      model: 'flux1-dev',
      prompt: 'alice only',
      parameters: { steps: 1, width: 256, height: 256 },
    });
    if (created.__typename !== 'CreateRunSuccess') throw new Error(JSON.stringify(created));
    expect((await getRun(client, created.run.id))?.id).toBe(created.run.id);

    current = bob.key;
    expect(await viewer(client)).toMatchObject({
      account: { id: expect.any(String), name: 'bob', credits: 7 },
      apiKey: { prefix: bob.prefix },
    });
    // Another account's run is not found, exactly like a missing one.
    expect(await getRun(client, created.run.id)).toBeNull();

    current = null;
    const error = await viewer(client).catch((e: unknown) => e as AtelierRequestError);
    expect((error as AtelierRequestError).graphQLErrors[0]?.extensions?.code).toBe(
      'UNAUTHENTICATED',
    );

    current = alice.key;
    expect((await viewer(client)).account.name).toBe('alice');
  });
});
