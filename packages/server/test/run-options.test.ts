// Uniform options (size, quality, inputFidelity) reach the bound workflow through each
// model's mapping; a video's size is clamped to the model's maximum area keeping the
// source's aspect ratio, and the run says so.
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRun, createRunOk, watchRunWs } from './fixtures/runs.ts';
import { uploadOk } from './fixtures/upload.ts';
import { startTestServer, type TestServer } from './harness.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
});
afterAll(async () => {
  await server?.stop();
});

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/** The workflow the sandbox received for the run whose prompt holds `token`. */
async function boundGraph(token: string): Promise<Graph> {
  const history = (await (await fetch(`${server.app.sandbox!.url}/history`)).json()) as Record<
    string,
    { prompt: [number, string, Graph] }
  >;
  const graphs = Object.values(history).map((h) => h.prompt[2]);
  const graph = graphs.find((g) =>
    Object.values(g).some(
      (n) => typeof n.inputs.text === 'string' && n.inputs.text.includes(token),
    ),
  );
  if (!graph) throw new Error(`no prompt with ${token} in the sandbox's history`);
  return graph;
}
const inputsOf = (graph: Graph, input: string) =>
  Object.values(graph).flatMap((n) => (input in n.inputs ? [n.inputs[input]] : []));

async function finished(id: string) {
  const last = (await watchRunWs(server, id)).at(-1);
  expect(last?.run.status).toBe('SUCCEEDED');
  return last!.run;
}

it('lists each model’s options', async () => {
  const { data } = await server.gql<{
    models: {
      key: string;
      sizes: string[];
      qualities: string[];
      inputFidelities: string[];
      maxVideoArea: number | null;
    }[];
  }>('{ models { key sizes qualities inputFidelities maxVideoArea } }');
  const byKey = new Map(data!.models.map((m) => [m.key, m]));
  expect(byKey.get('flux1-dev')).toMatchObject({
    sizes: ['AUTO', 'SIZE_1024X1024', 'SIZE_1536X1024', 'SIZE_1024X1536'],
    qualities: ['AUTO', 'LOW', 'MEDIUM', 'HIGH'],
    inputFidelities: ['AUTO', 'LOW', 'HIGH'],
    maxVideoArea: null,
  });
  expect(byKey.get('qwen-image-edit-2509')?.inputFidelities).toEqual(['AUTO', 'HIGH']);
  expect(byKey.get('wan2.1-i2v-480p')?.maxVideoArea).toBe(480 * 832);
});

it('size and quality reach the bound workflow; explicit parameters win', async () => {
  const run = await createRunOk(server, {
    mode: 'TEXT_TO_IMAGE',
    model: 'flux1-dev',
    prompt: 'token-size-quality a harbour',
    size: 'SIZE_1536X1024',
    quality: 'LOW',
  });
  await finished(run.id);
  const graph = await boundGraph('token-size-quality');
  expect(inputsOf(graph, 'width')).toContain(1536);
  expect(inputsOf(graph, 'height')).toContain(1024);
  expect(inputsOf(graph, 'steps')).toContain(10);

  const explicit = await createRunOk(server, {
    mode: 'TEXT_TO_IMAGE',
    model: 'flux1-dev',
    prompt: 'token-explicit a harbour',
    size: 'SIZE_1024X1536',
    quality: 'HIGH',
    parameters: { steps: 3 },
  });
  await finished(explicit.id);
  const second = await boundGraph('token-explicit');
  expect(inputsOf(second, 'height')).toContain(1536);
  expect(inputsOf(second, 'steps')).toContain(3);
});

it('inputFidelity maps to denoise for image-to-image', async () => {
  const source = await uploadOk(
    server.url,
    await sharp({ create: { width: 256, height: 256, channels: 3, background: '#336699' } })
      .png()
      .toBuffer(),
  );
  const run = await createRunOk(server, {
    mode: 'IMAGE_TO_IMAGE',
    model: 'flux1-dev',
    prompt: 'token-fidelity a harbour',
    source: source.id,
    inputFidelity: 'HIGH',
    parameters: { steps: 2, megapixels: 0.25 },
  });
  await finished(run.id);
  expect(inputsOf(await boundGraph('token-fidelity'), 'denoise')).toContain(0.45);
});

it('refuses an option a model does not have, or that does not apply to the mode', async () => {
  const noSize = await createRun(server, {
    mode: 'EDIT',
    model: 'qwen-image-edit-2509',
    prompt: 'x',
    size: 'SIZE_1024X1024',
  });
  expect(noSize).toMatchObject({ __typename: 'ValidationError', field: 'size' });
  const lowFidelity = await createRun(server, {
    mode: 'TEXT_TO_IMAGE',
    model: 'flux1-dev',
    prompt: 'x',
    inputFidelity: 'LOW',
  });
  expect(lowFidelity).toMatchObject({ __typename: 'ValidationError', field: 'inputFidelity' });
});

it('a 1365×2048 source becomes a portrait video within the model’s area, and the run says so', async () => {
  const source = await uploadOk(
    server.url,
    await sharp({ create: { width: 1365, height: 2048, channels: 3, background: '#884422' } })
      .jpeg()
      .toBuffer(),
  );
  const run = await createRunOk(server, {
    mode: 'IMAGE_TO_VIDEO',
    model: 'wan2.1-i2v-480p',
    prompt: 'token-portrait waves',
    source: source.id,
    parameters: { steps: 4, frames: 9 },
  });
  const done = await finished(run.id);
  const { data } = await server.gql<{
    run: { parameters: { width: number; height: number }; adjustments: string[] };
  }>('query($id: ID!) { run(id: $id) { parameters adjustments } }', { id: run.id });
  const { width, height } = data!.run.parameters;
  expect(height).toBeGreaterThan(width);
  expect(width * height).toBeLessThanOrEqual(480 * 832);
  expect(width % 16).toBe(0);
  expect(height % 16).toBe(0);
  expect(Math.abs(width / height - 1365 / 2048)).toBeLessThan(0.05);
  expect(data!.run.adjustments[0]).toMatch(/1365×2048/);
  const graph = await boundGraph('token-portrait');
  expect(inputsOf(graph, 'width')).toContain(width);
  expect(inputsOf(graph, 'height')).toContain(height);
  expect(done.outputs[0]?.height).toBeGreaterThan(done.outputs[0]?.width ?? 0);
});
