// Samplers: the stand-in for diffusion. The final media is rendered up front (seed, prompt,
// input image, noise mask) so each step can report progress with a preview blending seeded
// noise towards it; schedulers, sampler selectors, noise and guiders just carry settings.
import { resize, resizeMask, rgbOnly } from '../images.ts';
import { blendOverlay, mix, renderCaption, renderNoise, renderPicture } from '../render.ts';
import type {
  ConditioningValue,
  GuiderValue,
  HandleValue,
  LatentValue,
  Mask,
  NoiseValue,
  RawImage,
  SamplerValue,
  SigmasValue,
} from '../values.ts';
import type { NodeContext, NodeImpl } from './context.ts';
import { latent, num, optCond, optHandle, str } from './inputs.ts';

interface SampleRequest {
  seed: number;
  steps: number;
  cfg: number;
  denoise: number;
  sampler: string;
  positive: ConditioningValue | undefined;
  negative: ConditioningValue | undefined;
  latent: LatentValue;
  model: HandleValue | undefined;
}

/**
 * The sampler stand-in. Renders the final media up front (so each step can preview a blend
 * from seeded noise towards it), then reports `steps` progress updates with previews.
 */
export async function sample(ctx: NodeContext, req: SampleRequest): Promise<LatentValue> {
  const l = req.latent;
  const text = req.positive && !req.positive.zero ? req.positive.text : '';
  const sampled = {
    seed: req.seed,
    text,
    negative: req.negative?.text ?? '',
    steps: req.steps,
    cfg: req.cfg,
    denoise: req.denoise,
    sampler: req.sampler,
  };
  if (l.media === 'audio') {
    for (let i = 1; i <= req.steps; i++) await ctx.progress(i, req.steps);
    return { ...l, sampled };
  }

  const { width, height } = l;
  const refs = req.positive?.references ?? [];
  const sourceFrames = l.source ?? [];
  const mask: Mask | undefined = l.noiseMask
    ? await resizeMask(l.noiseMask, width, height)
    : undefined;
  const model = req.model?.files[0] ?? 'no model';
  const caption = await renderCaption(
    width,
    height,
    text || '(empty prompt)',
    `seed ${req.seed} ${req.steps} steps ${model}`,
  );
  const samples: RawImage[] = [];
  for (let b = 0; b < l.batch; b++) {
    const seed = req.seed + b;
    let base: RawImage | undefined;
    let strength = 1;
    const src = sourceFrames[Math.min(b, sourceFrames.length - 1)];
    if (src) {
      base = await resize(rgbOnly(src), width, height, 'cubic', 'cover');
      strength = l.media === 'video' ? 0.25 : Math.max(0.15, req.denoise * 0.6);
    } else if (refs[0]) {
      base = await resize(rgbOnly(refs[0]), width, height, 'cubic', 'cover');
      strength = 0.45;
    }
    for (let f = 0; f < l.frames; f++) {
      const time = l.frames > 1 ? f / l.frames : 0;
      const s = l.media === 'video' && base ? Math.min(0.85, strength + 0.6 * time) : strength;
      const picture = renderPicture({ seed, text, width, height, time, base, strength: s, mask });
      // Inpainting (a base and a mask): the caption stays inside the repainted area.
      samples.push(blendOverlay(picture, caption, base ? mask : undefined));
    }
  }

  const total = req.steps;
  if (total > 0) {
    const previewScale = Math.min(1, ctx.previewSize / Math.max(width, height));
    let small: RawImage | undefined;
    let noise: RawImage | undefined;
    for (let i = 1; i <= total; i++) {
      await ctx.progress(i, total, () => {
        if (!small || !noise) {
          small = downscaleNearest(samples[0]!, previewScale);
          noise = renderNoise(req.seed, small.width, small.height);
        }
        return mix(noise, small, i / total);
      });
    }
  }
  const out: LatentValue = { ...l, samples, sampled };
  delete out.noiseMask;
  return out;
}

function downscaleNearest(img: RawImage, scale: number): RawImage {
  const width = Math.max(1, Math.round(img.width * scale));
  const height = Math.max(1, Math.round(img.height * scale));
  if (width === img.width && height === img.height) return img;
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(img.height - 1, Math.floor(y / scale));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(img.width - 1, Math.floor(x / scale));
      const si = (sy * img.width + sx) * img.channels;
      const di = (y * width + x) * 3;
      data[di] = img.data[si]!;
      data[di + 1] = img.data[si + 1]!;
      data[di + 2] = img.data[si + 2]!;
    }
  }
  return { width, height, channels: 3, data };
}

function sigmas(steps: number, denoise = 1): SigmasValue {
  return { kind: 'SIGMAS', steps, denoise };
}

