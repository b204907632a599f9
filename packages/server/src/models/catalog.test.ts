// The committed catalog: every workflow is a valid ComfyUI prompt, every binding lands on a
// real input, the required models are there; and broken catalogs fail loading with the file
// and field named.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../../test/harness.ts';
import type { Database } from '../db/database.ts';
import type { GenerationMode } from '../generated/prisma/enums.ts';
import {
  CATALOG_DIR,
  readCatalogJson,
  removeTempCatalogs,
  SHARED_NODE_SPECS_FILE,
  TEST_NODE_SPECS_FILE,
  writeTempCatalog,
} from './catalog.fixtures.ts';
import { type Catalog, CatalogError, loadCatalog, syncCatalog } from './catalog.service.ts';
import {
  BUNDLED_NODE_SPECS_FILE,
  loadNodeSpecs,
  type NodeSpecs,
  resolveInputs,
} from './comfyui-nodes.ts';
import type { InputRef, ModelDefinition } from './model.definition.ts';
import { type ApiGraph, ancestorsOf, pruneReferenceSlots, validateGraph } from './workflow.ts';

let catalog: Catalog;
let specs: NodeSpecs;

beforeAll(async () => {
  specs = await loadNodeSpecs(TEST_NODE_SPECS_FILE);
  catalog = await loadCatalog(CATALOG_DIR, { nodeSpecsFile: TEST_NODE_SPECS_FILE });
});

/** Every (model, mode) pair of the catalog. */
function workflows() {
  return catalog.models.flatMap((m) =>
    m.modes.map((mode) => ({
      model: m,
      mode,
      wf: m.workflows[mode] as NonNullable<(typeof m.workflows)[GenerationMode]>,
    })),
  );
}

/** Every binding of a workflow with a name for messages. */
function allBindings(wf: ReturnType<typeof workflows>[number]['wf']): [string, InputRef][] {
  const b = wf.bindings;
  return [
    ...b.prompt.map((r, i) => [`prompt.${i}`, r] as [string, InputRef]),
    ...(b.negativePrompt ?? []).map((r, i) => [`negativePrompt.${i}`, r] as [string, InputRef]),
    ...b.seed.map((r, i) => [`seed.${i}`, r] as [string, InputRef]),
    ...Object.entries(b.parameters).flatMap(([n, refs]) =>
      refs.map((r, i) => [`parameters.${n}.${i}`, r] as [string, InputRef]),
    ),
    ...(b.images.source ? [['images.source', b.images.source] as [string, InputRef]] : []),
    ...(b.images.mask ? [['images.mask', b.images.mask] as [string, InputRef]] : []),
    ...(b.images.references ?? []).map(
      (r, i) => [`images.references.${i}`, r] as [string, InputRef],
    ),
    ...(b.batchSize ? [['batchSize', b.batchSize] as [string, InputRef]] : []),
  ];
}

