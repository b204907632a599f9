// Slots on a ComfyUI server counted across processes. Several executing processes may list
// the same ComfyUI URL (for availability); each keeps its own pool, so without a shared count
// two of them would each send it two prompts. With Redis, every slot taken is a member of a
// sorted set per URL (score: when the hold expires unless renewed), taken by a script that
// first drops expired holds and then adds one only below the limit: atomic across processes.
// A process renews its holds while it lives; a process that dies loses them after the TTL.
// Without Redis (one process) the local count in the pool is the whole truth.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { loadRedis, type RedisClass } from '../redis.ts';

export interface SlotLedger {
  /** Takes a slot on `url` if fewer than `limit` are held in all; the hold's id, or null. */
  take(url: string, limit: number): Promise<string | null>;
  /** Takes a slot whatever the count (a prompt already on that server, being followed). */
  force(url: string): Promise<string>;
  release(url: string, hold: string): Promise<void>;
  /** Slots on `url` other processes hold, as last read (refreshed on every renewal). */
  heldElsewhere(url: string): number;
  /** Calls `listener` when another process released a slot somewhere. */
  onRelease(listener: (url: string) => void): () => void;
  start(urls: string[]): Promise<void>;
  stop(): Promise<void>;
}

/** One process: the pool's own counts are exact. */
export class LocalSlotLedger implements SlotLedger {
  async take(): Promise<string> {
    return randomUUID();
  }
  async force(): Promise<string> {
    return randomUUID();
  }
  async release(): Promise<void> {}
  heldElsewhere(): number {
    return 0;
  }
  onRelease(): () => void {
    return () => {};
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

// KEYS[1]: the URL's set. ARGV: now, expiry, member, limit (0: no limit).
const TAKE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local limit = tonumber(ARGV[4])
if limit > 0 and redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`;

export interface RedisSlotLedgerOptions {
  url: string;
  prefix: string;
  /** This process: hold ids start with it, so its own holds are told apart. */
  owner: string;
  /** A hold not renewed for this long is dropped (its process is gone). Default 30 s. */
  ttlMs?: number;
  log: Logger;
}

export class RedisSlotLedger implements SlotLedger {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly holds = new Map<string, Set<string>>();
  private readonly elsewhere = new Map<string, number>();
  private readonly listeners = new Set<(url: string) => void>();
  private urls: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly channel: string;

  /** A ledger on the Redis at `options.url` (ioredis is loaded now: redis.ts). */
  static async open(options: RedisSlotLedgerOptions): Promise<RedisSlotLedger> {
    return new RedisSlotLedger(options, await loadRedis());
  }

  constructor(
    private readonly options: RedisSlotLedgerOptions,
    Redis: RedisClass,
  ) {
    const connect = () => {
      const client = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: true });
      client.on('error', (error) =>
        options.log.warn('redis connection error', { role: 'slots', error }),
      );
      return client;
    };
    this.redis = connect();
    this.subscriber = connect();
    this.channel = `${options.prefix}:comfy-slots:released`;
  }

  private get ttlMs(): number {
    return this.options.ttlMs ?? 30_000;
  }

  private key(url: string): string {
    return `${this.options.prefix}:comfy-slots:${url}`;
  }

  private async add(url: string, limit: number): Promise<string | null> {
    const hold = `${this.options.owner}:${randomUUID()}`;
    const now = Date.now();
    const ok = await this.redis.eval(
      TAKE,
      1,
      this.key(url),
      now,
      now + this.ttlMs,
      hold,
      limit,
      this.ttlMs * 2,
    );
    if (ok !== 1) return null;
    const mine = this.holds.get(url) ?? new Set<string>();
    this.holds.set(url, mine);
    mine.add(hold);
    return hold;
  }

  take(url: string, limit: number): Promise<string | null> {
    return this.add(url, limit);
  }

  async force(url: string): Promise<string> {
    return (await this.add(url, 0)) as string;
  }

  async release(url: string, hold: string): Promise<void> {
    this.holds.get(url)?.delete(hold);
    await this.redis.zrem(this.key(url), hold);
    await this.redis.publish(this.channel, url);
  }

  heldElsewhere(url: string): number {
    return this.elsewhere.get(url) ?? 0;
  }

  onRelease(listener: (url: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Extends this process's holds and reads what the others hold. */
  private async renew(): Promise<void> {
    const now = Date.now();
    const pipeline = this.redis.pipeline();
    for (const [url, holds] of this.holds) {
      for (const hold of holds) pipeline.zadd(this.key(url), 'XX', now + this.ttlMs, hold);
      // The set itself must outlive the holds in it, however long a prompt runs.
      if (holds.size) pipeline.pexpire(this.key(url), this.ttlMs * 2);
    }
    for (const url of this.urls) pipeline.zrangebyscore(this.key(url), now, '+inf');
    const results = (await pipeline.exec()) ?? [];
    const ranges = results.slice(results.length - this.urls.length);
    const mine = `${this.options.owner}:`;
    this.urls.forEach((url, i) => {
      const members = (ranges[i]?.[1] as string[] | undefined) ?? [];
      this.elsewhere.set(url, members.filter((m) => !m.startsWith(mine)).length);
    });
  }

  async start(urls: string[]): Promise<void> {
    this.urls = urls;
    await this.subscriber.subscribe(this.channel);
    this.subscriber.on('message', (_channel: string, url: string) => {
      // Someone freed a slot: the count changed; read it again, then let the pool look.
      void this.renew()
        .catch((error: unknown) =>
          this.options.log.warn('renewing ComfyUI slot holds failed', { error }),
        )
        .then(() => {
          for (const listener of this.listeners) listener(url);
        });
    });
    await this.renew();
    this.timer = setInterval(
      () => {
        this.renew().catch((error: unknown) =>
          this.options.log.warn('renewing ComfyUI slot holds failed', { error }),
        );
      },
      Math.max(200, Math.floor(this.ttlMs / 6)),
    );
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // Holds of prompts still on a server stay until they expire: a restart follows them.
    this.subscriber.disconnect();
    this.redis.disconnect();
  }
}
