// GraphQL for accounts and keys: `viewer`, the Account and ApiKey types, and the admin-only
// queries and mutations (accounts, apiKeys, createAccount, createApiKey, revokeApiKey,
// grantCredits). Admin fields need the `admin` scope (scope-auth); without it they answer
// a typed ForbiddenError (mutations) or a FORBIDDEN error (queries).
import { builder, MAX_PAGE_SIZE } from '../builder.ts';
import { NotFoundError, ValidationError } from '../domain-errors.ts';
import { errorTypeOptions } from '../errors.ts';
import { ForbiddenError } from './auth.errors.ts';
import type { ApiKeyWithAccount } from './auth.service.ts';
import { isAdmin, type Viewer } from './viewer.ts';

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'The key is valid but lacks the scope this operation needs (admin).',
  ...errorTypeOptions(ForbiddenError),
});

export const AccountRef = builder.prismaNode('Account', {
  description: 'Owner of runs, media and API keys, with a credit balance.',
  id: { field: 'id', description: 'Global id (Relay).' },
  // Unknown ids and other accounts' objects load as null (node, nodes), not as errors.
  nullable: true,
  // node(id:) finds the viewer's own account, an admin's any account.
  findUnique: (id, ctx) => ({
    id,
    ...(isAdmin(ctx.viewer) ? {} : { AND: [{ id: ctx.viewer.accountId }] }),
  }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique account name.' }),
    credits: t.exposeInt('creditBalance', {
      nullable: true,
      description:
        'Credits left; null means unlimited (the local account). Runs are charged when created and refunded when they fail or are canceled.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    creditTransactions: t.relatedConnection(
      'creditTransactions',
      {
        cursor: 'id',
        defaultSize: 20,
        maxSize: MAX_PAGE_SIZE,
        description: 'The credit ledger, newest first; its amounts add up to `credits`.',
        query: { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] },
      },
      { name: 'CreditTransactionConnection', description: 'A page of ledger rows.' },
      { name: 'CreditTransactionEdge', description: 'A ledger row in a page.' },
    ),
  }),
});

const CreditReason = builder.enumType('CreditReason', {
  description: 'Why credits changed.',
  values: {
    GRANT: { description: 'Added (or removed) by an administrator.' },
    RUN: { description: 'A run was charged (negative amount).' },
    REFUND: { description: "A failed or canceled run's charge came back." },
  } as const,
});

builder.prismaObject('CreditTransaction', {
  description: 'One change of an account’s credits.',
  fields: (t) => ({
    amount: t.exposeInt('amount', { description: 'Credits added (positive) or spent (negative).' }),
    reason: t.expose('reason', { type: CreditReason, description: 'Why.' }),
    note: t.exposeString('note', { nullable: true, description: 'Free text (grants).' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When.' }),
    run: t.relation('run', { nullable: true, description: 'The run charged or refunded.' }),
  }),
});

export const ApiKeyRef = builder.prismaNode('ApiKey', {
  description: 'An API key. The secret is shown once, when created; only its hash is stored.',
  id: { field: 'id', description: 'Global id (Relay).' },
  // Unknown ids and other accounts' objects load as null (node, nodes), not as errors.
  nullable: true,
  findUnique: (id, ctx) => ({
    id,
    ...(isAdmin(ctx.viewer) ? {} : { accountId: ctx.viewer.accountId }),
  }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'A label for people.' }),
    prefix: t.exposeString('prefix', {
      description: 'The first 12 characters of the key, to recognise it (and revoke it).',
    }),
    scopes: t.exposeStringList('scopes', {
      description: '"user" (every key), plus "admin" for administrators.',
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was last used (recorded at most once a minute).',
    }),
    revokedAt: t.expose('revokedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When it was revoked; a revoked key is refused.',
    }),
    account: t.relation('account', { description: 'The account the key acts for.' }),
  }),
});