describe('the committed catalog', () => {
  it('ships a copy of the ComfyUI node specifications identical to the shared reference', async () => {
    if (!SHARED_NODE_SPECS_FILE)
      return expect(BUNDLED_NODE_SPECS_FILE).toMatch(/comfyui-nodes\.json$/);
    const [bundled, shared] = await Promise.all([
      readFile(BUNDLED_NODE_SPECS_FILE, 'utf8'),
      readFile(SHARED_NODE_SPECS_FILE, 'utf8'),
    ]);
    expect(JSON.parse(bundled)).toEqual(JSON.parse(shared));
  });

  it('loads with the bundled node specifications by default', async () => {
    const loaded = await loadCatalog(CATALOG_DIR);
    expect(loaded.nodeSpecs.file).toBe(BUNDLED_NODE_SPECS_FILE);
    expect(loaded.models.map((m) => m.key)).toEqual(catalog.models.map((m) => m.key));
  });

  it('validates every workflow against nodes.json: classes, inputs, links, types, ranges', () => {
    expect(workflows().length).toBeGreaterThanOrEqual(14);
    for (const { model, mode, wf } of workflows()) {
      const report = validateGraph(wf.graph, specs);
      expect(report.issues, `${model.key} ${mode}`).toEqual([]);
      expect(report.requiredNodes).toEqual(model.requirements[mode]?.nodes);
      // Every node feeds the output node, which is a real output node.
      expect(ancestorsOf(wf.graph, wf.bindings.output).size, `${model.key} ${mode}`).toBe(
        Object.keys(wf.graph).length,
      );
      const out = specs.classes.get(wf.graph[wf.bindings.output]?.class_type ?? '');
      expect(out?.output_node, `${model.key} ${mode} output`).toBe(true);
    }
  });

  it('binds only existing literal node inputs of the right type', () => {
    for (const { model, mode, wf } of workflows()) {
      for (const [name, ref] of allBindings(wf)) {
        const where = `${model.key} ${mode} ${name} → ${ref.node}.${ref.input}`;
        const node = wf.graph[ref.node];
        expect(node, where).toBeDefined();
        const cls = specs.classes.get(node?.class_type ?? '');
        const input = cls && node ? resolveInputs(cls, node.inputs).get(ref.input) : undefined;
        expect(input, where).toBeDefined();
        expect(node?.inputs, where).toHaveProperty([ref.input]);
        expect(Array.isArray(node?.inputs[ref.input]), `${where} is a link`).toBe(false);
        if (name.startsWith('prompt') || name.startsWith('negativePrompt'))
          expect(input?.spec.type).toBe('STRING');
        if (name.startsWith('seed') || name === 'batchSize') expect(input?.spec.type).toBe('INT');
        if (name.startsWith('images')) expect(input?.spec.folder, where).toBe('input');
      }
    }
  });

  it('keeps parameter defaults in the stored workflows and ranges inside the node ranges', () => {
    for (const { model, mode, wf } of workflows()) {
      for (const [name, refs] of Object.entries(wf.bindings.parameters)) {
        const p = model.parameters.find((x) => x.name === name);
        expect(p, `${model.key} ${name}`).toBeDefined();
        expect(p?.modes).toContain(mode);
        for (const ref of refs) {
          const node = wf.graph[ref.node];
          expect(node?.inputs[ref.input], `${model.key} ${mode} ${name}`).toEqual(p?.default);
          const spec = resolveInputs(
            specs.classes.get(node?.class_type ?? '') as never,
            node?.inputs ?? {},
          ).get(ref.input)?.spec;
          if (p?.min !== undefined && spec?.min !== undefined)
            expect(p.min).toBeGreaterThanOrEqual(spec.min);
          if (p?.max !== undefined && spec?.max !== undefined)
            expect(p.max).toBeLessThanOrEqual(spec.max);
        }
      }
    }
  });

  const required: [key: string, kind: string, modes: GenerationMode[], nodes: string[]][] = [
    [
      'sd3.5-large',
      'IMAGE',
      ['TEXT_TO_IMAGE', 'IMAGE_TO_IMAGE'],
      ['CheckpointLoaderSimple', 'EmptySD3LatentImage'],
    ],
    [
      'flux1-dev',
      'IMAGE',
      ['TEXT_TO_IMAGE', 'IMAGE_TO_IMAGE'],
      ['UNETLoader', 'DualCLIPLoader', 'VAELoader', 'FluxGuidance'],
    ],
    [
      'qwen-image-edit-lightning',
      'IMAGE',
      ['EDIT'],
      ['TextEncodeQwenImageEdit', 'LoraLoaderModelOnly'],
    ],
    ['qwen-image-edit-2509', 'IMAGE', ['EDIT', 'MULTI_REFERENCE'], ['TextEncodeQwenImageEditPlus']],
    [
      'flux1-kontext-dev',
      'IMAGE',
      ['EDIT', 'MULTI_REFERENCE'],
      ['ReferenceLatent', 'FluxGuidance'],
    ],
    ['sd2-inpainting', 'IMAGE', ['INPAINT'], ['VAEEncodeForInpaint', 'LoadImageMask']],
    ['wan2.2-i2v-14b', 'VIDEO', ['IMAGE_TO_VIDEO'], ['KSamplerAdvanced', 'WanImageToVideo']],
    [
      'wan2.1-i2v-480p',
      'VIDEO',
      ['IMAGE_TO_VIDEO'],
      ['CLIPVisionLoader', 'CLIPVisionEncode', 'WanImageToVideo'],
    ],
    ['wan2.2-t2v-14b', 'VIDEO', ['TEXT_TO_VIDEO'], ['KSamplerAdvanced', 'EmptyHunyuanLatentVideo']],
    [
      'ltx-video',
      'VIDEO',
      ['TEXT_TO_VIDEO', 'IMAGE_TO_VIDEO'],
      ['EmptyLTXVLatentVideo', 'LTXVImgToVideo', 'LTXVConditioning'],
    ],
    [
      'ace-step-v1-3.5b',
      'AUDIO',
      ['TEXT_TO_AUDIO', 'IMAGE_TO_AUDIO'],
      ['TextEncodeAceStepAudio', 'EmptyAceStepLatentAudio', 'VAEDecodeAudio'],
    ],
  ];
  it.each(required)('has %s (%s) with its modes and node classes', (key, kind, modes, nodes) => {
    const model = catalog.model(key);
    expect(model, key).toBeDefined();
    expect(model?.outputKind).toBe(kind);
    expect(model?.modes).toEqual(modes);
    for (const node of nodes) expect(model?.requiredNodes).toContain(node);
    expect(model?.requiredModelFiles.length).toBeGreaterThan(0);
    expect(model?.sources.length).toBeGreaterThan(0);
  });

  it('uses two KSamplerAdvanced experts for Wan 2.2 image-to-video and real model files', () => {
    const wf = catalog.model('wan2.2-i2v-14b')?.workflows.IMAGE_TO_VIDEO;
    const samplers = Object.values(wf?.graph ?? {}).filter(
      (n) => n.class_type === 'KSamplerAdvanced',
    );
    expect(samplers).toHaveLength(2);
    expect(catalog.model('sd3.5-large')?.requiredModelFiles).toContainEqual({
      folder: 'checkpoints',
      name: 'sd3.5_large.safetensors',
    });
    expect(catalog.model('flux1-dev')?.requiredModelFiles).toContainEqual({
      folder: 'vae',
      name: 'ae.safetensors',
    });
    expect(catalog.model('qwen-image-edit-lightning')?.requiredModelFiles).toContainEqual({
      folder: 'loras',
      name: 'Qwen-Image-Edit-Lightning-4steps-V1.0-bf16.safetensors',
    });
    // Uploaded images are per run, never required model files.
    for (const m of catalog.models)
      expect(m.requiredModelFiles.map((f) => f.folder)).not.toContain('input');
    // Video models save a video, the audio model audio.
    for (const m of catalog.models) {
      for (const mode of m.modes) {
        const wfm = m.workflows[mode];
        const saver = wfm?.graph[wfm.bindings.output]?.class_type ?? '';
        const expected = {
          IMAGE: /^SaveImage$/,
          VIDEO: /^(SaveVideo|SaveWEBM)$/,
          AUDIO: /^SaveAudio(MP3)?$/,
        }[m.outputKind];
        expect(saver, `${m.key} ${mode}`).toMatch(expected);
      }
    }
  });

  it('lets MULTI_REFERENCE models take 2..maxReferences images, each count a valid prompt', () => {
    const multi = catalog.modelsFor('MULTI_REFERENCE');
    expect(multi.map((m) => m.key).sort()).toEqual(['flux1-kontext-dev', 'qwen-image-edit-2509']);
    for (const m of multi) {
      expect(m.minReferences).toBe(2);
      expect(m.maxReferences).toBeGreaterThanOrEqual(3);
      const wf = m.workflows.MULTI_REFERENCE;
      const slots = wf?.bindings.images.references ?? [];
      expect(slots).toHaveLength(m.maxReferences);
      for (let count = 2; count <= m.maxReferences; count++) {
        const pruned: ApiGraph = pruneReferenceSlots(wf?.graph ?? {}, slots, count);
        expect(validateGraph(pruned, specs).issues, `${m.key} with ${count}`).toEqual([]);
        const loads = Object.values(pruned).filter((n) => n.class_type === 'LoadImage');
        expect(loads, `${m.key} with ${count}`).toHaveLength(count);
        expect(ancestorsOf(pruned, wf?.bindings.output ?? '').size).toBe(
          Object.keys(pruned).length,
        );
      }
      expect(() => pruneReferenceSlots(wf?.graph ?? {}, slots, 1)).toThrow(/mandatory/);
    }
    for (const m of catalog.models)
      if (!m.modes.includes('MULTI_REFERENCE')) expect(m.maxReferences).toBe(0);
  });

  it('has at least 8 styles, each template with a {prompt} slot', () => {
    expect(catalog.styles.length).toBeGreaterThanOrEqual(8);
    for (const s of catalog.styles) {
      expect(s.template, s.key).toContain('{prompt}');
      expect(s.name && s.category && s.description).toBeTruthy();
    }
    expect(catalog.style('renaissance')?.category).toBe('art-history');
    expect(catalog.style('nope')).toBeUndefined();
  });

  it('filters models by mode and finds them by key', () => {
    expect(
      catalog
        .modelsFor('EDIT')
        .map((m) => m.key)
        .sort(),
    ).toEqual(['flux1-kontext-dev', 'qwen-image-edit-2509', 'qwen-image-edit-lightning']);
    expect(catalog.modelsFor('TEXT_TO_AUDIO').map((m) => m.key)).toEqual(['ace-step-v1-3.5b']);
    expect(catalog.modelsFor(null)).toHaveLength(catalog.models.length);
    expect(catalog.model('nope')).toBeUndefined();
  });
});

