// Styles: Stage-2 prompt transformations from catalog/styles/*.json. The file format is
// checked here; loading and mirroring into the database happen with the models
// (models/catalog.service.ts), so one broken file of either kind stops startup.
import { z } from 'zod';
import { catalogKey, promptTemplate } from '../models/model.definition.ts';

/** Format of a style file. */
export const styleDefinitionSchema = z.strictObject({
  /** Editors' JSON-schema hint; ignored. */
  $schema: z.string().optional(),
  key: catalogKey,
  name: z.string().min(1),
  /** Grouping for pickers, e.g. "art-history", "illustration", "photography". */
  category: catalogKey,
  description: z.string().min(1),
  /** Rule-based transformation: `{prompt}` is replaced by the (translated) prompt. */
  template: promptTemplate,
  /** What an LLM is told to do with the prompt when an LLM runs the STYLE stage. */
  llmInstruction: z.string().min(1).optional(),
});

export type StyleDefinition = z.infer<typeof styleDefinitionSchema>;

/** A style as the catalog serves it. */
export interface CatalogStyle extends Omit<StyleDefinition, '$schema'> {
  /** File it came from, relative to the catalog directory. */
  file: string;
  /** sha256 of the definition; changes when the file's content does. */
  hash: string;
}

/** Applies a style's template to a prompt (every `{prompt}` slot gets the prompt). */
export function applyStyleTemplate(template: string, prompt: string): string {
  return template.split('{prompt}').join(prompt.trim());
}
