// PLACEHOLDER until the media work lands.
import type { Config } from '../config.ts';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Storage } from '../storage/storage.ts';

export class MediaService {
  constructor(
    readonly prisma: PrismaClient,
    readonly storage: Storage,
    readonly limits: Config['uploads'],
  ) {}
}
