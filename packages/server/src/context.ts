// Per-request context: the database client, the services, and who is asking.
import type { Viewer } from './auth/viewer.ts';
import type { Config } from './config.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import type { Services } from './services.ts';

export type { Viewer } from './auth/viewer.ts';

export interface Context {
  prisma: PrismaClient;
  services: Services;
  config: Config;
  /** Who the request acts for, authenticated before execution. */
  viewer: Viewer;
  /** Origin the client used (e.g. http://127.0.0.1:4000), for absolute media URLs. */
  origin: string;
}
