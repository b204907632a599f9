// The workflow validator against ComfyUI's node specifications, one rule at a time.
import { beforeAll, describe, expect, it } from 'vitest';
import { TEST_NODE_SPECS_FILE } from './catalog.fixtures.ts';
import { loadNodeSpecs, type NodeSpecs, typesCompatible } from './comfyui-nodes.ts';
import { type ApiGraph, pruneReferenceSlots, validateGraph } from './workflow.ts';

let specs: NodeSpecs;
beforeAll(async () => {
  specs = await loadNodeSpecs(TEST_NODE_SPECS_FILE);
});

/** The model-free workflow from PROTOCOL.md §8.2. */
const invert = (): ApiGraph => ({
  '1': {
    class_type: 'EmptyImage',
    inputs: { width: 64, height: 64, batch_size: 1, color: 16711680 },
  },
  '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
  '3': { class_type: 'ImageBlur', inputs: { image: ['2', 0], blur_radius: 3, sigma: 1.0 } },
  '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'test/inv' } },
});

function messages(graph: ApiGraph): string[] {
  return validateGraph(graph, specs).issues.map((i) => `${i.path}: ${i.message}`);
}

describe('validateGraph', () => {
  it('accepts a valid workflow and derives its node classes', () => {
    const report = validateGraph(invert(), specs);
    expect(report.issues).toEqual([]);
    expect(report.requiredNodes).toEqual(['EmptyImage', 'ImageBlur', 'ImageInvert', 'SaveImage']);
    expect(report.requiredModelFiles).toEqual([]);
  });

  it('rejects an unknown node class', () => {
    const g = invert();
    g['2'] = { class_type: 'ImageInvertt', inputs: { image: ['1', 0] } };
    expect(messages(g)).toContainEqual(
      expect.stringMatching(/^2\.class_type: unknown node class "ImageInvertt"/),
    );
  });

  it('rejects a missing required input and an unknown input', () => {
    const g = invert();
    delete g['3']?.inputs.sigma;
    (g['3'] as { inputs: Record<string, unknown> }).inputs.radius = 2;
    const found = messages(g);
    expect(found).toContainEqual(
      expect.stringMatching(/^3\.inputs\.sigma: required input "sigma"/),
    );
    expect(found).toContainEqual(
      expect.stringMatching(/^3\.inputs\.radius: ImageBlur has no input "radius"/),
    );
  });

  it('lets optional and hidden inputs be absent, and accepts hidden ones when sent', () => {
    const g = invert();
    (g['4'] as { inputs: Record<string, unknown> }).inputs.extra_pnginfo = 'x';
    expect(messages(g)).toEqual([]);
  });

  it('checks links: missing node, missing output, bad shape, type mismatch', () => {
    const missingNode = invert();
    (missingNode['2'] as { inputs: Record<string, unknown> }).inputs.image = ['99', 0];
    expect(messages(missingNode)).toContainEqual(
      expect.stringMatching(/^2\.inputs\.image: link to missing node "99"/),
    );

    const missingOutput = invert();
    (missingOutput['2'] as { inputs: Record<string, unknown> }).inputs.image = ['1', 3];
    expect(messages(missingOutput)).toContainEqual(
      expect.stringMatching(/link to output 3 of node "1"/),
    );

    const notALink = invert();
    (notALink['2'] as { inputs: Record<string, unknown> }).inputs.image = [1, 0];
    expect(messages(notALink)).toContainEqual(
      expect.stringMatching(/^2\.inputs\.image: a 2-element list is a link/),
    );

    const mismatch: ApiGraph = {
      ...invert(),
      '5': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '6': { class_type: 'SaveImage', inputs: { images: ['5', 1], filename_prefix: 'mask' } },
    };
    expect(messages(mismatch)).toContainEqual(
      expect.stringMatching(
        /^6\.inputs\.images: type mismatch: node "5" output 1 is MASK, input takes IMAGE/,
      ),
    );
  });

  it('treats `*`, multi-types and match types as ComfyUI does', () => {
    expect(typesCompatible('IMAGE', ['IMAGE', 'MASK'])).toBe(true);
    expect(typesCompatible('MASK', ['IMAGE', 'MASK'])).toBe(true);
    expect(typesCompatible('LATENT', ['IMAGE', 'MASK'])).toBe(false);
    expect(typesCompatible('IMAGE,MASK', ['MASK'])).toBe(true);
    expect(typesCompatible('LATENT', ['*'])).toBe(true);

    const base: ApiGraph = {
      '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '2': { class_type: 'PreviewAny', inputs: { source: ['1', 1] } },
      // ResizeImageMaskNode's output follows the type linked into `input` (COMFY_MATCHTYPE_V3).
      '3': {
        class_type: 'ResizeImageMaskNode',
        inputs: {
          input: ['1', 0],
          resize_type: 'match size',
          'resize_type.match': ['1', 1],
          'resize_type.crop': 'center',
          scale_method: 'area',
        },
      },
      '4': { class_type: 'SaveImage', inputs: { images: ['3', 0], filename_prefix: 'x' } },
    };
    const spec = specs.classes.get('ResizeImageMaskNode');
    expect(spec, 'ResizeImageMaskNode in nodes.json').toBeDefined();
    const required = Object.keys(spec?.inputs.required ?? {});
    for (const name of required) {
      if (!(name in (base['3'] as { inputs: object }).inputs)) {
        (base['3'] as { inputs: Record<string, unknown> }).inputs[name] =
          spec?.inputs.required?.[name]?.default;
      }
    }
    expect(messages(base)).toEqual([]);

    const maskIntoSave = structuredClone(base);
    (maskIntoSave['3'] as { inputs: Record<string, unknown> }).inputs.input = ['1', 1];
    expect(messages(maskIntoSave)).toContainEqual(
      expect.stringMatching(/^4\.inputs\.images: type mismatch: node "3" output 0 is MASK/),
    );
  });

  it('flattens V3 dynamic combo sub-inputs with dots, per selected option (nested too)', () => {
    // SaveVideo as ComfyUI 783545f689a0 declares it: `format` is a dynamic combo whose options
    // each add `format.codec`, itself a dynamic combo (`webm` offers no h264).
    const video = (inputs: Record<string, unknown>): ApiGraph => ({
      '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0 } },
      '2': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 24 } },
      '3': {
        class_type: 'SaveVideo',
        inputs: { video: ['2', 0], filename_prefix: 'video/x', ...inputs },
      },
    });
    expect(messages(video({ format: 'auto', 'format.codec': 'auto' }))).toEqual([]);
    expect(
      messages(video({ format: 'mp4', 'format.codec': 'h264', 'format.codec.encoding': 'auto' })),
    ).toEqual([]);
    const reencode = {
      format: 'mkv',
      'format.codec': 'av1',
      'format.codec.encoding': 're-encode',
      'format.codec.encoding.crf': 30,
      'format.codec.encoding.color_space': 'HDR',
    };
    expect(messages(video(reencode))).toEqual([]);
    const { 'format.codec.encoding.crf': _, ...noCrf } = reencode;
    expect(messages(video(noCrf))).toContainEqual(
      expect.stringMatching(/^3\.inputs\.format\.codec\.encoding\.crf: required input/),
    );
    // The selected option's required sub-inputs are required (ComfyUI only expands what is
    // sent, so it would pass the node a missing codec; the catalog is stricter).
    expect(messages(video({ format: 'auto' }))).toContainEqual(
      expect.stringMatching(/^3\.inputs\.format\.codec: required input "format\.codec"/),
    );
    expect(
      messages(video({ format: 'auto', 'format.codec': 'auto', 'format.codec.encoding': 'auto' })),
    ).toContainEqual(
      expect.stringMatching(
        /^3\.inputs\.format\.codec\.encoding: SaveVideo has no input "format\.codec\.encoding"/,
      ),
    );
    expect(messages(video({ format: 'webm', 'format.codec': 'h264' }))).toContainEqual(
      expect.stringMatching(
        /^3\.inputs\.format\.codec: .*not one of the options \("auto", "av1"\)/,
      ),
    );
    // The old top-level `codec` is still declared (optional, hidden in the UI).
    expect(messages(video({ format: 'auto', 'format.codec': 'auto', codec: 'auto' }))).toEqual([]);
  });

  it('checks literals: type, min/max, static combo options', () => {
    const g = invert();
    const inputs = (id: string) => (g[id] as { inputs: Record<string, unknown> }).inputs;
    inputs('3').blur_radius = 32;
    inputs('3').sigma = 'soft';
    inputs('1').width = 0.5;
    expect(messages(g)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^3\.inputs\.blur_radius: .*value 32 is bigger than max 31/),
        expect.stringMatching(/^3\.inputs\.sigma: .*expects FLOAT/),
        expect.stringMatching(/^1\.inputs\.width: .*expects INT, got 0\.5/),
      ]),
    );
    const combo: ApiGraph = {
      '1': { class_type: 'LoadImage', inputs: { image: 'example.png' } },
      '2': {
        class_type: 'ImageScale',
        inputs: {
          image: ['1', 0],
          upscale_method: 'nearest',
          width: 0,
          height: 0,
          crop: 'disabled',
        },
      },
      '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } },
    };
    expect(messages(combo)).toContainEqual(
      expect.stringMatching(/^2\.inputs\.upscale_method: .*"nearest" is not one of the options/),
    );
    const linkTypedLiteral = invert();
    (linkTypedLiteral['2'] as { inputs: Record<string, unknown> }).inputs.image = 'example.png';
    expect(messages(linkTypedLiteral)).toContainEqual(
      expect.stringMatching(/^2\.inputs\.image: .*expects a link to a IMAGE output/),
    );
  });

  it('collects model files from run-time combos, but not uploaded input files', () => {
    const g: ApiGraph = {
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'any-name.safetensors' } },
      '2': {
        class_type: 'LoraLoaderModelOnly',
        inputs: { model: ['1', 0], lora_name: 'style.safetensors', strength_model: 1 },
      },
      '3': { class_type: 'LoadImage', inputs: { image: 'photo.png' } },
      '4': { class_type: 'VAEEncode', inputs: { pixels: ['3', 0], vae: ['1', 2] } },
      '5': { class_type: 'CLIPTextEncode', inputs: { text: 'x', clip: ['1', 1] } },
      '6': {
        class_type: 'KSampler',
        inputs: {
          model: ['2', 0],
          seed: 1,
          steps: 4,
          cfg: 1,
          sampler_name: 'euler',
          scheduler: 'simple',
          positive: ['5', 0],
          negative: ['5', 0],
          latent_image: ['4', 0],
          denoise: 0.5,
        },
      },
      '7': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['1', 2] } },
      '8': { class_type: 'SaveImage', inputs: { images: ['7', 0], filename_prefix: 'x' } },
    };
    const report = validateGraph(g, specs);
    expect(report.issues).toEqual([]);
    expect(report.requiredModelFiles).toEqual([
      { folder: 'checkpoints', name: 'any-name.safetensors' },
      { folder: 'loras', name: 'style.safetensors' },
    ]);
  });

  it('requires an output node and rejects cycles', () => {
    const noOutput = invert();
    delete noOutput['4'];
    expect(messages(noOutput)).toContainEqual(expect.stringMatching(/no output node/));

    const cycle = invert();
    (cycle['1'] as ApiGraph[string]) = { class_type: 'ImageInvert', inputs: { image: ['3', 0] } };
    expect(messages(cycle)).toContainEqual(expect.stringMatching(/dependency cycle/));
  });
});

