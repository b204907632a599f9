// ioredis, loaded only when Redis is configured (REDIS_URL). The modules that use it import
// it through here, at run time, not at the top: the server's bundle (scripts/build-dist.mjs)
// hoists a bundled module's static imports of external packages to the top of the bundle,
// so a static import would load ioredis (and BullMQ, the AWS SDK: ≈ 240 ms and 40 MB
// together) at every start, Redis or not. test/bundle.test.ts keeps it that way.
import type { Redis } from 'ioredis';

export type RedisClass = typeof Redis;

export async function loadRedis(): Promise<RedisClass> {
  return (await import('ioredis')).Redis;
}