const ViewerRef = builder.objectRef<Viewer>('Viewer').implement({
  description: 'Who the request acts for.',
  fields: (t) => ({
    account: t.prismaField({
      type: 'Account',
      description: 'The account.',
      resolve: (query, viewer, _args, ctx) =>
        ctx.prisma.account.findUniqueOrThrow({ ...query, where: { id: viewer.accountId } }),
    }),
    apiKey: t.prismaField({
      type: 'ApiKey',
      nullable: true,
      description:
        'The key the request used; null for the local account (AUTH_MODE=local, no key).',
      resolve: (query, viewer, _args, ctx) =>
        viewer.apiKey
          ? ctx.prisma.apiKey.findUnique({ ...query, where: { id: viewer.apiKey.id } })
          : null,
    }),
    scopes: t.stringList({
      description: 'Scopes granted: "user", and "admin" for administrators.',
      resolve: (viewer) => [...viewer.scopes],
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: ViewerRef,
    description: 'Your account and the key you used.',
    resolve: (_root, _args, ctx) => ctx.viewer,
  }),
);

// --- admin ---------------------------------------------------------------------------------

builder.queryField('accounts', (t) =>
  t.prismaConnection(
    {
      type: 'Account',
      cursor: 'id',
      defaultSize: 20,
      maxSize: MAX_PAGE_SIZE,
      authScopes: { admin: true },
      description: 'Admin: every account, oldest first.',
      resolve: (query, _root, _args, ctx) =>
        ctx.prisma.account.findMany({ ...query, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    },
    { name: 'AccountConnection', description: 'A page of accounts.' },
    { name: 'AccountEdge', description: 'An account in a page.' },
  ),
);

builder.queryField('account', (t) =>
  t.prismaField({
    type: 'Account',
    nullable: true,
    authScopes: { admin: true },
    description: 'Admin: an account by name; null when there is none.',
    args: { name: t.arg.string({ required: true, description: 'The account name.' }) },
    resolve: (query, _root, args, ctx) =>
      ctx.prisma.account.findUnique({ ...query, where: { name: args.name.trim() } }),
  }),
);

builder.queryField('apiKeys', (t) =>
  t.field({
    type: [ApiKeyRef],
    authScopes: { admin: true },
    description: 'Admin: API keys, newest first (at most 1,000).',
    args: {
      account: t.arg.globalID({ for: AccountRef, description: 'Only this account’s keys.' }),
      includeRevoked: t.arg.boolean({ defaultValue: false, description: 'Also revoked keys.' }),
    },
    resolve: (_root, args, ctx) =>
      ctx.services.auth.listApiKeys({
        accountId: args.account?.id ?? null,
        includeRevoked: args.includeRevoked,
      }),
  }),
);

const CreateAccountInput = builder.inputType('CreateAccountInput', {
  description: 'A new account.',
  fields: (t) => ({
    name: t.string({ required: true, description: 'Unique name (letters, digits, . _ @ -).' }),
    credits: t.int({ description: 'Starting credits (default 0), recorded as a grant.' }),
  }),
});

builder.mutationField('createAccount', (t) =>
  t.field({
    type: AccountRef,
    authScopes: { admin: true },
    description: 'Admin: creates an account.',
    args: { input: t.arg({ type: CreateAccountInput, required: true }) },
    errors: {
      types: [ValidationError, ForbiddenError],
      dataField: { name: 'account', description: 'The new account.' },
    },
    resolve: (_root, { input }, ctx) => ctx.services.auth.createAccount(input),
  }),
);

/** A new key with its secret, shown this once. */
class ApiKeyCreated {
  constructor(
    readonly apiKey: ApiKeyWithAccount,
    readonly key: string,
  ) {}
}

builder.objectType(ApiKeyCreated, {
  name: 'CreateApiKeySuccess',
  description: 'The key was created. `key` is the secret: store it now, it is never shown again.',
  isTypeOf: (value) => value instanceof ApiKeyCreated,
  fields: (t) => ({
    apiKey: t.field({ type: ApiKeyRef, description: 'The key.', resolve: (r) => r.apiKey }),
    key: t.exposeString('key', {
      description: 'The secret, `atl_...`; send it as a Bearer token.',
    }),
  }),
});

const CreateApiKeyResult = builder.errorUnion('CreateApiKeyResult', {
  description: 'The new key, or why none was made.',
  types: [ApiKeyCreated, NotFoundError, ValidationError, ForbiddenError],
});

const CreateApiKeyInput = builder.inputType('CreateApiKeyInput', {
  description: 'A new API key.',
  fields: (t) => ({
    account: t.globalID({
      for: AccountRef,
      required: true,
      description: 'The account it acts for.',
    }),
    name: t.string({ description: 'A label (default "default").' }),
    admin: t.boolean({ defaultValue: false, description: 'Give it the admin scope.' }),
  }),
});

builder.mutationField('createApiKey', (t) =>
  t.field({
    type: CreateApiKeyResult,
    authScopes: { admin: true },
    description: 'Admin: creates an API key; the secret is in the result, once.',
    args: { input: t.arg({ type: CreateApiKeyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const created = await ctx.services.auth.createApiKey({
        accountId: input.account.id,
        name: input.name,
        admin: input.admin,
      });
      return new ApiKeyCreated(created.apiKey, created.key);
    },
  }),
);

builder.mutationField('revokeApiKey', (t) =>
  t.field({
    type: ApiKeyRef,
    authScopes: { admin: true },
    description: 'Admin: revokes a key (named by its prefix, or the whole key); it stops working.',
    args: {
      prefix: t.arg.string({ required: true, description: 'The prefix `apiKeys` shows.' }),
    },
    errors: {
      types: [NotFoundError, ValidationError, ForbiddenError],
      dataField: { name: 'apiKey', description: 'The revoked key.' },
    },
    resolve: (_root, args, ctx) => ctx.services.auth.revokeApiKey(args.prefix),
  }),
);

builder.mutationField('grantCredits', (t) =>
  t.field({
    type: AccountRef,
    authScopes: { admin: true },
    description: 'Admin: adds credits (or removes them, with a negative amount) as a ledger row.',
    args: {
      account: t.arg.globalID({ for: AccountRef, required: true, description: 'The account.' }),
      amount: t.arg.int({ required: true, description: 'Credits to add; negative removes.' }),
      note: t.arg.string({ description: 'Why (kept in the ledger).' }),
    },
    errors: {
      types: [NotFoundError, ValidationError, ForbiddenError],
      dataField: { name: 'account', description: 'The account with its new balance.' },
    },
    resolve: (_root, args, ctx) =>
      ctx.services.credits.grant(args.account.id, args.amount, args.note ?? null),
  }),
);