describe('pruneReferenceSlots', () => {
  const chain = (): ApiGraph => ({
    a: { class_type: 'LoadImage', inputs: { image: 'a.png' } },
    b: { class_type: 'LoadImage', inputs: { image: 'b.png' } },
    c: { class_type: 'LoadImage', inputs: { image: 'c.png' } },
    ab: {
      class_type: 'ImageBlend',
      inputs: { image1: ['a', 0], image2: ['b', 0], blend_factor: 0.5, blend_mode: 'normal' },
    },
    abc: {
      class_type: 'ImageBlend',
      inputs: { image1: ['ab', 0], image2: ['c', 0], blend_factor: 0.5, blend_mode: 'normal' },
    },
    save: { class_type: 'SaveImage', inputs: { images: ['abc', 0], filename_prefix: 'x' } },
  });
  const slots = [
    {},
    {},
    {
      prune: {
        nodes: ['c', 'abc'],
        rewire: [{ from: ['abc', 0] as [string, number], to: ['ab', 0] as [string, number] }],
      },
    },
  ];

  it('removes the unused slot, rewires the chain and leaves a valid prompt', () => {
    const pruned = pruneReferenceSlots(chain(), slots, 2);
    expect(Object.keys(pruned).sort()).toEqual(['a', 'ab', 'b', 'save']);
    expect(pruned.save?.inputs.images).toEqual(['ab', 0]);
    expect(validateGraph(pruned, specs).issues).toEqual([]);
    expect(pruneReferenceSlots(chain(), slots, 3)).toEqual(chain());
  });

  it('drops inputs that still link to removed nodes and refuses mandatory slots', () => {
    const pruned = pruneReferenceSlots(chain(), [{}, {}, { prune: { nodes: ['c'] } }], 2);
    expect(pruned.abc?.inputs).not.toHaveProperty('image2');
    expect(messages(pruned)).toContainEqual(
      expect.stringMatching(/^abc\.inputs\.image2: required input/),
    );
    expect(() => pruneReferenceSlots(chain(), slots, 1)).toThrow(/slot 1 is mandatory/);
  });
});