describe('a broken catalog', () => {
  afterAll(removeTempCatalogs);

  /** Loads a temp catalog and returns the CatalogError it must throw. */
  async function loadError(
    files: Record<string, unknown>,
    copyReal = false,
  ): Promise<CatalogError> {
    const dir = await writeTempCatalog(files, { copyReal });
    const error = await loadCatalog(dir, { nodeSpecsFile: TEST_NODE_SPECS_FILE }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CatalogError);
    return error as CatalogError;
  }

  const flux = () => readCatalogJson<ModelDefinition>('models/flux1-dev.json');

  it('names the file of invalid JSON', async () => {
    const error = await loadError({ 'models/broken.json': '{ "key": "broken", ' }, true);
    expect(error.message).toMatch(/models\/broken\.json: invalid JSON/);
    expect(error.issues).toHaveLength(1);
  });

  it('names the file and field of a schema violation', async () => {
    const def = await flux();
    (def as { outputKind: string }).outputKind = 'HOLOGRAM';
    delete (def as { promptLimit?: number }).promptLimit;
    const error = await loadError({ 'models/schema.json': def });
    expect(error.message).toMatch(/models\/schema\.json: outputKind: /);
    expect(error.message).toMatch(/models\/schema\.json: promptLimit: /);
  });

  it('names an unknown node class', async () => {
    const def = await flux();
    def.workflows.TEXT_TO_IMAGE!.graph['6']!.class_type = 'FluxGuidanceXL';
    const error = await loadError({ 'models/unknown-class.json': def });
    expect(error.message).toContain(
      'models/unknown-class.json: workflows.TEXT_TO_IMAGE.graph.6.class_type: unknown node class "FluxGuidanceXL"',
    );
  });

  it('names a binding to a missing input', async () => {
    const def = await flux();
    const bindings = def.workflows.IMAGE_TO_IMAGE!.bindings;
    bindings.parameters.denoise = [{ node: '9', input: 'strength' }];
    // An optional input the workflow does not set, a linked input, and a missing node.
    bindings.parameters.steps = [{ node: '2', input: 'device' }];
    bindings.parameters.guidance = [{ node: '6', input: 'conditioning' }];
    bindings.prompt = [{ node: '55', input: 'text' }];
    const error = await loadError({ 'models/missing-input.json': def });
    expect(error.message).toMatch(
      /models\/missing-input\.json: workflows\.IMAGE_TO_IMAGE\.bindings\.parameters\.denoise\.0: binding to missing input: KSampler \(node "9"\) has no input "strength"/,
    );
    expect(error.message).toMatch(
      /IMAGE_TO_IMAGE\.bindings\.parameters\.steps\.0: binding to missing input: node "2" does not set "device"/,
    );
    expect(error.message).toMatch(
      /IMAGE_TO_IMAGE\.bindings\.parameters\.guidance\.0: binding to input "conditioning" of node "6", which is a link/,
    );
    expect(error.message).toMatch(
      /IMAGE_TO_IMAGE\.bindings\.prompt\.0: binding to missing node "55"/,
    );
  });

  it('names an out-of-range literal and a combo value not in the options', async () => {
    const def = await flux();
    const sampler = def.workflows.TEXT_TO_IMAGE!.graph['9']!;
    sampler.inputs.denoise = 1.5;
    sampler.inputs.scheduler = 'fast';
    const error = await loadError({ 'models/range.json': def });
    expect(error.message).toContain(
      'models/range.json: workflows.TEXT_TO_IMAGE.graph.9.inputs.denoise: KSampler.denoise: value 1.5 is bigger than max 1',
    );
    expect(error.message).toMatch(
      /workflows\.TEXT_TO_IMAGE\.graph\.9\.inputs\.scheduler: .*"fast" is not one of the options/,
    );
  });

  it('names a link to a missing node or a wrong type', async () => {
    const def = await flux();
    const graph = def.workflows.TEXT_TO_IMAGE!.graph;
    graph['10']!.inputs.vae = ['2', 0];
    graph['7']!.inputs.conditioning = ['77', 0];
    const error = await loadError({ 'models/links.json': def });
    expect(error.message).toMatch(
      /graph\.10\.inputs\.vae: type mismatch: node "2" output 0 is CLIP, input takes VAE/,
    );
    expect(error.message).toMatch(/graph\.7\.inputs\.conditioning: link to missing node "77"/);
  });

  it('names parameters out of the node range, defaults that differ from the workflow, and bad sources', async () => {
    const def = await flux();
    def.parameters.find((p) => p.name === 'steps')!.max = 20000;
    def.workflows.IMAGE_TO_IMAGE!.graph['9']!.inputs.denoise = 0.5;
    def.sources = def.sources.filter((s) => s !== 'comfy_extras/nodes_flux.py');
    const error = await loadError({ 'models/params.json': def });
    expect(error.message).toMatch(
      /bindings\.parameters\.steps\.0: parameter max 20000 is above the input's max 10000/,
    );
    expect(error.message).toMatch(
      /bindings\.parameters\.denoise\.0: holds 0\.5; the stored workflow must hold the parameter default 0\.75/,
    );
    expect(error.message).toMatch(
      /models\/params\.json: sources: missing "comfy_extras\/nodes_flux\.py"/,
    );
  });

  it('names workflows that disagree with the model: images, negative prompt, parameters, output', async () => {
    const def = await flux();
    def.defaultNegativePrompt = 'ugly';
    def.maxReferences = 2;
    const t2i = def.workflows.TEXT_TO_IMAGE!;
    delete t2i.bindings.parameters.height;
    t2i.graph['99'] = { class_type: 'LoadImage', inputs: { image: 'example.png' } };
    t2i.bindings.images = { mask: { node: '99', input: 'image' } };
    delete def.workflows.IMAGE_TO_IMAGE!.bindings.images.source;
    const error = await loadError({ 'models/disagree.json': def });
    for (const expected of [
      /TEXT_TO_IMAGE\.bindings\.negativePrompt: the model has a defaultNegativePrompt/,
      /TEXT_TO_IMAGE\.bindings\.parameters: parameter "height" applies to TEXT_TO_IMAGE but has no binding/,
      /TEXT_TO_IMAGE\.bindings\.images\.mask: TEXT_TO_IMAGE takes no mask image/,
      /TEXT_TO_IMAGE\.graph\.99: node "99" \(LoadImage\) does not feed the output node "11"/,
      /IMAGE_TO_IMAGE\.bindings\.images\.source: IMAGE_TO_IMAGE needs a source image binding/,
      /models\/disagree\.json: maxReferences: is 2 but the MULTI_REFERENCE workflow has 0/,
    ]) {
      expect(error.message).toMatch(expected);
    }

    const video = await flux();
    video.outputKind = 'VIDEO';
    const kind = await loadError({ 'models/kind.json': video });
    expect(kind.message).toMatch(/workflows\.TEXT_TO_IMAGE: TEXT_TO_IMAGE does not produce VIDEO/);
    expect(kind.message).toMatch(
      /TEXT_TO_IMAGE\.bindings\.output: node "11" is SaveImage; VIDEO output goes through SaveVideo/,
    );
  });

  it('names a multi-reference slot that does not prune to a valid prompt', async () => {
    const def = await readCatalogJson<ModelDefinition>('models/flux1-kontext-dev.json');
    delete def.workflows.MULTI_REFERENCE!.bindings.images.references![2]!.prune!.rewire;
    const error = await loadError({ 'models/prune.json': def });
    expect(error.message).toMatch(
      /models\/prune\.json: workflows\.MULTI_REFERENCE\.bindings\.images\.references\.2\.prune\.12\.inputs\.conditioning: with 2 references: required input "conditioning" of FluxGuidance is missing/,
    );
  });

  it('names a style template without {prompt}', async () => {
    const style = await readCatalogJson<Record<string, unknown>>('styles/comic.json');
    const error = await loadError({
      'styles/no-slot.json': { ...style, key: 'no-slot', template: 'comic book art of it' },
    });
    expect(error.message).toMatch(
      /styles\/no-slot\.json: template: must contain the \{prompt\} slot/,
    );
  });

  it('names a duplicate key', async () => {
    const style = await readCatalogJson<Record<string, unknown>>('styles/comic.json');
    const error = await loadError({ 'styles/comic-copy.json': style }, true);
    // Files load in name order, so the later name of the two is reported.
    expect(error.message).toMatch(
      /styles\/comic\.json: key: duplicate key "comic" \(also in styles\/comic-copy\.json\)/,
    );
  });
});

