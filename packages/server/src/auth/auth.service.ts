// Accounts and API keys: creating them, revoking keys, and turning a request's credentials
// into a Viewer. Keys are `atl_` + 40 random base62 characters; only their SHA-256 is stored,
// with the first 12 characters as a prefix to recognise them in lists. No GraphQL here.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { NotFoundError, ValidationError } from '../domain-errors.ts';
import type { Account, ApiKey, PrismaClient } from '../generated/prisma/client.ts';
import type { Logger } from '../log.ts';
import { UnauthenticatedError } from './auth.errors.ts';
import {
  LOCAL_ACCOUNT_ID,
  LOCAL_ACCOUNT_NAME,
  localViewer,
  type Scope,
  toScopes,
  type Viewer,
} from './viewer.ts';

const KEY_PREFIX = 'atl_';
const KEY_LENGTH = 40;
const PREFIX_LENGTH = 12;
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
/** How long a verified key is trusted without asking the database again. */
const CACHE_MS = 10_000;
const CACHE_MAX = 10_000;
/** lastUsedAt is written at most this often per key. */
const LAST_USED_EVERY_MS = 60_000;
const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

/** A new random secret in the `atl_...` format. */
export function generateKey(): string {
  let out = KEY_PREFIX;
  while (out.length < KEY_PREFIX.length + KEY_LENGTH) {
    for (const byte of randomBytes(64)) {
      // 248 = 4 × 62: rejecting higher bytes keeps every character equally likely.
      if (byte < 248 && out.length < KEY_PREFIX.length + KEY_LENGTH) out += BASE62[byte % 62];
    }
  }
  return out;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** True for strings shaped like an Atelier key (cheap check before any lookup). */
export function looksLikeKey(value: string): boolean {
  return value.length === KEY_PREFIX.length + KEY_LENGTH && /^atl_[0-9A-Za-z]+$/.test(value);
}

export interface AuthOptions {
  mode: 'local' | 'keys';
  /** A per-process secret that acts as an administrator (for `atelier keys` on this machine). */
  adminToken?: string | null;
  log?: Logger;
}

export interface ApiKeyWithAccount extends ApiKey {
  account: Pick<Account, 'id' | 'name'>;
}

export class AuthService {
  private readonly cache = new Map<string, { viewer: Viewer | null; until: number }>();
  /** Called after a key was revoked, so other replicas drop their cached keys too. */
  onRevoked: (() => void) | null = null;

  /** Drops every cached key lookup (a key was revoked, here or on another replica). */
  forgetCachedKeys(): void {
    this.cache.clear();
  }

  constructor(
    private readonly prisma: PrismaClient,
    private readonly options: AuthOptions,
  ) {}

  get mode(): 'local' | 'keys' {
    return this.options.mode;
  }

  /**
   * The viewer for an `Authorization` header value (undefined or empty: none sent). Without
   * credentials: the local account in `local` mode, else UnauthenticatedError; a bad or
   * revoked key is UnauthenticatedError in both modes.
   */
  async resolve(authorization: string | null | undefined): Promise<Viewer> {
    if (!authorization) {
      if (this.options.mode === 'local') return localViewer();
      throw new UnauthenticatedError(
        'This server needs an API key: send "Authorization: Bearer atl_...".',
      );
    }
    const match = authorization.length <= 512 ? /^Bearer +(\S+) *$/i.exec(authorization) : null;
    if (!match?.[1]) {
      throw new UnauthenticatedError('The Authorization header must be "Bearer <API key>".');
    }
    const token = match[1];
    if (this.isAdminToken(token)) return localViewer();
    const viewer = await this.authenticate(token);
    if (!viewer) throw new UnauthenticatedError('The API key is unknown or has been revoked.');
    return viewer;
  }

  /** The viewer of a key, or null when it is unknown or revoked. */
  async authenticate(key: string): Promise<Viewer | null> {
    if (!looksLikeKey(key)) return null;
    const hash = hashKey(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.viewer;
    const row = await this.prisma.apiKey.findUnique({ where: { hash } });
    const viewer: Viewer | null =
      row && !row.revokedAt
        ? {
            accountId: row.accountId,
            scopes: toScopes(row.scopes),
            apiKey: {
              id: row.id,
              name: row.name,
              prefix: row.prefix,
              scopes: toScopes(row.scopes),
            },
          }
        : null;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { viewer, until: now + CACHE_MS });
    if (row && viewer && (!row.lastUsedAt || now - row.lastUsedAt.getTime() > LAST_USED_EVERY_MS)) {
      this.prisma.apiKey
        .update({ where: { id: row.id }, data: { lastUsedAt: new Date(now) } })
        .catch((error: unknown) =>
          // Only bookkeeping: the request goes on; the next use tries again.
          this.options.log?.warn('could not record lastUsedAt', {
            key: row.prefix,
            error,
          }),
        );
    }
    return viewer;
  }

  private isAdminToken(token: string): boolean {
    const expected = this.options.adminToken;
    if (!expected || token.length !== expected.length) return false;
    return timingSafeEqual(Buffer.from(token), Buffer.from(expected));
  }

  /** Makes sure the built-in local account exists, with unlimited credits. */
  async ensureLocalAccount(): Promise<void> {
    await this.prisma.account.upsert({
      where: { id: LOCAL_ACCOUNT_ID },
      create: { id: LOCAL_ACCOUNT_ID, name: LOCAL_ACCOUNT_NAME, creditBalance: null },
      update: { creditBalance: null },
    });
  }

  /** Creates an account; `credits` become its first ledger row (a grant). */
  async createAccount(input: { name: string; credits?: number | null }): Promise<Account> {
    const name = input.name.trim();
    if (!ACCOUNT_NAME.test(name)) {
      throw new ValidationError(
        'name',
        'must be 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit',
      );
    }
    const credits = input.credits ?? 0;
    if (!Number.isInteger(credits) || credits < 0 || credits > 2_000_000_000) {
      throw new ValidationError('credits', 'must be a whole number from 0 to 2,000,000,000');
    }
    try {
      return await this.prisma.$transaction(async (tx) => {
        const account = await tx.account.create({ data: { name, creditBalance: credits } });
        if (credits > 0) {
          await tx.creditTransaction.create({
            data: {
              accountId: account.id,
              amount: credits,
              reason: 'GRANT',
              note: 'initial credits',
            },
          });
        }
        return account;
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'P2002') {
        throw new ValidationError('name', `An account named "${name}" already exists.`);
      }
      throw error;
    }
  }

  async accountByName(name: string): Promise<Account | null> {
    return this.prisma.account.findUnique({ where: { name: name.trim() } });
  }

  /** Creates a key for an account; the secret is returned here once and never stored. */
  async createApiKey(input: {
    accountId: string;
    name?: string | null;
    admin?: boolean | null;
  }): Promise<{ apiKey: ApiKeyWithAccount; key: string }> {
    const account = await this.prisma.account.findUnique({
      where: { id: input.accountId },
      select: { id: true, name: true },
    });
    if (!account) throw new NotFoundError('Account', input.accountId);
    const name = (input.name ?? '').trim() || 'default';
    if (name.length > 100) throw new ValidationError('name', 'must be at most 100 characters');
    const key = generateKey();
    const scopes: Scope[] = input.admin ? ['user', 'admin'] : ['user'];
    const apiKey = await this.prisma.apiKey.create({
      data: {
        accountId: account.id,
        name,
        prefix: key.slice(0, PREFIX_LENGTH),
        hash: hashKey(key),
        scopes,
      },
      include: { account: { select: { id: true, name: true } } },
    });
    return { apiKey, key };
  }

  /** Keys, newest first; revoked ones only when asked. */
  async listApiKeys(
    filter: { accountId?: string | null; includeRevoked?: boolean | null } = {},
  ): Promise<ApiKeyWithAccount[]> {
    return this.prisma.apiKey.findMany({
      where: {
        ...(filter.accountId ? { accountId: filter.accountId } : {}),
        ...(filter.includeRevoked ? {} : { revokedAt: null }),
      },
      include: { account: { select: { id: true, name: true } } },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: 1000,
    });
  }

  /**
   * Revokes the key that `prefix` names: its listed prefix, a longer start of the key, or
   * the whole key. Revoking a revoked key returns it unchanged.
   */
  async revokeApiKey(prefix: string): Promise<ApiKeyWithAccount> {
    const given = prefix.trim();
    if (given.length < 6 || given.length > 64 || !/^[0-9A-Za-z_]+$/.test(given)) {
      throw new ValidationError('prefix', 'must be the key prefix shown by `atelier keys list`');
    }
    const candidates = looksLikeKey(given)
      ? await this.prisma.apiKey.findMany({
          where: { hash: hashKey(given) },
          include: { account: { select: { id: true, name: true } } },
        })
      : await this.prisma.apiKey.findMany({
          where:
            given.length >= PREFIX_LENGTH
              ? { prefix: given.slice(0, PREFIX_LENGTH) }
              : { prefix: { startsWith: given } },
          include: { account: { select: { id: true, name: true } } },
          take: 2,
        });
    if (candidates.length === 0) throw new NotFoundError('ApiKey', given);
    if (candidates.length > 1) {
      throw new ValidationError('prefix', `"${given}" matches several keys: give more characters`);
    }
    const key = candidates[0]!;
    this.cache.clear();
    if (key.revokedAt) return key;
    const revoked = await this.prisma.apiKey.update({
      where: { id: key.id },
      data: { revokedAt: new Date() },
      include: { account: { select: { id: true, name: true } } },
    });
    this.cache.clear();
    this.onRevoked?.();
    return revoked;
  }
}