export const samplingNodes: Record<string, NodeImpl> = {
  async KSampler(ctx) {
    return {
      outputs: [
        await sample(ctx, {
          seed: num(ctx, 'seed', 0),
          steps: num(ctx, 'steps', 20),
          cfg: num(ctx, 'cfg', 8),
          denoise: num(ctx, 'denoise', 1),
          sampler: str(ctx, 'sampler_name', 'euler'),
          positive: optCond(ctx, 'positive'),
          negative: optCond(ctx, 'negative'),
          latent: latent(ctx, 'latent_image'),
          model: optHandle(ctx, 'model'),
        }),
      ],
    };
  },

  async KSamplerAdvanced(ctx) {
    const steps = num(ctx, 'steps', 20);
    const start = num(ctx, 'start_at_step', 0);
    const end = Math.min(num(ctx, 'end_at_step', 10000), steps);
    return {
      outputs: [
        await sample(ctx, {
          seed: num(ctx, 'noise_seed', 0),
          steps: Math.max(0, end - start),
          cfg: num(ctx, 'cfg', 8),
          denoise: 1,
          sampler: str(ctx, 'sampler_name', 'euler'),
          positive: optCond(ctx, 'positive'),
          negative: optCond(ctx, 'negative'),
          latent: latent(ctx, 'latent_image'),
          model: optHandle(ctx, 'model'),
        }),
      ],
    };
  },

  async SamplerCustom(ctx) {
    const s = ctx.inputs.sigmas as SigmasValue | undefined;
    const sampler = ctx.inputs.sampler as SamplerValue | undefined;
    const out = await sample(ctx, {
      seed: num(ctx, 'noise_seed', 0),
      steps: s?.steps ?? 20,
      cfg: num(ctx, 'cfg', 8),
      denoise: s?.denoise ?? 1,
      sampler: sampler?.name ?? 'euler',
      positive: optCond(ctx, 'positive'),
      negative: optCond(ctx, 'negative'),
      latent: latent(ctx, 'latent_image'),
      model: optHandle(ctx, 'model'),
    });
    return { outputs: [out, out] };
  },

  async SamplerCustomAdvanced(ctx) {
    const s = ctx.inputs.sigmas as SigmasValue | undefined;
    const sampler = ctx.inputs.sampler as SamplerValue | undefined;
    const noise = ctx.inputs.noise as NoiseValue | undefined;
    const guider = ctx.inputs.guider as GuiderValue | undefined;
    const out = await sample(ctx, {
      seed: noise?.seed ?? 0,
      steps: s?.steps ?? 20,
      cfg: guider?.cfg ?? 1,
      denoise: s?.denoise ?? 1,
      sampler: sampler?.name ?? 'euler',
      positive: guider?.positive,
      negative: guider?.negative,
      latent: latent(ctx, 'latent_image'),
      model: guider?.model,
    });
    return { outputs: [out, out] };
  },

  async KSamplerSelect(ctx) {
    return { outputs: [{ kind: 'SAMPLER', name: str(ctx, 'sampler_name', 'euler') }] };
  },

  async BasicScheduler(ctx) {
    return { outputs: [sigmas(num(ctx, 'steps', 20), num(ctx, 'denoise', 1))] };
  },

  async LTXVScheduler(ctx) {
    return { outputs: [sigmas(num(ctx, 'steps', 20))] };
  },

  async Flux2Scheduler(ctx) {
    return { outputs: [sigmas(num(ctx, 'steps', 20))] };
  },

  async SplitSigmas(ctx) {
    const s = (ctx.inputs.sigmas as SigmasValue | undefined) ?? sigmas(20);
    const step = Math.min(num(ctx, 'step', 0), s.steps);
    return { outputs: [sigmas(step, s.denoise), sigmas(s.steps - step, s.denoise)] };
  },

  async RandomNoise(ctx) {
    return { outputs: [{ kind: 'NOISE', seed: num(ctx, 'noise_seed', 0), disabled: false }] };
  },

  async DisableNoise() {
    return { outputs: [{ kind: 'NOISE', seed: 0, disabled: true }] };
  },

  async CFGGuider(ctx) {
    const g: GuiderValue = {
      kind: 'GUIDER',
      model: optHandle(ctx, 'model'),
      positive: optCond(ctx, 'positive'),
      negative: optCond(ctx, 'negative'),
      cfg: num(ctx, 'cfg', 8),
    };
    return { outputs: [g] };
  },

  async BasicGuider(ctx) {
    const g: GuiderValue = {
      kind: 'GUIDER',
      model: optHandle(ctx, 'model'),
      positive: optCond(ctx, 'conditioning'),
      negative: undefined,
      cfg: 1,
    };
    return { outputs: [g] };
  },
};
