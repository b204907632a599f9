// `atelier keys create|list|revoke`: accounts and API keys from the command line, on the same
// ATELIER_HOME / DATABASE_URL as the server, also while it runs. With PostgreSQL the command
// opens the database itself. The embedded PGlite database can be open in one process only,
// so while a server runs on this home (see auth/server-info.ts) the command goes through
// that server's GraphQL API with its admin token; with no server running it opens the
// database itself.
import { parseArgs } from 'node:util';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { AuthService } from '../auth/auth.service.ts';
import { processAlive, readServerInfo, type ServerInfo } from '../auth/server-info.ts';
import { loadConfig } from '../config.ts';
import { CreditsService } from '../credits/credits.service.ts';
import { openDatabase } from '../db/database.ts';
import { AtelierError } from '../domain-errors.ts';
import { type CliIo, table, UsageError } from './io.ts';

export const KEYS_USAGE = `Usage:
  atelier keys create --account NAME [--credits N] [--admin] [--name LABEL] [--json]
      creates the account if it is new (with N credits; an existing one is granted N),
      then a key for it; the key is printed once
  atelier keys list [--all] [--json]
      the keys (--all: revoked ones too), never their secrets
  atelier keys revoke PREFIX
      revokes the key with this prefix (as \`keys list\` shows it)
`;

interface AccountOut {
  id: string;
  name: string;
  credits: number | null;
}

