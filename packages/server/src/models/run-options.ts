// Options every image model understands the same way, whatever its workflow: `size`
// (presets), `quality` (LOW/MEDIUM/HIGH) and `inputFidelity` (how closely a result keeps its
// source image). Each model's catalog file maps the values it supports to its own
// parameters (steps, width/height, denoise, ...); AUTO leaves the model's defaults. Video
// models may name a maximum area: a video's size is then clamped to it, keeping the
// source's aspect ratio (or the requested one), on the width parameter's grid.
import { z } from 'zod';

export const IMAGE_SIZES = ['AUTO', 'SIZE_1024X1024', 'SIZE_1536X1024', 'SIZE_1024X1536'] as const;
export const QUALITIES = ['AUTO', 'LOW', 'MEDIUM', 'HIGH'] as const;
export const INPUT_FIDELITIES = ['AUTO', 'LOW', 'HIGH'] as const;

export type ImageSize = (typeof IMAGE_SIZES)[number];
export type Quality = (typeof QUALITIES)[number];
export type InputFidelity = (typeof INPUT_FIDELITIES)[number];

const parameterValues = z.record(z.string(), z.union([z.number(), z.string(), z.boolean()]));

/** The `options` of a model file: per value, the parameter values it stands for. */
export const modelOptionsSchema = z
  .strictObject({
    size: z.partialRecord(z.enum(IMAGE_SIZES.slice(1) as [ImageSize]), parameterValues).optional(),
    quality: z.partialRecord(z.enum(QUALITIES.slice(1) as [Quality]), parameterValues).optional(),
    inputFidelity: z
      .partialRecord(z.enum(INPUT_FIDELITIES.slice(1) as [InputFidelity]), parameterValues)
      .optional(),
  })
  .default({});

export type ModelOptions = z.infer<typeof modelOptionsSchema>;
export type OptionName = keyof ModelOptions;

/** The values of one option a model supports (AUTO first when it supports any). */
export function supportedValues(options: ModelOptions, name: OptionName): string[] {
  const values = Object.keys(options[name] ?? {});
  return values.length ? ['AUTO', ...values] : [];
}

/**
 * The parameter values the chosen options stand for (AUTO and unset choose nothing).
 * Throws `{ field, message }` for a value the model does not support.
 */
export function optionParameters(
  options: ModelOptions,
  chosen: Partial<Record<OptionName, string | null | undefined>>,
  modelName: string,
): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const name of ['size', 'quality', 'inputFidelity'] as const) {
    const value = chosen[name];
    if (!value || value === 'AUTO') continue;
    const mapped = (options[name] as Record<string, Record<string, unknown>> | undefined)?.[value];
    if (!mapped) {
      const supported = supportedValues(options, name);
      throw Object.assign(new Error('unsupported option'), {
        field: name,
        message: supported.length
          ? `${modelName} supports ${name} ${supported.join(', ')}, not ${value}`
          : `${modelName} has no ${name} option`,
      });
    }
    Object.assign(values, mapped);
  }
  return values;
}

/**
 * A video size within `maxArea` pixels: the requested size scaled down when larger, keeping
 * its aspect ratio; for `aspect` (a source image's width / height) the largest size of that
 * ratio within the area. Both sides land on the `multiple` grid within [min, max].
 */
export function clampVideoSize(options: {
  width: number;
  height: number;
  maxArea: number;
  multiple: number;
  min: number;
  max: number;
  /** Follow this aspect ratio (width / height) instead of the requested size's. */
  aspect?: number;
}): { width: number; height: number } {
  const { maxArea, multiple, min, max } = options;
  const aspect = options.aspect ?? options.width / options.height;
  const area = options.aspect ? maxArea : Math.min(maxArea, options.width * options.height);
  const fit = (v: number) => Math.min(max, Math.max(min, Math.floor(v / multiple) * multiple));
  let width = fit(Math.sqrt(area * aspect));
  let height = fit(width / aspect);
  // Rounding the two sides separately may still leave the product above the area.
  while (width * height > maxArea && width > min && height > min) {
    if (width / height > aspect) width = fit(width - multiple);
    else height = fit(height - multiple);
  }
  return { width, height };
}
