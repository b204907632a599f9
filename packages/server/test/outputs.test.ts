// A run's PNG output is ComfyUI's own file (the sandbox's, written like SaveImage with its
// prompt and workflow text chunks) minus those chunks; another format is a conversion.
import { randomUUID } from 'node:crypto';
import { readdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stripPngText } from '../src/media/outputs.ts';
import { MEDIA_FOLDERS } from '../src/media/sweep.ts';
import { finalRun, T2I, uuidOf } from './fixtures/hardening.ts';
import { noisyPng } from './fixtures/images.ts';
import { createRunOk, sniff } from './fixtures/runs.ts';
import { uploadOk } from './fixtures/upload.ts';
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

it('stores each output once: the files on disk are exactly its outputs and their thumbnails', async () => {
  // Outputs are prepared as soon as their node reports them (before the prompt ends) and
  // taken by the result; a preparation left over would be a file no Media row names.
  const run = await createRunOk(server, { ...T2I, count: 3 });
  const done = await finalRun(server, run.id);
  expect(done.status).toBe('SUCCEEDED');
  expect(done.outputs).toHaveLength(3);
  const storage = server.config.storage;
  if (storage.kind !== 'file') throw new Error('expected file storage');
  const onDisk = async (folder: string) =>
    (await readdir(path.join(storage.dir, folder)).catch(() => [] as string[]))
      .map((f) => `${folder}/${f}`)
      .sort();
  // Thumbnails are made after the run ends; asking for one waits for it.
  for (const output of done.outputs) {
    const res = await fetch(new URL(output.thumbnailUrl as string, server.url));
    expect(res.status).toBe(200);
    expect(sniff(Buffer.from(await res.arrayBuffer()))).toBe('webp');
  }
  await server.app.services.thumbnails.drain();
  const rows = await server.app.db.prisma.media.findMany({
    where: { purpose: 'OUTPUT' },
    select: { storageKey: true, thumbnailKey: true },
  });
  expect(await onDisk('outputs')).toEqual(rows.map((r) => r.storageKey).sort());
  expect(await onDisk('thumbs')).toEqual(rows.map((r) => r.thumbnailKey).sort());
});

it("makes an output's thumbnail that is missing when it is asked for", async () => {
  const run = await createRunOk(server, T2I);
  const done = await finalRun(server, run.id);
  const output = done.outputs[0];
  if (!output?.thumbnailUrl) throw new Error('no thumbnail URL');
  await server.app.services.thumbnails.drain();
  const id = /\/media\/([^/]+)\/thumbnail/.exec(output.thumbnailUrl)?.[1];
  const row = await server.app.db.prisma.media.findUniqueOrThrow({
    where: { id },
    select: { thumbnailKey: true },
  });
  const storage = server.app.services.storage;
  const before = await storage.stat(row.thumbnailKey as string);
  expect(before?.size).toBeGreaterThan(0);
  await storage.delete(row.thumbnailKey as string);
  const res = await fetch(new URL(output.thumbnailUrl, server.url));
  expect(res.status).toBe(200);
  const body = Buffer.from(await res.arrayBuffer());
  expect(sniff(body)).toBe('webp');
  expect(body.length).toBe(before?.size);
  expect((await storage.stat(row.thumbnailKey as string))?.size).toBe(before?.size);
});

it('sweeps the files no media names once they are older than the sweep interval, and only those', async () => {
  const run = await createRunOk(server, T2I);
  const done = await finalRun(server, run.id);
  expect(done.status).toBe('SUCCEEDED');
  const upload = await uploadOk(server.url, await noisyPng(120, 80));
  await server.app.services.thumbnails.drain();
  const config = server.config.storage;
  if (config.kind !== 'file') throw new Error('expected file storage');
  const storage = server.app.services.storage;
  // Left behind: an output stored by a process killed before its run ended, a thumbnail
  // written after its media was deleted, a local write cut short. And a file written just
  // now, whose row may be on its way.
  const orphans = [
    `outputs/${randomUUID()}.png`,
    `thumbs/${randomUUID()}.webp`,
    `media/${randomUUID()}.jpg.4242.1764547200000.tmp`,
  ];
  const young = `outputs/${randomUUID()}.png`;
  for (const key of [...orphans, young]) await storage.put(key, Buffer.from('no media names me'));
  const files = async () => {
    const keys: string[] = [];
    for (const folder of MEDIA_FOLDERS) {
      for await (const object of storage.list(folder)) keys.push(object.key);
    }
    return keys.sort();
  };
  // Everything but the young file was last written two hours ago (the sweep takes files
  // older than its interval, an hour by default).
  const old = new Date(Date.now() - 2 * 3600_000);
  for (const key of await files()) {
    if (key !== young) await utimes(path.join(config.dir, key), old, old);
  }
  const rows = await server.app.db.prisma.media.findMany({
    select: { storageKey: true, thumbnailKey: true },
  });
  const named = rows.flatMap((r) =>
    r.thumbnailKey ? [r.storageKey, r.thumbnailKey] : [r.storageKey],
  );
  expect(named.length).toBeGreaterThanOrEqual(4);

  // A run still running since before them may yet record an output it stored early: nothing
  // written since its start goes.
  const prisma = server.app.db.prisma;
  const runId = uuidOf(done.id);
  const ended = await prisma.run.findUniqueOrThrow({ where: { id: runId } });
  await prisma.run.update({
    where: { id: runId },
    data: {
      status: 'RUNNING',
      startedAt: new Date(old.getTime() - 3600_000),
      leaseExpiresAt: new Date(Date.now() + 3600_000),
    },
  });
  expect(await server.app.services.sweeper.sweep()).toEqual([]);
  await prisma.run.update({ where: { id: runId }, data: { startedAt: old } });
  expect(await server.app.services.sweeper.sweep()).toEqual([]);
  await prisma.run.update({
    where: { id: runId },
    data: {
      status: ended.status,
      startedAt: ended.startedAt,
      leaseExpiresAt: ended.leaseExpiresAt,
    },
  });

  const deleted = await server.app.services.sweeper.sweep();
  expect(deleted.sort()).toEqual([...orphans].sort());
  expect(await files()).toEqual([...named, young].sort());
  // What media name is still served.
  for (const url of [done.outputs[0]!.url, done.outputs[0]!.thumbnailUrl!, upload.url]) {
    const res = await fetch(new URL(url, server.url));
    expect(res.status, url).toBe(200);
    await res.arrayBuffer();
  }
  // A second sweep finds nothing more.
  expect(await server.app.services.sweeper.sweep()).toEqual([]);
});
