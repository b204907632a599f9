// The domain services one server instance uses, built once at startup.
import type { Config } from './config.ts';
import type { Database } from './db/database.ts';
import type { Logger } from './log.ts';
import { MediaService } from './media/media.service.ts';
import { type Catalog, loadCatalog, syncCatalog } from './models/catalog.service.ts';
import { LocalStorage } from './storage/local.storage.ts';
import type { Storage } from './storage/storage.ts';

export interface Services {
  catalog: Catalog;
  storage: Storage;
  media: MediaService;
}

/** Loads the catalog (a broken file throws, naming it), mirrors it into the database, and wires services. */
export async function createServices(config: Config, db: Database, log: Logger): Promise<Services> {
  const catalog = await loadCatalog(config.catalogDir);
  await syncCatalog(db.prisma, catalog);
  log.debug('catalog loaded', { models: catalog.models.length, styles: catalog.styles.length });
  const storage = new LocalStorage(config.mediaDir);
  const media = new MediaService(db.prisma, storage, config.uploads);
  return { catalog, storage, media };
}
