// The SDK sends its queries and mutations by persisted-document hash alone and its
// subscriptions with the hash: against a server with PERSISTED_ONLY=true (which refuses any
// document sent as text) it lists, uploads, creates and watches a run to the end. Against a
// server that does not know a hash, urql's persisted exchange resends the text.
import { gql } from '@urql/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { noisyPng } from '../../server/test/fixtures/images.ts';
import { startTestServer, type TestServer } from '../../server/test/harness.ts';
import {
  type AtelierClient,
  createAtelierClient,
  createRun,
  listModels,
  listRuns,
  listStyles,
  uploadMedia,
  watchQueue,
  watchRun,
} from '../src/index.ts';

let strict: TestServer;
let open: TestServer;
/**
 * Every operation the clients sent over HTTP: a JSON body, the `operations` part of a
 * multipart body, or the query string of a GET.
 */
const sent: { query?: string; extensions?: { persistedQuery?: { sha256Hash?: string } } }[] = [];
const recordingFetch: typeof fetch = async (input, init) => {
  const body = init?.body;
  if (typeof body === 'string') sent.push(JSON.parse(body));
  else if (body instanceof FormData) sent.push(JSON.parse(String(body.get('operations'))));
  else {
    const params = new URL(String(input)).searchParams;
    const extensions = params.get('extensions');
    sent.push({
      query: params.get('query') ?? undefined,
      extensions: extensions ? JSON.parse(extensions) : undefined,
    });
  }
  return fetch(input, init);
};
const clients: AtelierClient[] = [];
const clientOf = (server: TestServer) => {
  const client = createAtelierClient({ url: server.url, fetch: recordingFetch });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  [strict, open] = await Promise.all([
    startTestServer({ SANDBOX_STEP_DELAY_MS: '0', PERSISTED_ONLY: 'true' }),
    startTestServer({ SANDBOX_STEP_DELAY_MS: '0' }),
  ]);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all([strict?.stop(), open?.stop()]);
});

it('works end to end against PERSISTED_ONLY=true, sending hashes instead of documents', async () => {
  const client = clientOf(strict);
  sent.length = 0;
  expect((await listModels(client, { mode: 'TEXT_TO_IMAGE' })).length).toBeGreaterThan(0);
  expect((await listStyles(client)).length).toBeGreaterThan(0);
  const upload = await uploadMedia(client, new Uint8Array(await noisyPng(64, 64)), {
    filename: 'source.png',
  });
  expect(upload.__typename).toBe('UploadMediaSuccess');
  for await (const state of watchQueue(client)) {
    expect(state).toHaveProperty('workers');
    break;
  }
  const created = await createRun(client, {
    mode: 'TEXT_TO_IMAGE',
    model: 'flux1-dev',
    prompt: 'a lighthouse',
    parameters: { steps: 2, width: 256, height: 256 },
  });
  if (created.__typename !== 'CreateRunSuccess') throw new Error(created.__typename);
  let last: string | undefined;
  for await (const event of watchRun(client, created.run.id)) last = event.type;
  expect(last).toBe('RUN_FINISHED');
  const page = await listRuns(client, { first: 5 });
  expect(page.runs.map((r) => r.id)).toContain(created.run.id);
  expect(page.runs.find((r) => r.id === created.run.id)?.status).toBe('SUCCEEDED');

  // models, styles, uploadMedia (multipart), createRun, runs: by hash, no text.
  expect(sent.length).toBeGreaterThanOrEqual(5);
  for (const body of sent) {
    expect(body.query).toBeUndefined();
    expect(body.extensions?.persistedQuery?.sha256Hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  }
});

it('resends the text when the server does not know the hash', async () => {
  const client = clientOf(open);
  const unknown = Object.assign(gql('query UnknownToServer { styles { key } }'), {
    __meta__: { hash: `sha256:${'0'.repeat(64)}` },
  });
  sent.length = 0;
  const result = await client.urql.query(unknown, {}).toPromise();
  expect(result.error).toBeUndefined();
  expect(result.data?.styles.length).toBeGreaterThan(0);
  expect(sent).toHaveLength(2);
  expect(sent[0]?.query).toBeUndefined();
  expect(sent[1]?.query).toContain('UnknownToServer');
});

it('sends other documents as text', async () => {
  const client = clientOf(open);
  sent.length = 0;
  const result = await client.urql.query(gql('{ styles { key } }'), {}).toPromise();
  expect(result.data?.styles.length).toBeGreaterThan(0);
  expect(sent).toHaveLength(1);
  expect(sent[0]?.query).toContain('styles');
  expect(sent[0]?.extensions?.persistedQuery).toBeUndefined();
});
