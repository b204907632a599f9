import { defineConfig } from 'prisma/config';

// DATABASE_URL is only needed by `prisma migrate deploy` where Prisma's schema engine
// binary exists; Atelier applies migrations itself (packages/server/src/db/migrate.ts).
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/atelier' },
});
