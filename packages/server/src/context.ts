// Per-request context: the database client, the services, and who is asking.
import type { Config } from './config.ts';
import type { PrismaClient } from './generated/prisma/client.ts';
import type { Services } from './services.ts';

/** The account a request acts for. Until auth lands, everyone is the built-in local account. */
export interface Viewer {
  accountId: string;
}

export interface Context {
  prisma: PrismaClient;
  services: Services;
  config: Config;
  viewer: Viewer;
  /** Origin the client used (e.g. http://127.0.0.1:4000), for absolute media URLs. */
  origin: string;
}

/** Id of the built-in account that owns everything while authentication is off. */
export const LOCAL_ACCOUNT_ID = '00000000-0000-0000-0000-000000000000';
