// GraphQL type and queries for catalog styles.
import { builder } from '../builder.ts';
import type { CatalogStyle } from './styles.service.ts';

export const StyleRef = builder.objectRef<CatalogStyle>('Style').implement({
  description:
    'A prompt transformation applied in the STYLE stage (e.g. art history, comic). Works with every mode.',
  fields: (t) => ({
    key: t.exposeString('key', {
      description: 'Stable identifier, used as `CreateRunInput.style`.',
    }),
    name: t.exposeString('name', { description: 'Display name.' }),
    category: t.exposeString('category', { description: 'Group for pickers, e.g. art-history.' }),
    description: t.exposeString('description', { description: 'What the style does to a prompt.' }),
    template: t.exposeString('template', {
      description: 'Rule-based transformation; `{prompt}` is replaced by the prompt.',
    }),
    llmInstruction: t.string({
      nullable: true,
      description: 'Instruction given to the LLM when one runs the STYLE stage.',
      resolve: (s) => s.llmInstruction ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  styles: t.field({
    type: [StyleRef],
    description: 'Catalog styles, by category then key.',
    resolve: (_root, _args, ctx) => ctx.services.catalog.styles,
  }),
  style: t.field({
    type: StyleRef,
    nullable: true,
    description: 'One catalog style by key; null when there is none.',
    args: { key: t.arg.string({ required: true, description: 'The style key.' }) },
    resolve: (_root, args, ctx) => ctx.services.catalog.style(args.key) ?? null,
  }),
}));
