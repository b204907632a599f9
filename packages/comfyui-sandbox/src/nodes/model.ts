// Stand-ins for the model nodes: encoders carry text, latents describe the media to produce,
// samplers render a deterministic SANDBOX picture step by step (progress + previews), and
// decoders hand the rendered pixels on.
import { emptyMask, growMaskBox, resize, resizeMask, rgbOnly } from '../images.ts';
import { renderNoise } from '../render.ts';
import {
  type ConditioningValue,
  conditioning,
  type ImageValue,
  type LatentValue,
  type RawImage,
} from '../values.ts';
import type { NodeContext, NodeImpl } from './context.ts';
import { bool, cond, image, latent, mask, num, optImage, optLatent, str } from './inputs.ts';

export function emptyLatent(
  media: LatentValue['media'],
  width: number,
  height: number,
  batch: number,
  frames = 1,
  seconds = 0,
): LatentValue {
  return { kind: 'LATENT', media, width, height, batch, frames, seconds };
}

function firstFrame(v: ImageValue | undefined): RawImage | undefined {
  return v?.frames[0] ? rgbOnly(v.frames[0]) : undefined;
}

function videoLatent(ctx: NodeContext, start?: RawImage): LatentValue {
  const l = emptyLatent(
    'video',
    num(ctx, 'width', 832),
    num(ctx, 'height', 480),
    num(ctx, 'batch_size', 1),
    num(ctx, 'length', 81),
  );
  if (start) l.source = [start];
  return l;
}

function withReferences(c: ConditioningValue, refs: RawImage[]): ConditioningValue {
  return { ...c, references: [...c.references, ...refs] };
}

async function decode(l: LatentValue): Promise<ImageValue> {
  if (l.samples && l.samples.length > 0) return { kind: 'IMAGE', frames: l.samples };
  const frames: RawImage[] = [];
  for (let b = 0; b < l.batch; b++) {
    const src = l.source?.[Math.min(b, (l.source?.length ?? 1) - 1)];
    for (let f = 0; f < l.frames; f++) {
      frames.push(
        src
          ? await resize(rgbOnly(src), l.width, l.height, 'cubic', 'cover')
          : renderNoise(b * 7919 + f, l.width, l.height),
      );
    }
  }
  return { kind: 'IMAGE', frames };
}

function encode(pixels: ImageValue): LatentValue {
  const first = pixels.frames[0]!;
  const l = emptyLatent('image', first.width, first.height, pixels.frames.length);
  l.source = pixels.frames.map(rgbOnly);
  return l;
}