describe('syncCatalog', () => {
  let db: Database;
  let close: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    ({ db, close } = await openTestDatabase());
    await db.migrate();
  });
  afterAll(async () => {
    await close?.();
  });

  it('upserts models and styles, retires removed keys and revives returning ones', async () => {
    await syncCatalog(db.prisma, catalog);
    const flux = await db.prisma.model.findUniqueOrThrow({ where: { key: 'flux1-dev' } });
    expect(flux).toMatchObject({
      name: 'FLUX.1 [dev]',
      outputKind: 'IMAGE',
      modes: ['TEXT_TO_IMAGE', 'IMAGE_TO_IMAGE'],
      hash: catalog.model('flux1-dev')?.hash,
      retiredAt: null,
    });
    expect((flux.definition as { workflows: object }).workflows).toHaveProperty('TEXT_TO_IMAGE');
    expect(await db.prisma.model.count()).toBe(catalog.models.length);
    expect(await db.prisma.style.count()).toBe(catalog.styles.length);
    const comic = await db.prisma.style.findUniqueOrThrow({ where: { key: 'comic' } });
    expect(comic.template).toContain('{prompt}');

    const smaller: Catalog = {
      ...catalog,
      models: catalog.models.filter((m) => m.key !== 'flux1-dev'),
      styles: catalog.styles.filter((s) => s.key !== 'comic'),
    };
    await syncCatalog(db.prisma, smaller);
    expect(
      (await db.prisma.model.findUniqueOrThrow({ where: { key: 'flux1-dev' } })).retiredAt,
    ).toBeInstanceOf(Date);
    expect(
      (await db.prisma.style.findUniqueOrThrow({ where: { key: 'comic' } })).retiredAt,
    ).toBeInstanceOf(Date);
    expect(
      (await db.prisma.model.findUniqueOrThrow({ where: { key: 'sd3.5-large' } })).retiredAt,
    ).toBeNull();

    const renamed: Catalog = {
      ...catalog,
      models: catalog.models.map((m) =>
        m.key === 'ltx-video' ? { ...m, name: 'LTX renamed', hash: 'changed' } : m,
      ),
    };
    await syncCatalog(db.prisma, renamed);
    expect(
      (await db.prisma.model.findUniqueOrThrow({ where: { key: 'flux1-dev' } })).retiredAt,
    ).toBeNull();
    expect(
      (await db.prisma.style.findUniqueOrThrow({ where: { key: 'comic' } })).retiredAt,
    ).toBeNull();
    expect((await db.prisma.model.findUniqueOrThrow({ where: { key: 'ltx-video' } })).name).toBe(
      'LTX renamed',
    );
  });
});
