// PLACEHOLDER until the media work lands.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { PrismaClient } from '../generated/prisma/client.ts';
import type { Storage } from '../storage/storage.ts';

export async function handleMediaRequest(
  _req: IncomingMessage,
  res: ServerResponse,
  _deps: { prisma: PrismaClient; storage: Storage },
): Promise<void> {
  res.writeHead(404).end();
}
