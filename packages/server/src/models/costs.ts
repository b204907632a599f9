// What a run costs in credits. Each catalog model has a price per mode (its file's `costs`,
// else the defaults below): per output for image models, per second of output for video and
// audio models, so a longer clip or more outputs cost more.
import type { GenerationMode, MediaKind } from '../generated/prisma/enums.ts';
import type { CatalogModel } from './catalog.service.ts';

/** OUTPUT: per generated file; SECOND: per second of generated video or audio. */
export type CostUnit = 'OUTPUT' | 'SECOND';

export interface ModeCost {
  credits: number;
  unit: CostUnit;
}

/**
 * Defaults per mode. Text-to-image 2 and image-to-image 4 as the SaaS seed charged; edits
 * and inpainting like image-to-image; several references cost more; video and audio per second.
 */
export const DEFAULT_COSTS: Record<GenerationMode, number> = {
  TEXT_TO_IMAGE: 2,
  IMAGE_TO_IMAGE: 4,
  EDIT: 4,
  INPAINT: 4,
  MULTI_REFERENCE: 6,
  TEXT_TO_VIDEO: 5,
  IMAGE_TO_VIDEO: 5,
  TEXT_TO_AUDIO: 1,
  IMAGE_TO_AUDIO: 1,
};

/** The price of one mode of a model with output kind `outputKind`. */
export function modeCost(
  outputKind: MediaKind,
  mode: GenerationMode,
  credits: number | undefined,
): ModeCost {
  return {
    credits: credits ?? DEFAULT_COSTS[mode],
    unit: outputKind === 'IMAGE' ? 'OUTPUT' : 'SECOND',
  };
}

/**
 * Seconds of output one video or audio run makes with resolved `parameters`: frames / fps
 * for video, `duration` for audio; 1 when the model has no such parameters.
 */
export function outputSeconds(parameters: Record<string, unknown>): number {
  const frames = parameters.frames;
  const fps = parameters.fps;
  if (typeof frames === 'number' && typeof fps === 'number' && fps > 0) return frames / fps;
  const duration = parameters.duration;
  if (typeof duration === 'number' && duration > 0) return duration;
  return 1;
}

/** Credits a run of `count` outputs costs (whole credits, rounded up per output). */
export function runCost(
  model: Pick<CatalogModel, 'costs'>,
  mode: GenerationMode,
  parameters: Record<string, unknown>,
  count: number,
): number {
  const cost = model.costs[mode];
  if (!cost) return 0;
  const perOutput =
    cost.unit === 'OUTPUT' ? cost.credits : Math.ceil(cost.credits * outputSeconds(parameters));
  return perOutput * count;
}
