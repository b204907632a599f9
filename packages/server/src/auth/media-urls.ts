// Signed, expiring media URLs: /media/{id}[/thumbnail]?exp=<unix seconds>&sig=<HMAC>, so an
// <img src> works in a browser without headers. The expiry is rounded up to a window, so the
// same file keeps the same URL for a while and browsers can cache it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type MediaVariant = 'original' | 'thumbnail';

export class MediaUrlSigner {
  private readonly windowSeconds: number;

  constructor(
    private readonly secret: Buffer,
    private readonly ttlSeconds: number,
    private readonly now: () => number = Date.now,
  ) {
    this.windowSeconds = Math.max(1, Math.min(600, Math.floor(ttlSeconds / 10)));
  }

  /** Path and query of a signed URL, valid for at least the TTL. */
  sign(id: string, variant: MediaVariant): string {
    const nowSeconds = Math.floor(this.now() / 1000);
    const exp = Math.ceil((nowSeconds + this.ttlSeconds) / this.windowSeconds) * this.windowSeconds;
    return `${mediaPath(id, variant)}?exp=${exp}&sig=${this.mac(id, variant, exp)}`;
  }

  /** True when `sig` signs this id, variant and expiry, and the expiry has not passed. */
  verify(id: string, variant: MediaVariant, exp: string | null, sig: string | null): boolean {
    if (!exp || !sig || !/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return false;
    const expires = Number(exp);
    if (expires * 1000 <= this.now()) return false;
    const expected = Buffer.from(this.mac(id, variant, expires));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private mac(id: string, variant: MediaVariant, exp: number): string {
    return createHmac('sha256', this.secret)
      .update(`${id.toLowerCase()}\n${variant}\n${exp}`)
      .digest('base64url');
  }
}

export function mediaPath(id: string, variant: MediaVariant): string {
  return `/media/${id}${variant === 'thumbnail' ? '/thumbnail' : ''}`;
}

/**
 * The signing secret: MEDIA_URL_SECRET when set (every API replica needs the same one),
 * else a random one generated once and kept in `$ATELIER_HOME/media-url-secret`.
 */
export async function loadMediaUrlSecret(home: string, configured: string | null): Promise<Buffer> {
  if (configured) return Buffer.from(configured);
  const file = path.join(home, 'media-url-secret');
  const existing = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (existing?.trim()) return Buffer.from(existing.trim());
  const secret = randomBytes(32).toString('base64url');
  await mkdir(home, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return Buffer.from(secret);
}
