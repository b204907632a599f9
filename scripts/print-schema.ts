// Prints the built GraphQL schema (sorted) to schema.graphql at the repository root.
import { writeFileSync } from 'node:fs';
import { printSchema } from 'graphql';
import { schema } from '../packages/server/src/schema.ts';

const target = new URL('../schema.graphql', import.meta.url);
writeFileSync(target, `${printSchema(schema)}\n`);
console.log('Printed schema.graphql');
