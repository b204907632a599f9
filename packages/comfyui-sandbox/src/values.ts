// The values that flow along links while a prompt executes. ComfyUI passes torch tensors and
// model objects; the sandbox passes small stand-ins that carry what its nodes need: real
// pixels for IMAGE and MASK, handles naming files for models, text for conditionings, and
// latents that describe what the decoder should produce.

/** Interleaved 8-bit pixels, 3 (RGB) or 4 (RGBA) channels. */
export interface RawImage {
  width: number;
  height: number;
  channels: 3 | 4;
  data: Buffer;
}

/** A mask in 0..1 (ComfyUI's MASK: 1 = masked / transparent for LoadImage). */
export interface Mask {
  width: number;
  height: number;
  data: Float32Array;
}

/** IMAGE: a batch of frames ([B, H, W, C] in ComfyUI). */
export interface ImageValue {
  kind: 'IMAGE';
  frames: RawImage[];
}

/** MASK: a batch of masks ([B, H, W]). */
export interface MaskValue {
  kind: 'MASK';
  masks: Mask[];
}

/** A model-like object: MODEL, CLIP, VAE, CLIP_VISION, CONTROL_NET, ... */
export interface HandleValue {
  kind: 'HANDLE';
  type: string;
  /** The model files this handle was loaded from. */
  files: string[];
  /** Patches applied on top (LoRAs, sampling shifts, ...), for the record. */
  patches: string[];
  /** Encoder family for CLIP handles (`flux`, `qwen_image`, `wan`, ...). */
  family?: string;
}

/** CONDITIONING: the prompt text plus what encoders and helpers attached to it. */
export interface ConditioningValue {
  kind: 'CONDITIONING';
  text: string;
  zero: boolean;
  guidance?: number;
  /** Reference images (edit encoders, ReferenceLatent, image-to-video start frames). */
  references: RawImage[];
  /** Noise mask carried by InpaintModelConditioning-style nodes. */
  frameRate?: number;
  extras: string[];
}

/** What a sampler rendered into a latent, for the decoder. */
export interface SampledContent {
  seed: number;
  text: string;
  negative: string;
  steps: number;
  cfg: number;
  denoise: number;
  sampler: string;
}

/** LATENT: the size and kind of media a decoder will produce. */
export interface LatentValue {
  kind: 'LATENT';
  media: 'image' | 'video' | 'audio';
  width: number;
  height: number;
  batch: number;
  /** Frames per batch item (1 for images). */
  frames: number;
  /** Audio duration in seconds. */
  seconds: number;
  /** Pixels the latent was encoded from (img2img, inpaint) or a start image (i2v). */
  source?: RawImage[];
  /** Where to repaint: 1 = repaint (SetLatentNoiseMask, VAEEncodeForInpaint). */
  noiseMask?: Mask;
  /** Images rendered by a sampler (batch × frames), decoded as they are. */
  samples?: RawImage[];
  sampled?: SampledContent;
}

export interface VideoValue {
  kind: 'VIDEO';
  frames: RawImage[];
  fps: number;
  audio?: AudioValue;
}

/** AUDIO: planar float samples in -1..1. */
export interface AudioValue {
  kind: 'AUDIO';
  sampleRate: number;
  channels: Float32Array[];
}

export interface SigmasValue {
  kind: 'SIGMAS';
  steps: number;
  denoise: number;
}

export interface SamplerValue {
  kind: 'SAMPLER';
  name: string;
}

export interface NoiseValue {
  kind: 'NOISE';
  seed: number;
  disabled: boolean;
}

export interface GuiderValue {
  kind: 'GUIDER';
  model: HandleValue | undefined;
  positive: ConditioningValue | undefined;
  negative: ConditioningValue | undefined;
  cfg: number;
}

/** Any other typed object (HOOKS, BOUNDING_BOX, ...), passed along opaquely. */
export interface OpaqueValue {
  kind: 'OPAQUE';
  type: string;
  detail: string;
}

export type Value =
  | ImageValue
  | MaskValue
  | HandleValue
  | ConditioningValue
  | LatentValue
  | VideoValue
  | AudioValue
  | SigmasValue
  | SamplerValue
  | NoiseValue
  | GuiderValue
  | OpaqueValue;

export function isValue(v: unknown, kind: Value['kind']): boolean {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === kind;
}

export function conditioning(
  text: string,
  extra: Partial<ConditioningValue> = {},
): ConditioningValue {
  return { kind: 'CONDITIONING', text, zero: false, references: [], extras: [], ...extra };
}

export function handle(type: string, files: string[], family?: string): HandleValue {
  return { kind: 'HANDLE', type, files, patches: [], ...(family ? { family } : {}) };
}

/**
 * How ComfyUI prints a non-primitive input in `execution_error.current_inputs`
 * (`str(value)` of a tensor or model object).
 */
export function describeValue(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') return v;
  const value = v as Value;
  switch (value.kind) {
    case 'IMAGE': {
      const f = value.frames[0];
      return `tensor(shape=[${value.frames.length}, ${f?.height ?? 0}, ${f?.width ?? 0}, ${f?.channels ?? 3}])`;
    }
    case 'MASK': {
      const m = value.masks[0];
      return `tensor(shape=[${value.masks.length}, ${m?.height ?? 0}, ${m?.width ?? 0}])`;
    }
    case 'HANDLE':
      if (value.type === 'MODEL')
        return '<comfy.model_patcher.ModelPatcher object at 0x7f5a1c2b3d90>';
      if (value.type === 'CLIP') return '<comfy.sd.CLIP object at 0x7f5a1c2b3e50>';
      if (value.type === 'VAE') return '<comfy.sd.VAE object at 0x7f5a1c2b3f10>';
      return `<${value.type} object at 0x7f5a1c2b4000>`;
    case 'LATENT':
      return `{'samples': tensor(shape=[${value.batch}, 16, ${value.frames}, ${Math.ceil(value.height / 8)}, ${Math.ceil(value.width / 8)}])}`;
    case 'CONDITIONING':
      return `[[tensor(shape=[1, 77, 4096]), {'pooled_output': None}]]`;
    default:
      return `<${value.kind} object>`;
  }
}