interface KeyOut {
  prefix: string;
  name: string;
  scopes: string[];
  account: { id: string; name: string };
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** What the command needs, answered by the database directly or by a running server. */
interface KeysBackend {
  findAccount(name: string): Promise<AccountOut | null>;
  createAccount(name: string, credits: number): Promise<AccountOut>;
  grant(accountId: string, credits: number): Promise<AccountOut>;
  createKey(accountId: string, name: string, admin: boolean): Promise<string>;
  list(includeRevoked: boolean): Promise<KeyOut[]>;
  revoke(prefix: string): Promise<KeyOut>;
  close(): Promise<void>;
}

/** A refusal to print as `CODE: message` with exit code 1. */
class KeysError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Runs `atelier keys ...`; returns the exit code. */
export async function keysCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      account: { type: 'string' },
      credits: { type: 'string' },
      admin: { type: 'boolean', default: false },
      name: { type: 'string' },
      json: { type: 'boolean', default: false },
      all: { type: 'boolean', default: false },
    },
  });
  if (sub !== 'create' && sub !== 'list' && sub !== 'revoke') {
    throw new UsageError(sub ? `Unknown keys command: ${sub}` : 'Missing keys command');
  }
  let credits: number | null = null;
  if (sub === 'create') {
    if (!values.account) throw new UsageError('--account is required');
    if (values.credits !== undefined) {
      if (!/^\d{1,10}$/.test(values.credits))
        throw new UsageError('--credits must be a whole number');
      credits = Number(values.credits);
    }
  }
  if (sub === 'revoke' && positionals.length !== 1) throw new UsageError('revoke takes one PREFIX');

  const backend = await openBackend(io.env);
  try {
    if (sub === 'create') {
      const name = values.account as string;
      let account = await backend.findAccount(name);
      const created = !account;
      if (!account) account = await backend.createAccount(name, credits ?? 0);
      else if (credits) account = await backend.grant(account.id, credits);
      const key = await backend.createKey(account.id, values.name ?? 'default', values.admin);
      if (values.json) {
        io.stdout.write(`${JSON.stringify({ account, key })}\n`);
      } else {
        io.stdout.write(
          `${created ? 'Created account' : 'Account'} ${account.name} (credits: ${account.credits ?? 'unlimited'}).\n` +
            `${values.admin ? 'Admin key' : 'Key'} (shown once, store it now):\n${key}\n`,
        );
      }
      return 0;
    }
    if (sub === 'list') {
      const keys = await backend.list(values.all);
      if (values.json) {
        io.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
      } else if (keys.length === 0) {
        io.stdout.write('No keys. Create one with `atelier keys create --account NAME`.\n');
      } else {
        io.stdout.write(
          table([
            ['PREFIX', 'ACCOUNT', 'NAME', 'SCOPES', 'CREATED', 'LAST USED', 'STATUS'],
            ...keys.map((k) => [
              k.prefix,
              k.account.name,
              k.name,
              k.scopes.join(','),
              k.createdAt.slice(0, 19).replace('T', ' '),
              k.lastUsedAt ? k.lastUsedAt.slice(0, 19).replace('T', ' ') : '-',
              k.revokedAt ? 'revoked' : 'active',
            ]),
          ]),
        );
      }
      return 0;
    }
    const revoked = await backend.revoke(positionals[0] as string);
    io.stdout.write(
      `Revoked ${revoked.prefix} (${revoked.name}, account ${revoked.account.name}).\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof KeysError || error instanceof AtelierError) {
      io.stderr.write(`${error.code}: ${error.message}\n`);
      return 1;
    }
    throw error;
  } finally {
    await backend.close();
  }
}

async function openBackend(env: NodeJS.ProcessEnv): Promise<KeysBackend> {
  const config = loadConfig(env);
  if (config.database.kind === 'pglite') {
    const info = await readServerInfo(config.home);
    if (info && processAlive(info.pid)) return serverBackend(info);
  }
  return databaseBackend(config);
}

// --- directly on the database ---------------------------------------------------------------

async function databaseBackend(config: ReturnType<typeof loadConfig>): Promise<KeysBackend> {
  const db = await openDatabase(config.database);
  try {
    await db.migrate();
    const auth = new AuthService(db.prisma, { mode: config.auth.mode });
    await auth.ensureLocalAccount();
    const credits = new CreditsService(db.prisma);
    const accountOut = (a: { id: string; name: string; creditBalance: number | null }) => ({
      id: encodeGlobalID('Account', a.id),
      name: a.name,
      credits: a.creditBalance,
    });
    const keyOut = (k: Awaited<ReturnType<AuthService['listApiKeys']>>[number]): KeyOut => ({
      prefix: k.prefix,
      name: k.name,
      scopes: k.scopes,
      account: { id: encodeGlobalID('Account', k.account.id), name: k.account.name },
      createdAt: k.createdAt.toISOString(),
      lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
      revokedAt: k.revokedAt?.toISOString() ?? null,
    });
    const uuid = (globalId: string) => decodeGlobalID(globalId).id;
    return {
      async findAccount(name) {
        const account = await auth.accountByName(name);
        return account ? accountOut(account) : null;
      },
      async createAccount(name, amount) {
        return accountOut(await auth.createAccount({ name, credits: amount }));
      },
      async grant(accountId, amount) {
        return accountOut(await credits.grant(uuid(accountId), amount, 'atelier keys create'));
      },
      async createKey(accountId, name, admin) {
        return (await auth.createApiKey({ accountId: uuid(accountId), name, admin })).key;
      },
      async list(includeRevoked) {
        return (await auth.listApiKeys({ includeRevoked })).map(keyOut);
      },
      async revoke(prefix) {
        return keyOut(await auth.revokeApiKey(prefix));
      },
      close: () => db.close(),
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

// --- through a running server ----------------------------------------------------------------

const ACCOUNT_FIELDS = 'id name credits';
const KEY_FIELDS = `prefix name scopes createdAt lastUsedAt revokedAt account { id name }`;
const RESULT = (fields: string) => `__typename ... on Error { code message } ${fields}`;

function serverBackend(info: ServerInfo): KeysBackend {
  const call = async <T>(query: string, variables: Record<string, unknown>): Promise<T> => {
    let res: Response;
    try {
      res = await fetch(`${info.url}/graphql`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${info.adminToken}`,
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch (error) {
      throw new KeysError(
        'SERVER_UNREACHABLE',
        `a server (pid ${info.pid}) has the embedded database open but ${info.url} does not answer (${(error as Error).message}); wait until it is ready, or, if no Atelier server runs, remove server.json from ATELIER_HOME`,
      );
    }
    const body = (await res.json().catch(() => null)) as {
      data?: T;
      errors?: { message: string; extensions?: { code?: string } }[];
    } | null;
    if (!body?.data || body.errors?.length) {
      const first = body?.errors?.[0];
      throw new KeysError(
        first?.extensions?.code ?? 'REQUEST_FAILED',
        first?.message ?? `HTTP ${res.status}`,
      );
    }
    return body.data;
  };
  // A typed refusal (an Error member of the result union) carries code and message.
  const unwrap = <T>(result: T): T => {
    const refusal = result as { code?: string; message?: string };
    if (refusal.code) throw new KeysError(refusal.code, refusal.message ?? refusal.code);
    return result;
  };
  return {
    async findAccount(name) {
      const data = await call<{ account: AccountOut | null }>(
        `query($name: String!) { account(name: $name) { ${ACCOUNT_FIELDS} } }`,
        { name },
      );
      return data.account;
    },
    async createAccount(name, credits) {
      const data = await call<{ createAccount: { account: AccountOut } }>(
        `mutation($input: CreateAccountInput!) { createAccount(input: $input) { ${RESULT(`... on CreateAccountSuccess { account { ${ACCOUNT_FIELDS} } }`)} } }`,
        { input: { name, credits } },
      );
      return unwrap(data.createAccount).account;
    },
    async grant(account, amount) {
      const data = await call<{ grantCredits: { account: AccountOut } }>(
        `mutation($account: ID!, $amount: Int!) { grantCredits(account: $account, amount: $amount, note: "atelier keys create") { ${RESULT(`... on GrantCreditsSuccess { account { ${ACCOUNT_FIELDS} } }`)} } }`,
        { account, amount },
      );
      return unwrap(data.grantCredits).account;
    },
    async createKey(account, name, admin) {
      const data = await call<{ createApiKey: { key: string } }>(
        `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { ${RESULT('... on CreateApiKeySuccess { key }')} } }`,
        { input: { account, name, admin } },
      );
      return unwrap(data.createApiKey).key;
    },
    async list(includeRevoked) {
      const data = await call<{ apiKeys: KeyOut[] }>(
        `query($all: Boolean) { apiKeys(includeRevoked: $all) { ${KEY_FIELDS} } }`,
        { all: includeRevoked },
      );
      return data.apiKeys;
    },
    async revoke(prefix) {
      const data = await call<{ revokeApiKey: { apiKey: KeyOut } }>(
        `mutation($prefix: String!) { revokeApiKey(prefix: $prefix) { ${RESULT(`... on RevokeApiKeySuccess { apiKey { ${KEY_FIELDS} } }`)} } }`,
        { prefix },
      );
      return unwrap(data.revokeApiKey).apiKey;
    },
    close: async () => undefined,
  };
}
