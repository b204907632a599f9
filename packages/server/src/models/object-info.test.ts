// Node specifications from a real ComfyUI's `/object_info` answer: every catalog workflow, bound
// as a run binds it, is valid against them; widget literals real ComfyUI accepts load (TextOverlay
// `"color": "#ffffff"`); a wrong workflow is rejected naming node id, class and input.
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerationMode } from '../generated/prisma/enums.ts';
import { bindWorkflow } from '../runs/bind.ts';
import {
  CATALOG_DIR,
  readCatalogJson,
  removeTempCatalogs,
  SHARED_OBJECT_INFO_FILE,
  TEST_NODE_SPECS_FILE,
  writeTempCatalog,
} from './catalog.fixtures.ts';
import { type Catalog, CatalogError, loadCatalog } from './catalog.service.ts';
import {
  BUNDLED_NODE_SPECS_FILE,
  BUNDLED_OBJECT_INFO_FILE,
  checkLiteral,
  loadNodeSpecs,
  type NodeSpecs,
  OBJECT_INFO_FILE_NAME,
} from './comfyui-nodes.ts';
import type { ModelDefinition } from './model.definition.ts';
import { type ApiGraph, validateGraph } from './workflow.ts';

let specs: NodeSpecs;
let catalog: Catalog;

beforeAll(async () => {
  specs = await loadNodeSpecs(TEST_NODE_SPECS_FILE);
  catalog = await loadCatalog(CATALOG_DIR, { nodeSpecsFile: TEST_NODE_SPECS_FILE });
});
afterAll(removeTempCatalogs);

