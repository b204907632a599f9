// The catalog: models (with their parameters) and styles. Both rarely change, so these
// queries may be answered from urql's document cache.
import type { AtelierClient } from './client.ts';
import { toDocument } from './document.ts';
import type {
  GenerationMode,
  ModelFieldsFragment,
  StyleFieldsFragment,
} from './generated/graphql.ts';
import {
  ModelsDocument as ModelsSource,
  StylesDocument as StylesSource,
} from './generated/graphql.ts';
import { query } from './request.ts';

/** Typed document of the `Models` query (for urql hooks and custom clients). */
export const ModelsDocument = /* @__PURE__ */ toDocument(ModelsSource);

/** Typed document of the `Styles` query (for urql hooks and custom clients). */
export const StylesDocument = /* @__PURE__ */ toDocument(StylesSource);

/** A catalog model with its modes and parameters (defaults and ranges). */
export type Model = ModelFieldsFragment;

/** One parameter of a model (`CreateRunInput.parameters[name]`). */
export type ModelParameter = ModelFieldsFragment['parameters'][number];

/** A prompt style (STYLE stage); works with every mode. */
export type Style = StyleFieldsFragment;

/** Options of {@link listModels}. */
export interface ListModelsOptions {
  /** Only models supporting this mode. */
  mode?: GenerationMode;
}

/** Lists catalog models, optionally only those supporting `mode`. */
export async function listModels(
  client: AtelierClient,
  options: ListModelsOptions = {},
): Promise<Model[]> {
  const data = await query(
    client,
    'models',
    ModelsDocument,
    { mode: options.mode ?? null },
    'cache-first',
  );
  return data.models;
}

/** Lists catalog styles, by category then key. */
export async function listStyles(client: AtelierClient): Promise<Style[]> {
  return (await query(client, 'styles', StylesDocument, {}, 'cache-first')).styles;
}
