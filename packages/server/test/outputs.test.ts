// A run's PNG output is ComfyUI's own file (the sandbox's, written like SaveImage with its
// prompt and workflow text chunks) minus those chunks; another format is a conversion.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stripPngText } from '../src/media/outputs.ts';
import { finalRun, T2I } from './fixtures/hardening.ts';
import { createRunOk, sniff } from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
});
afterAll(async () => {
  await server?.stop();
});

async function outputOf(input: Record<string, unknown>) {
  const run = await createRunOk(server, input);
  const done = await finalRun(server, run.id);
  expect(done.status).toBe('SUCCEEDED');
  const { data } = await server.gql<{
    run: { outputs: { url: string; originalName: string; bytes: number }[] };
  }>('query($id: ID!) { run(id: $id) { outputs { url originalName bytes } } }', { id: run.id });
  const media = data?.run.outputs[0];
  if (!media) throw new Error('no output');
  const stored = Buffer.from(await (await fetch(new URL(media.url, server.url))).arrayBuffer());
  const sandbox = server.app.sandbox;
  if (!sandbox || !media.originalName) throw new Error('no sandbox file name');
  const view = new URL('/view', sandbox.url);
  view.searchParams.set('filename', media.originalName);
  view.searchParams.set('type', 'output');
  // The catalog's savers write under `atelier/` (filename_prefix).
  view.searchParams.set('subfolder', 'atelier');
  const written = Buffer.from(await (await fetch(view)).arrayBuffer());
  return { stored, written, media };
}

it('stores a PNG as ComfyUI wrote it, without its prompt and workflow chunks', async () => {
  const { stored, written, media } = await outputOf(T2I);
  expect(sniff(written)).toBe('png');
  expect(written.includes('prompt')).toBe(true);
  const expected = stripPngText(written);
  expect(expected).not.toBeNull();
  expect(stored.equals(expected as Buffer)).toBe(true);
  expect(stored.includes('KSampler')).toBe(false);
  expect(media.bytes).toBe(stored.length);
});

it('converts when the run asks for another format', async () => {
  const { stored, written } = await outputOf({ ...T2I, output: { format: 'JPEG', quality: 80 } });
  expect(sniff(written)).toBe('png');
  expect(sniff(stored)).toBe('jpeg');
});
