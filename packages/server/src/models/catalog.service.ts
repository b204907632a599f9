// PLACEHOLDER until the catalog lands (owned by the catalog work).
import type { PrismaClient } from '../generated/prisma/client.ts';

export interface Catalog {
  models: unknown[];
  styles: unknown[];
}
export async function loadCatalog(_dir: string): Promise<Catalog> {
  return { models: [], styles: [] };
}
export async function syncCatalog(_prisma: PrismaClient, _catalog: Catalog): Promise<void> {}