describe('node specifications from /object_info', () => {
  it('come from the /object_info capture, with the classes it lacks kept from nodes.json', async () => {
    expect(specs.objectInfoFile).toBe(SHARED_OBJECT_INFO_FILE ?? BUNDLED_OBJECT_INFO_FILE);
    const bundled = await loadNodeSpecs(BUNDLED_NODE_SPECS_FILE);
    expect(bundled.objectInfoFile).toBe(BUNDLED_OBJECT_INFO_FILE);
    expect(bundled.comfyuiCommit).toBe('783545f689a0');
    // GLSLShader did not load on the machine /object_info was captured from.
    expect(bundled.fallbackClasses).toEqual(['GLSLShader']);
    expect(specs.fallbackClasses).toEqual(['GLSLShader']);
    expect(bundled.classes.get('GLSLShader')?.source).toBe('comfy_extras/nodes_glsl.py');

    // What /object_info cannot say comes from nodes.json: model folders, VALIDATE_INPUTS.
    const ckpt = bundled.classes.get('CheckpointLoaderSimple')?.inputs.required?.ckpt_name;
    expect(ckpt).toMatchObject({ type: 'COMBO', folder: 'checkpoints' });
    expect(ckpt?.options).toBeUndefined();
    expect(bundled.classes.get('LoadImage')?.validate_inputs).toEqual(['image']);
    // ... and the rest from /object_info: SaveVideo's container with the codec nested in it.
    const format = bundled.classes.get('SaveVideo')?.inputs.required?.format;
    expect(format?.type).toBe('COMFY_DYNAMICCOMBO_V3');
    expect(format?.options).toEqual(['auto', 'mp4', 'mkv', 'webm']);
    expect(format?.dynamic?.webm?.required?.codec?.options).toEqual(['auto', 'av1']);
    expect(bundled.classes.get('TextOverlay')?.inputs.required?.color).toMatchObject({
      type: 'COLOR',
      default: '#ffffff',
      socketless: true,
    });
  });

  it('bundles the shared /object_info answer without API nodes and texts, same as the sandbox', async () => {
    const bundled = JSON.parse(await readFile(BUNDLED_OBJECT_INFO_FILE, 'utf8'));
    const sandboxCopy = fileURLToPath(
      new URL('../../../comfyui-sandbox/data/comfyui-object-info.json', import.meta.url),
    );
    expect(JSON.parse(await readFile(sandboxCopy, 'utf8'))).toEqual(bundled);
    if (!SHARED_OBJECT_INFO_FILE) return;
    const shared = JSON.parse(await readFile(SHARED_OBJECT_INFO_FILE, 'utf8'));
    const texts = new Set(['tooltip', 'description', 'output_tooltips', 'search_aliases']);
    const strip = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(strip)
        : v && typeof v === 'object'
          ? Object.fromEntries(
              Object.entries(v)
                .filter(([k]) => !texts.has(k))
                .map(([k, x]) => [k, strip(x)]),
            )
          : v;
    const expected = Object.fromEntries(
      Object.entries(shared as Record<string, { api_node?: boolean }>)
        .filter(([, info]) => !info.api_node)
        .map(([name, info]) => [name, strip(info)]),
    );
    expect(bundled.object_info).toEqual(expected);
  });

  it('load in well under 100 ms', async () => {
    // Copies in a fresh folder: loadNodeSpecs caches per path.
    const dir = await mkdtemp(path.join(tmpdir(), 'atelier-specs-'));
    try {
      await copyFile(BUNDLED_NODE_SPECS_FILE, path.join(dir, 'comfyui-nodes.json'));
      await copyFile(BUNDLED_OBJECT_INFO_FILE, path.join(dir, OBJECT_INFO_FILE_NAME));
      const started = performance.now();
      const fresh = await loadNodeSpecs(path.join(dir, 'comfyui-nodes.json'));
      const ms = performance.now() - started;
      expect(fresh.objectInfoFile).toBe(path.join(dir, OBJECT_INFO_FILE_NAME));
      expect(fresh.classes.size).toBe(654);
      // ~30-60 ms on an idle machine; generous here for loaded CI runners.
      expect(ms).toBeLessThan(400);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Every (model, mode) pair of the catalog. */
function workflows() {
  return catalog.models.flatMap((model) => model.modes.map((mode) => ({ model, mode })));
}

describe('every catalog workflow, bound as a run binds it', () => {
  it('is a valid prompt for /object_info, for every allowed reference count', () => {
    expect(workflows().length).toBeGreaterThanOrEqual(14);
    let checked = 0;
    for (const { model, mode } of workflows()) {
      const parameters = Object.fromEntries(model.parameters.map((p) => [p.name, p.default]));
      const counts =
        mode === 'MULTI_REFERENCE'
          ? Array.from(
              { length: model.maxReferences - model.minReferences + 1 },
              (_, i) => model.minReferences + i,
            )
          : [0];
      for (const count of counts) {
        const bound = bindWorkflow(model, mode as GenerationMode, {
          prompt: 'a lighthouse on a cliff at dusk',
          negativePrompt: model.defaultNegativePrompt,
          seed: '123456789',
          parameters,
          batchSize: 1,
          images: {
            source: 'media-source',
            mask: 'media-mask',
            references: Array.from({ length: count }, (_, i) => `media-ref-${i}`),
          },
          removeBackground: null,
        });
        const report = validateGraph(bound.graph, specs);
        expect(report.issues, `${model.key} ${mode} (${count} references)`).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(16);
  });

  it('uses SaveVideo with its current inputs (format, format.codec)', () => {
    const saves = workflows().flatMap(({ model, mode }) =>
      Object.values(model.workflows[mode]?.graph ?? {}).filter((n) => n.class_type === 'SaveVideo'),
    );
    expect(saves.length).toBeGreaterThanOrEqual(4);
    for (const save of saves) {
      expect(save.inputs).toMatchObject({ format: 'auto', 'format.codec': 'auto' });
      expect(save.inputs).not.toHaveProperty('codec');
    }
  });
});

/** flux1-dev with a TextOverlay between the decoder and the save node of every workflow. */
async function withTextOverlay(color: unknown): Promise<ModelDefinition> {
  const def = await readCatalogJson<ModelDefinition>('models/flux1-dev.json');
  def.key = 'flux1-dev-overlay';
  def.sources.push('comfy_extras/nodes_text_overlay.py');
  for (const wf of Object.values(def.workflows)) {
    const save = wf.graph[wf.bindings.output] as ApiGraph[string];
    wf.graph['90'] = {
      class_type: 'TextOverlay',
      inputs: {
        images: save.inputs.images,
        text: 'Atelier',
        font_size: 5.0,
        color,
        position: 'bottom',
        align: 'left',
        outline: true,
      },
    };
    save.inputs.images = ['90', 0];
  }
  return def;
}

describe('literals real ComfyUI accepts', () => {
  it('loads a TextOverlay with "color": "#ffffff" (a socketless COLOR widget)', async () => {
    const dir = await writeTempCatalog({ 'models/overlay.json': await withTextOverlay('#ffffff') });
    for (const nodeSpecsFile of [BUNDLED_NODE_SPECS_FILE, TEST_NODE_SPECS_FILE]) {
      const loaded = await loadCatalog(dir, { nodeSpecsFile });
      const model = loaded.model('flux1-dev-overlay');
      expect(model?.requirements.TEXT_TO_IMAGE?.nodes).toContain('TextOverlay');
    }
  });

  it('accepts widget literals of the default kind, and refuses literals for sockets', () => {
    const classes = specs.classes;
    const input = (cls: string, name: string) => {
      const spec =
        classes.get(cls)?.inputs.required?.[name] ?? classes.get(cls)?.inputs.optional?.[name];
      if (!spec) throw new Error(`${cls}.${name} missing`);
      return spec;
    };
    expect(checkLiteral(input('TextOverlay', 'color'), '#ffffff')).toBeNull();
    expect(checkLiteral(input('TextOverlay', 'color'), 16777215)).toMatch(
      /expects a COLOR value like the default "#ffffff", got number/,
    );
    const box = { x: 8, y: 8, width: 64, height: 64 };
    expect(checkLiteral(input('ImageCropV2', 'crop_region'), box)).toBeNull();
    expect(
      checkLiteral(input('CurveEditor', 'curve'), {
        points: [
          [0, 0],
          [1, 1],
        ],
        interpolation: 'linear',
      }),
    ).toBeNull();
    // A list default goes as {"__value__": [...]} (a bare 2-list would be a link).
    expect(
      checkLiteral(input('CreateBoundingBoxes', 'last_incoming'), { __value__: [] }),
    ).toBeNull();
    // forceInput without socketless: the UI shows a socket, the catalog wants a link.
    expect(checkLiteral(input('CreateHookKeyframesFromFloats', 'floats_strength'), 1)).toMatch(
      /expects a link to a FLOATS output/,
    );
    expect(checkLiteral(input('TextOverlay', 'images'), 'x.png')).toMatch(
      /expects a link to a IMAGE output, got a literal/,
    );
  });
});

describe('a workflow ComfyUI rejects', () => {
  async function loadError(change: (graph: ApiGraph) => void): Promise<string> {
    const def = await readCatalogJson<ModelDefinition>('models/flux1-dev.json');
    def.key = 'flux1-dev-broken';
    change(def.workflows.TEXT_TO_IMAGE?.graph as ApiGraph);
    const dir = await writeTempCatalog({ 'models/broken.json': def });
    const error = await loadCatalog(dir, { nodeSpecsFile: BUNDLED_NODE_SPECS_FILE }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CatalogError);
    return (error as CatalogError).message;
  }
  const inputs = (graph: ApiGraph, id: string) => (graph[id] as ApiGraph[string]).inputs;
  const at = 'models/broken.json: workflows.TEXT_TO_IMAGE.graph';

  it('is rejected naming node id, class and input: required input missing', async () => {
    const message = await loadError((g) => delete inputs(g, '9').cfg);
    expect(message).toContain(`${at}.9.inputs.cfg: required input "cfg" of KSampler is missing`);
  });

  it('is rejected naming node id, class and input: value not in the combo list', async () => {
    const message = await loadError((g) => {
      inputs(g, '9').sampler_name = 'euler_fast';
    });
    expect(message).toContain(
      `${at}.9.inputs.sampler_name: KSampler.sampler_name: value "euler_fast" is not one of the options`,
    );
  });

  it('is rejected naming node id, class and input: link to an output of the wrong type', async () => {
    const message = await loadError((g) => {
      inputs(g, '10').vae = ['2', 0];
    });
    expect(message).toContain(
      `${at}.10.inputs.vae: type mismatch: node "2" output 0 is CLIP, input takes VAE (VAEDecode.vae)`,
    );
  });
});
