// Models and styles through GraphQL on a real server, and startup refusing a broken catalog.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test/harness.ts';
import { createApp } from '../app.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { readCatalogJson, removeTempCatalogs, writeTempCatalog } from './catalog.fixtures.ts';
import type { ModelDefinition } from './model.definition.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const MODEL_FIELDS = `
  key name description outputKind modes maxReferences minReferences defaultNegativePrompt
  promptLimit promptTemplate requiredNodes sources
  requiredModelFiles { folder name }
  parameters { name type default min max step options description modes }
`;

interface ModelResult {
  key: string;
  outputKind: string;
  modes: string[];
  maxReferences: number;
  minReferences: number;
  defaultNegativePrompt: string | null;
  promptTemplate: string | null;
  requiredNodes: string[];
  requiredModelFiles: { folder: string; name: string }[];
  sources: string[];
  parameters: {
    name: string;
    type: string;
    default: unknown;
    min: number | null;
    options: string[] | null;
    modes: string[];
  }[];
}

describe('models and styles over GraphQL', () => {
  it('lists the models of a mode', async () => {
    const res = await server.gql<{ models: ModelResult[] }>(
      `query ($mode: GenerationMode) { models(mode: $mode) { ${MODEL_FIELDS} } }`,
      { mode: 'EDIT' },
    );
    expect(res.errors).toBeUndefined();
    const models = res.data?.models ?? [];
    expect(models.map((m) => m.key).sort()).toEqual([
      'flux1-kontext-dev',
      'qwen-image-edit-2509',
      'qwen-image-edit-lightning',
    ]);
    for (const m of models) expect(m.modes).toContain('EDIT');
    const qwen = models.find((m) => m.key === 'qwen-image-edit-2509');
    expect(qwen).toMatchObject({
      outputKind: 'IMAGE',
      maxReferences: 3,
      minReferences: 2,
      defaultNegativePrompt: '',
    });
    expect(qwen?.requiredNodes).toContain('TextEncodeQwenImageEditPlus');
    expect(qwen?.requiredModelFiles).toContainEqual({
      folder: 'vae',
      name: 'qwen_image_vae.safetensors',
    });
    expect(qwen?.sources).toContain('comfy_extras/nodes_qwen.py');

    const all = await server.gql<{ models: { key: string }[] }>('{ models { key } }');
    expect(all.data?.models.length).toBeGreaterThanOrEqual(11);
  });

  it('returns one model by key with its parameter schema', async () => {
    const res = await server.gql<{ model: ModelResult }>(
      `query ($key: String!) { model(key: $key) { ${MODEL_FIELDS} } }`,
      { key: 'sd3.5-large' },
    );
    expect(res.errors).toBeUndefined();
    const model = res.data?.model;
    expect(model).toMatchObject({
      key: 'sd3.5-large',
      outputKind: 'IMAGE',
      modes: ['TEXT_TO_IMAGE', 'IMAGE_TO_IMAGE'],
    });
    expect(model?.defaultNegativePrompt).toMatch(/blurry/);
    expect(model?.promptTemplate).toBeNull();
    const inpaint = await server.gql<{ model: { promptTemplate: string; modes: string[] } }>(
      '{ model(key: "sd2-inpainting") { promptTemplate modes } }',
    );
    expect(inpaint.data?.model).toEqual({
      promptTemplate: expect.stringContaining('{prompt}'),
      modes: ['INPAINT'],
    });
    const width = model?.parameters.find((p) => p.name === 'width');
    expect(width).toMatchObject({ type: 'INT', default: 1024, min: 512, modes: ['TEXT_TO_IMAGE'] });
    const sampler = model?.parameters.find((p) => p.name === 'sampler');
    expect(sampler).toMatchObject({ type: 'ENUM', default: 'dpmpp_2m', min: null });
    expect(sampler?.options).toContain('euler');
  });

  it('returns null for an unknown model key', async () => {
    const res = await server.gql<{ model: unknown }>('{ model(key: "nope") { key } }');
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ model: null });
  });

  it('lists the styles', async () => {
    const res = await server.gql<{
      styles: { key: string; category: string; template: string; llmInstruction: string | null }[];
    }>('{ styles { key name category description template llmInstruction } }');
    expect(res.errors).toBeUndefined();
    const styles = res.data?.styles ?? [];
    expect(styles.length).toBeGreaterThanOrEqual(8);
    for (const s of styles) expect(s.template).toContain('{prompt}');
    expect(styles.find((s) => s.key === 'ukiyo-e')).toMatchObject({ category: 'art-history' });
    const one = await server.gql<{ style: { key: string } | null; missing: unknown }>(
      '{ style(key: "comic") { key } missing: style(key: "nope") { key } }',
    );
    expect(one.data).toEqual({ style: { key: 'comic' }, missing: null });
  });

  it('mirrors the catalog into the database at startup', async () => {
    const prisma = server.app.db.prisma;
    expect(await prisma.model.count({ where: { retiredAt: null } })).toBe(
      server.app.services.catalog.models.length,
    );
    expect(await prisma.style.count({ where: { retiredAt: null } })).toBe(
      server.app.services.catalog.styles.length,
    );
  });
});

describe('startup with a broken catalog', () => {
  it('fails and names the broken file and field', async () => {
    const def = await readCatalogJson<ModelDefinition>('models/ltx-video.json');
    def.workflows.TEXT_TO_VIDEO!.graph['5']!.inputs.length = 0;
    const catalogDir = await writeTempCatalog({ 'models/ltx-broken.json': def });
    const home = await mkdtemp(path.join(tmpdir(), 'atelier-home-'));
    try {
      const config = {
        ...loadConfig({
          ATELIER_HOME: home,
          PORT: '0',
          LOG_LEVEL: 'silent',
          CATALOG_DIR: catalogDir,
        }),
        database: { kind: 'pglite' as const, dataDir: null },
      };
      await expect(createApp(config, { log: createLogger('silent') })).rejects.toThrow(
        /models\/ltx-broken\.json: workflows\.TEXT_TO_VIDEO\.graph\.5\.inputs\.length: EmptyLTXVLatentVideo\.length: value 0 is smaller than min 1/,
      );
    } finally {
      await rm(home, { recursive: true, force: true });
      await removeTempCatalogs();
    }
  });
});