export const modelNodes: Record<string, NodeImpl> = {
  async CLIPTextEncode(ctx) {
    return { outputs: [conditioning(str(ctx, 'text'))] };
  },

  async CLIPTextEncodeFlux(ctx) {
    const text = str(ctx, 't5xxl') || str(ctx, 'clip_l');
    return { outputs: [conditioning(text, { guidance: num(ctx, 'guidance', 3.5) })] };
  },

  async CLIPTextEncodeSDXL(ctx) {
    const parts = [str(ctx, 'text_g'), str(ctx, 'text_l')].filter(Boolean);
    return { outputs: [conditioning([...new Set(parts)].join(', '))] };
  },

  async TextEncodeQwenImageEdit(ctx) {
    const img = firstFrame(optImage(ctx, 'image'));
    return { outputs: [conditioning(str(ctx, 'prompt'), { references: img ? [img] : [] })] };
  },

  async TextEncodeQwenImageEditPlus(ctx) {
    const refs = ['image1', 'image2', 'image3']
      .map((n) => firstFrame(optImage(ctx, n)))
      .filter((x): x is RawImage => x !== undefined);
    return { outputs: [conditioning(str(ctx, 'prompt'), { references: refs })] };
  },

  async TextEncodeAceStepAudio(ctx) {
    const text = [str(ctx, 'tags'), str(ctx, 'lyrics')].filter(Boolean).join(' / ');
    return { outputs: [conditioning(text)] };
  },

  async ConditioningZeroOut(ctx) {
    return { outputs: [{ ...cond(ctx, 'conditioning'), text: '', zero: true }] };
  },

  async ConditioningCombine(ctx) {
    const a = cond(ctx, 'conditioning_1');
    const b = cond(ctx, 'conditioning_2');
    return {
      outputs: [
        {
          ...a,
          text: [a.text, b.text].filter(Boolean).join(', '),
          references: [...a.references, ...b.references],
        },
      ],
    };
  },

  async FluxGuidance(ctx) {
    return { outputs: [{ ...cond(ctx, 'conditioning'), guidance: num(ctx, 'guidance', 3.5) }] };
  },

  async ReferenceLatent(ctx) {
    const c = cond(ctx, 'conditioning');
    const l = optLatent(ctx, 'latent');
    const ref = l?.samples?.[0] ?? l?.source?.[0];
    return { outputs: [ref ? withReferences(c, [ref]) : c] };
  },

  async LTXVConditioning(ctx) {
    const rate = num(ctx, 'frame_rate', 25);
    return {
      outputs: [
        { ...cond(ctx, 'positive'), frameRate: rate },
        { ...cond(ctx, 'negative'), frameRate: rate },
      ],
    };
  },

  async InpaintModelConditioning(ctx) {
    const pixels = image(ctx, 'pixels');
    const l = encode(pixels);
    if (bool(ctx, 'noise_mask', true)) l.noiseMask = mask(ctx, 'mask').masks[0];
    return { outputs: [cond(ctx, 'positive'), cond(ctx, 'negative'), l] };
  },

  async EmptyLatentImage(ctx) {
    return {
      outputs: [
        emptyLatent(
          'image',
          num(ctx, 'width', 512),
          num(ctx, 'height', 512),
          num(ctx, 'batch_size', 1),
        ),
      ],
    };
  },

  async EmptySD3LatentImage(ctx) {
    return {
      outputs: [
        emptyLatent(
          'image',
          num(ctx, 'width', 1024),
          num(ctx, 'height', 1024),
          num(ctx, 'batch_size', 1),
        ),
      ],
    };
  },

  async EmptyHunyuanLatentVideo(ctx) {
    return { outputs: [videoLatent(ctx)] };
  },

  async EmptyLTXVLatentVideo(ctx) {
    return { outputs: [videoLatent(ctx)] };
  },

  async Wan22ImageToVideoLatent(ctx) {
    return { outputs: [videoLatent(ctx, firstFrame(optImage(ctx, 'start_image')))] };
  },

  async WanImageToVideo(ctx) {
    const start = firstFrame(optImage(ctx, 'start_image'));
    return { outputs: [cond(ctx, 'positive'), cond(ctx, 'negative'), videoLatent(ctx, start)] };
  },

  async WanFirstLastFrameToVideo(ctx) {
    const start =
      firstFrame(optImage(ctx, 'start_image')) ?? firstFrame(optImage(ctx, 'end_image'));
    return { outputs: [cond(ctx, 'positive'), cond(ctx, 'negative'), videoLatent(ctx, start)] };
  },

  async LTXVImgToVideo(ctx) {
    const start = firstFrame(image(ctx, 'image'));
    return { outputs: [cond(ctx, 'positive'), cond(ctx, 'negative'), videoLatent(ctx, start)] };
  },

  async EmptyAceStepLatentAudio(ctx) {
    return {
      outputs: [emptyLatent('audio', 0, 0, num(ctx, 'batch_size', 1), 1, num(ctx, 'seconds', 120))],
    };
  },

  async EmptyLatentAudio(ctx) {
    return {
      outputs: [
        emptyLatent('audio', 0, 0, num(ctx, 'batch_size', 1), 1, num(ctx, 'seconds', 47.6)),
      ],
    };
  },

  async VAEEncode(ctx) {
    return { outputs: [encode(image(ctx, 'pixels'))] };
  },

  async VAEEncodeTiled(ctx) {
    return { outputs: [encode(image(ctx, 'pixels'))] };
  },

  async VAEEncodeForInpaint(ctx) {
    const pixels = image(ctx, 'pixels');
    const l = encode(pixels);
    // As ComfyUI: the mask is resized to the pixels, rounded and grown by grow_mask_by.
    const m = mask(ctx, 'mask').masks[0] ?? emptyMask(l.width, l.height);
    l.noiseMask = growMaskBox(await resizeMask(m, l.width, l.height), num(ctx, 'grow_mask_by', 6));
    return { outputs: [l] };
  },

  async SetLatentNoiseMask(ctx) {
    const l = latent(ctx, 'samples');
    return { outputs: [{ ...l, noiseMask: mask(ctx, 'mask').masks[0] }] };
  },

  async LatentUpscale(ctx) {
    const l = latent(ctx, 'samples');
    let w = num(ctx, 'width', 512);
    let h = num(ctx, 'height', 512);
    if (w === 0 && h === 0) return { outputs: [l] };
    if (w === 0) w = Math.round((l.width * h) / l.height);
    if (h === 0) h = Math.round((l.height * w) / l.width);
    return { outputs: [{ ...l, width: w, height: h }] };
  },

  async LatentUpscaleBy(ctx) {
    const l = latent(ctx, 'samples');
    const s = num(ctx, 'scale_by', 1.5);
    return {
      outputs: [{ ...l, width: Math.round(l.width * s), height: Math.round(l.height * s) }],
    };
  },

  async VAEDecode(ctx) {
    return { outputs: [await decode(latent(ctx, 'samples'))] };
  },

  async VAEDecodeTiled(ctx) {
    return { outputs: [await decode(latent(ctx, 'samples'))] };
  },
};
