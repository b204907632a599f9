// The nine generation modes: labels, what inputs each takes, what it produces.
import type { GenerationMode } from '@atelier/sdk';

export interface ModeInfo {
  mode: GenerationMode;
  label: string;
  hint: string;
  /** Takes one source image. */
  source: boolean;
  /** Takes a painted mask over the source. */
  mask: boolean;
  /** Takes several reference images. */
  references: boolean;
}

export const MODES: readonly ModeInfo[] = [
  {
    mode: 'TEXT_TO_IMAGE',
    label: 'Text → Image',
    hint: 'Describe a picture and generate it.',
    source: false,
    mask: false,
    references: false,
  },
  {
    mode: 'IMAGE_TO_IMAGE',
    label: 'Image → Image',
    hint: 'Reimagine a source image guided by your prompt.',
    source: true,
    mask: false,
    references: false,
  },
  {
    mode: 'EDIT',
    label: 'Edit',
    hint: 'Change a source image with an instruction.',
    source: true,
    mask: false,
    references: false,
  },
  {
    mode: 'INPAINT',
    label: 'Inpaint',
    hint: 'Paint over the part of the image to repaint.',
    source: true,
    mask: true,
    references: false,
  },
  {
    mode: 'MULTI_REFERENCE',
    label: 'Multi-reference',
    hint: 'Compose several reference images into one.',
    source: false,
    mask: false,
    references: true,
  },
  {
    mode: 'TEXT_TO_VIDEO',
    label: 'Text → Video',
    hint: 'Describe a scene and its motion.',
    source: false,
    mask: false,
    references: false,
  },
  {
    mode: 'IMAGE_TO_VIDEO',
    label: 'Image → Video',
    hint: 'Animate a still image.',
    source: true,
    mask: false,
    references: false,
  },
  {
    mode: 'TEXT_TO_AUDIO',
    label: 'Text → Audio',
    hint: 'Describe music or sound.',
    source: false,
    mask: false,
    references: false,
  },
  {
    mode: 'IMAGE_TO_AUDIO',
    label: 'Image → Audio',
    hint: 'Hear a picture: it is described, and the description becomes sound.',
    source: true,
    mask: false,
    references: false,
  },
];

export function modeInfo(mode: GenerationMode): ModeInfo {
  return MODES.find((m) => m.mode === mode) ?? MODES[0]!;
}

export const STAGE_LABELS: Record<string, string> = {
  DESCRIBE: 'Describe',
  TRANSLATE: 'Translate',
  STYLE: 'Style',
  OPTIMIZE: 'Optimize',
  GENERATE: 'Generate',
};

export const STAGE_HINTS: Record<string, string> = {
  DESCRIBE: 'the picture in words',
  TRANSLATE: 'to English, safety check',
  STYLE: 'apply the style',
  OPTIMIZE: 'shape the prompt for the model',
  GENERATE: 'on a ComfyUI worker',
};
