// Requests per minute per API key (RATE_LIMIT_PER_MINUTE), counted by rate-limiter-flexible:
// in this process, or with REDIS_URL in Redis, so the limit holds across API replicas behind
// a load balancer. Requests without a key (the local account in AUTH_MODE=local) are not
// limited.
import type { Redis } from 'ioredis';
import {
  type RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
} from 'rate-limiter-flexible';
import { RateLimitedError } from './auth.errors.ts';
import type { Viewer } from './viewer.ts';

export class RequestLimiter {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    readonly perMinute: number,
    shared?: { redis: Redis; prefix: string },
  ) {
    this.limiter = shared
      ? new RateLimiterRedis({
          storeClient: shared.redis,
          keyPrefix: `${shared.prefix}:rate`,
          points: perMinute,
          duration: 60,
          // Redis unreachable: count in this process meanwhile instead of making requests wait.
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ points: perMinute, duration: 60 }),
        })
      : new RateLimiterMemory({ points: perMinute, duration: 60 });
  }

  /** Counts one request of `viewer`; throws RateLimitedError when over the limit. */
  async consume(viewer: Viewer): Promise<void> {
    if (!viewer.apiKey) return;
    try {
      await this.limiter.consume(viewer.apiKey.id);
    } catch (error) {
      if (error instanceof RateLimiterRes) {
        throw new RateLimitedError(
          this.perMinute,
          Math.max(1, Math.ceil(error.msBeforeNext / 1000)),
        );
      }
      throw error;
    }
  }
}
