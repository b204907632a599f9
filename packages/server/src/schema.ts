// Builds the GraphQL schema from the domain schema files; nothing else.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.ts';
import './errors.ts';
import './enums.ts';
import './auth/auth.schema.ts';
import './credits/credits.schema.ts';
import './models/models.schema.ts';
import './styles/styles.schema.ts';
import './media/media.schema.ts';
import './runs/runs.schema.ts';
import './queue/queue.schema.ts';
import './webhooks/webhooks.schema.ts';

export const schema = lexicographicSortSchema(builder.toSchema());
