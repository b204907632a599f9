// Credits: a run costs what the catalog says and is charged in the transaction that creates
// it (never more runs than the balance covers, even with concurrent creates), refunded
// exactly once when it ends FAILED or CANCELED (or is deleted unfinished), and the balance is
// always the sum of the account's ledger. Runs on PGlite and PostgreSQL (the row lock that
// serialises concurrent charges matters most on PostgreSQL's connection pool).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accountState, finalRun, globalId, T2I, uuidOf, waitIdle } from './fixtures/hardening.ts';
import { createRun, createRunOk, holdQueue, until } from './fixtures/runs.ts';
import { startTestServer, type TestServer } from './harness.ts';

interface ModelView {
  key: string;
  costs: { mode: string; credits: number; unit: string }[];
  parameters: { name: string; default: unknown; modes: string[] }[];
}

const MODELS = /* GraphQL */ `{
  models { key costs { mode credits unit } parameters { name default modes } }
}`;

const VIEWER = /* GraphQL */ `{
  viewer {
    account { id name credits creditTransactions(first: 100) { edges { node { amount reason run { id } } } } }
    apiKey { prefix }
  }
}`;

interface ViewerView {
  viewer: {
    account: {
      id: string;
      name: string;
      credits: number | null;
      creditTransactions: {
        edges: { node: { amount: number; reason: string; run: { id: string } | null } }[];
      };
    };
    apiKey: { prefix: string } | null;
  };
}

const GRANT = /* GraphQL */ `
  mutation Grant($account: ID!, $amount: Int!, $note: String) {
    grantCredits(account: $account, amount: $amount, note: $note) {
      __typename
      ... on GrantCreditsSuccess { account { id credits } }
      ... on Error { code message }
      ... on ValidationError { field }
    }
  }
`;

const CANCEL = /* GraphQL */ `
  mutation($id: ID!) {
    cancelRun(id: $id) { __typename ... on CancelRunSuccess { run { status } } ... on Error { code } }
  }
`;

const DELETE = /* GraphQL */ `
  mutation($id: ID!) { deleteRun(id: $id) { __typename ... on Error { code } } }
`;

describe('credits (AUTH_MODE=keys)', () => {
  let server: TestServer;
  let models: ModelView[];
  /** Every account these tests touch, for the final ledger check. */
  const accounts: { key: string; accountId: string }[] = [];

  beforeAll(async () => {
    server = await startTestServer({ AUTH_MODE: 'keys', SANDBOX_STEP_DELAY_MS: '0' });
    const admin = await newAccount('admin', 0, true);
    const result = await server.gql<{ models: ModelView[] }>(MODELS, {}, { apiKey: admin.key });
    if (!result.data) throw new Error(`models failed: ${JSON.stringify(result.errors)}`);
    models = result.data.models;
  });
  afterAll(async () => {
    await server?.stop();
  });

  async function newAccount(account: string, credits: number, admin = false) {
    const created = await server.createKey({ account, credits, admin });
    accounts.push(created);
    return created;
  }

  /** The catalog's price of `mode` on `model`, as GraphQL shows it. */
  function price(model: string, mode: string) {
    const cost = models.find((m) => m.key === model)?.costs.find((c) => c.mode === mode);
    if (!cost) throw new Error(`no price for ${model} ${mode}`);
    return cost;
  }

  /** The default of a model's parameter for `mode`, as GraphQL shows it. */
  function parameterDefault(model: string, mode: string, name: string): number {
    const parameter = models
      .find((m) => m.key === model)
      ?.parameters.find((p) => p.name === name && p.modes.includes(mode));
    if (typeof parameter?.default !== 'number') throw new Error(`no default ${model}.${name}`);
    return parameter.default;
  }

  const runsOf = (accountId: string) =>
    server.app.db.prisma.run.count({ where: { ownerId: accountId } });

  it('shows each model’s prices: per output for images, per second for video and audio', () => {
    // The catalog files set no prices, so the contract's defaults apply.
    expect(price('flux1-dev', 'TEXT_TO_IMAGE')).toEqual({
      mode: 'TEXT_TO_IMAGE',
      credits: 2,
      unit: 'OUTPUT',
    });
    expect(price('flux1-dev', 'IMAGE_TO_IMAGE')).toMatchObject({ credits: 4, unit: 'OUTPUT' });
    expect(price('ltx-video', 'TEXT_TO_VIDEO')).toMatchObject({ credits: 5, unit: 'SECOND' });
    expect(price('ltx-video', 'IMAGE_TO_VIDEO')).toMatchObject({ credits: 5, unit: 'SECOND' });
    expect(price('ace-step-v1-3.5b', 'TEXT_TO_AUDIO')).toMatchObject({
      credits: 1,
      unit: 'SECOND',
    });
    // Every model prices exactly the modes it has.
    for (const m of models) expect(m.costs.length).toBeGreaterThan(0);
  });

  it('charges an image run per output (count 3) and does not refund it when it succeeds', async () => {
    const { key, accountId } = await newAccount('images', 100);
    const { credits, unit } = price('flux1-dev', 'TEXT_TO_IMAGE');
    expect(unit).toBe('OUTPUT');
    const expected = credits * 3;

    const run = await createRunOk(server, { ...T2I, count: 3 }, { apiKey: key });
    const cost = await server.gql<{ run: { cost: number } }>(
      `query($id: ID!) { run(id: $id) { cost } }`,
      { id: run.id },
      { apiKey: key },
    );
    expect(cost.data?.run.cost).toBe(expected);
    expect(await accountState(server, accountId)).toMatchObject({
      balance: 100 - expected,
      ledger: [
        { amount: 100, reason: 'GRANT', runId: null },
        { amount: -expected, reason: 'RUN', runId: uuidOf(run.id) },
      ],
    });

    const last = await finalRun(server, run.id, key);
    expect(last.status).toBe('SUCCEEDED');
    expect(last.outputs).toHaveLength(3);
    const after = await accountState(server, accountId);
    expect(after.balance).toBe(100 - expected);
    expect(after.ledger.map((row) => row.reason)).toEqual(['GRANT', 'RUN']);
  });

  it('charges a video run per second of output, rounded up per output, times count', async () => {
    const { key, accountId } = await newAccount('video', 1000);
    const { credits, unit } = price('ltx-video', 'TEXT_TO_VIDEO');
    expect(unit).toBe('SECOND');
    // 25 frames at 24 fps is 1.04 s: 5.2 credits, rounded up per output, then twice.
    const frames = 25;
    const fps = 24;
    const expected = Math.ceil(credits * (frames / fps)) * 2;
    expect(expected).toBe(12);

    const run = await createRunOk(
      server,
      {
        mode: 'TEXT_TO_VIDEO',
        model: 'ltx-video',
        prompt: 'waves on a shore',
        count: 2,
        parameters: { steps: 8, width: 256, height: 256, frames, fps },
      },
      { apiKey: key },
    );
    const view = await server.gql<{ run: { cost: number } }>(
      `query($id: ID!) { run(id: $id) { cost } }`,
      { id: run.id },
      { apiKey: key },
    );
    expect(view.data?.run.cost).toBe(expected);
    const state = await accountState(server, accountId);
    expect(state.balance).toBe(1000 - expected);
    expect(state.ledger.at(-1)).toMatchObject({ amount: -expected, reason: 'RUN' });
    expect((await finalRun(server, run.id, key)).status).toBe('SUCCEEDED');
    expect((await accountState(server, accountId)).balance).toBe(1000 - expected);
  });

  it('charges an audio run for the default duration when none is given', async () => {
    const { key, accountId } = await newAccount('audio', 1000);
    const { credits, unit } = price('ace-step-v1-3.5b', 'TEXT_TO_AUDIO');
    expect(unit).toBe('SECOND');
    const duration = parameterDefault('ace-step-v1-3.5b', 'TEXT_TO_AUDIO', 'duration');
    const expected = Math.ceil(credits * duration);
    expect(expected).toBeGreaterThan(1);

    const run = await createRunOk(
      server,
      {
        mode: 'TEXT_TO_AUDIO',
        model: 'ace-step-v1-3.5b',
        prompt: 'a calm piano piece',
        parameters: { steps: 10 },
      },
      { apiKey: key },
    );
    expect(run.parameters).toMatchObject({ duration });
    const view = await server.gql<{ run: { cost: number } }>(
      `query($id: ID!) { run(id: $id) { cost } }`,
      { id: run.id },
      { apiKey: key },
    );
    expect(view.data?.run.cost).toBe(expected);
    expect((await accountState(server, accountId)).balance).toBe(1000 - expected);
    expect((await finalRun(server, run.id, key)).status).toBe('SUCCEEDED');
  });

  it('refuses a run the balance does not cover with InsufficientCreditsError; writes nothing', async () => {
    const { credits } = price('flux1-dev', 'TEXT_TO_IMAGE');
    const needed = credits * 2;
    const { key, accountId } = await newAccount('short', needed - 1);
    const before = await accountState(server, accountId);
    const runsBefore = await runsOf(accountId);

    const result = await server.gql<{ createRun: Record<string, unknown> }>(
      `mutation($input: CreateRunInput!) {
        createRun(input: $input) {
          __typename
          ... on InsufficientCreditsError { code message needed balance }
        }
      }`,
      { input: { ...T2I, count: 2 } },
      { apiKey: key },
    );
    expect(result.data?.createRun).toMatchObject({
      __typename: 'InsufficientCreditsError',
      code: 'INSUFFICIENT_CREDITS',
      needed,
      balance: needed - 1,
    });
    expect(await runsOf(accountId)).toBe(runsBefore);
    expect(await accountState(server, accountId)).toEqual(before);

    // One output fits: the same account can still run what it can pay for.
    const run = await createRunOk(server, T2I, { apiKey: key });
    expect((await accountState(server, accountId)).balance).toBe(needed - 1 - credits);
    await finalRun(server, run.id, key);
  });

  it('20 concurrent createRuns against a balance for 10 create exactly 10 runs', async () => {
    const { credits } = price('flux1-dev', 'TEXT_TO_IMAGE');
    const { key, accountId } = await newAccount('racer', 10 * credits);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        createRun(server, { ...T2I, prompt: `race ${i}` }, { apiKey: key }),
      ),
    );
    const byType = (type: string) => results.filter((r) => r.__typename === type);
    expect(results.map((r) => r.__typename).sort()).toEqual([
      ...Array(10).fill('CreateRunSuccess'),
      ...Array(10).fill('InsufficientCreditsError'),
    ]);
    for (const refused of byType('InsufficientCreditsError')) {
      expect(refused).toMatchObject({ code: 'INSUFFICIENT_CREDITS' });
    }
    expect(await runsOf(accountId)).toBe(10);
    const state = await accountState(server, accountId);
    expect(state.balance).toBe(0);
    expect(state.sum).toBe(0);
    expect(state.ledger.filter((row) => row.reason === 'RUN')).toHaveLength(10);

    // They all run to the end without a refund (success keeps the charge).
    await waitIdle(server, 60_000);
    const ended = await server.app.db.prisma.run.groupBy({
      by: ['status'],
      where: { ownerId: accountId },
      _count: { _all: true },
    });
    expect(ended.map((g) => [g.status, g._count._all])).toEqual([['SUCCEEDED', 10]]);
    expect(await accountState(server, accountId)).toMatchObject({ balance: 0, sum: 0 });
  });

  it('refunds a run that fails on its worker (RUN, then REFUND)', async () => {
    const { credits } = price('flux1-dev', 'TEXT_TO_IMAGE');
    const { key, accountId } = await newAccount('failing', 50);
    // The fault hits the next prompt the sandbox starts: nothing else may be running.
    await waitIdle(server);
    server.app.sandbox!.failNextPrompt({ kind: 'error', message: 'injected failure' });
    const run = await createRunOk(server, T2I, { apiKey: key });
    expect((await accountState(server, accountId)).balance).toBe(50 - credits);

    const last = await finalRun(server, run.id, key);
    expect(last.status).toBe('FAILED');
    expect(last.error?.code).toBe('NODE_ERROR');
    const state = await accountState(server, accountId);
    expect(state.balance).toBe(50);
    expect(state.ledger).toEqual([
      { amount: 50, reason: 'GRANT', runId: null, note: 'initial credits' },
      { amount: -credits, reason: 'RUN', runId: uuidOf(run.id), note: null },
      { amount: credits, reason: 'REFUND', runId: uuidOf(run.id), note: null },
    ]);
  });

  it('refunds a QUEUED run at once when canceled or deleted, and only once', async () => {
    const { credits } = price('flux1-dev', 'TEXT_TO_IMAGE');
    const blocker = await newAccount('blocker', 100);
    const { key, accountId } = await newAccount('queued', 50);
    await waitIdle(server);
    const hold = await holdQueue(server, { apiKey: blocker.key });
    try {
      const canceled = await createRunOk(server, T2I, { apiKey: key });
      const deleted = await createRunOk(server, T2I, { apiKey: key });
      expect([canceled.status, deleted.status]).toEqual(['QUEUED', 'QUEUED']);
      expect((await accountState(server, accountId)).balance).toBe(50 - 2 * credits);

      const cancel = await server.gql<{ cancelRun: unknown }>(
        CANCEL,
        { id: canceled.id },
        { apiKey: key },
      );
      expect(cancel.data?.cancelRun).toEqual({
        __typename: 'CancelRunSuccess',
        run: { status: 'CANCELED' },
      });
      // Refunded in the cancel itself, while the queue is still held.
      expect((await accountState(server, accountId)).balance).toBe(50 - credits);

      const del = await server.gql<{ deleteRun: unknown }>(
        DELETE,
        { id: deleted.id },
        { apiKey: key },
      );
      expect(del.data?.deleteRun).toEqual({ __typename: 'DeleteSuccess' });
      expect((await accountState(server, accountId)).balance).toBe(50);

      // Neither a second cancel nor a second delete gives anything back again.
      const again = await server.gql<{ cancelRun: unknown }>(
        CANCEL,
        { id: canceled.id },
        { apiKey: key },
      );
      expect(again.data?.cancelRun).toEqual({
        __typename: 'RunNotActiveError',
        code: 'RUN_NOT_ACTIVE',
      });
      const delAgain = await server.gql<{ deleteRun: unknown }>(
        DELETE,
        { id: deleted.id },
        { apiKey: key },
      );
      expect(delAgain.data?.deleteRun).toEqual({
        __typename: 'NotFoundError',
        code: 'NOT_FOUND',
      });
      const deleteCanceled = await server.gql<{ deleteRun: unknown }>(
        DELETE,
        { id: canceled.id },
        { apiKey: key },
      );
      expect(deleteCanceled.data?.deleteRun).toEqual({ __typename: 'DeleteSuccess' });

      const state = await accountState(server, accountId);
      expect(state.balance).toBe(50);
      expect(state.sum).toBe(50);
      expect(state.ledger.map((row) => [row.reason, row.amount])).toEqual([
        ['GRANT', 50],
        ['RUN', -credits],
        ['RUN', -credits],
        ['REFUND', credits],
        ['REFUND', credits],
      ]);
    } finally {
      hold.release();
    }
    await waitIdle(server);
  });

  it('refunds a RUNNING run when it ends CANCELED, once', async () => {
    const { credits } = price('flux1-dev', 'TEXT_TO_IMAGE');
    const { key, accountId } = await newAccount('running', 50);
    await waitIdle(server);
    const sandbox = server.app.sandbox!;
    // Stuck on the worker until interrupted: the run is RUNNING for as long as we need.
    sandbox.hangNextPrompt({ afterSteps: 0, interruptible: true });
    const run = await createRunOk(server, T2I, { apiKey: key });
    await until(
      async () =>
        sandbox.hanging &&
        (await server.app.db.prisma.run.findUniqueOrThrow({ where: { id: uuidOf(run.id) } }))
          .status === 'RUNNING',
      'the run to be running on the worker',
    );
    // Still charged while it runs.
    expect((await accountState(server, accountId)).balance).toBe(50 - credits);

    const watch = finalRun(server, run.id, key);
    const cancel = await server.gql<{ cancelRun: { __typename: string } }>(
      CANCEL,
      { id: run.id },
      { apiKey: key },
    );
    expect(cancel.data?.cancelRun.__typename).toBe('CancelRunSuccess');
    const last = await watch;
    expect(last.status).toBe('CANCELED');
    expect((await accountState(server, accountId)).balance).toBe(50);

    const again = await server.gql<{ cancelRun: { __typename: string } }>(
      CANCEL,
      { id: run.id },
      { apiKey: key },
    );
    expect(again.data?.cancelRun.__typename).toBe('RunNotActiveError');
    const deleted = await server.gql<{ deleteRun: { __typename: string } }>(
      DELETE,
      { id: run.id },
      { apiKey: key },
    );
    expect(deleted.data?.deleteRun.__typename).toBe('DeleteSuccess');
    const state = await accountState(server, accountId);
    expect(state.balance).toBe(50);
    expect(state.ledger.map((row) => row.reason)).toEqual(['GRANT', 'RUN', 'REFUND']);
  });

  it('grantCredits: an admin adds a GRANT row; others are forbidden; never below zero', async () => {
    const admin = await newAccount('granter', 0, true);
    const { key, accountId } = await newAccount('grantee', 10);
    const account = globalId('Account', accountId);

    const granted = await server.gql<{ grantCredits: unknown }>(
      GRANT,
      { account, amount: 25, note: 'welcome bonus' },
      { apiKey: admin.key },
    );
    expect(granted.data?.grantCredits).toEqual({
      __typename: 'GrantCreditsSuccess',
      account: { id: account, credits: 35 },
    });
    const removed = await server.gql<{ grantCredits: unknown }>(
      GRANT,
      { account, amount: -5 },
      { apiKey: admin.key },
    );
    expect(removed.data?.grantCredits).toMatchObject({ account: { credits: 30 } });
    expect((await accountState(server, accountId)).ledger).toEqual([
      { amount: 10, reason: 'GRANT', runId: null, note: 'initial credits' },
      { amount: 25, reason: 'GRANT', runId: null, note: 'welcome bonus' },
      { amount: -5, reason: 'GRANT', runId: null, note: null },
    ]);

    // A user key may not grant, not even to its own account.
    const forbidden = await server.gql<{ grantCredits: unknown }>(
      GRANT,
      { account, amount: 1000 },
      { apiKey: key },
    );
    expect(forbidden.data?.grantCredits).toMatchObject({
      __typename: 'ForbiddenError',
      code: 'FORBIDDEN',
    });

    const belowZero = await server.gql<{ grantCredits: unknown }>(
      GRANT,
      { account, amount: -31 },
      { apiKey: admin.key },
    );
    expect(belowZero.data?.grantCredits).toMatchObject({
      __typename: 'ValidationError',
      code: 'VALIDATION_FAILED',
      field: 'amount',
    });
    const state = await accountState(server, accountId);
    expect(state.balance).toBe(30);
    expect(state.ledger).toHaveLength(3);
  });

  it('every account’s balance equals the sum of its ledger (database and GraphQL)', async () => {
    await waitIdle(server);
    const prisma = server.app.db.prisma;
    const sums = await prisma.creditTransaction.groupBy({
      by: ['accountId'],
      _sum: { amount: true },
    });
    const rows = await prisma.account.findMany({ select: { id: true, creditBalance: true } });
    for (const account of rows) {
      const sum = sums.find((s) => s.accountId === account.id)?._sum.amount ?? 0;
      expect({ id: account.id, balance: account.creditBalance }).toEqual({
        id: account.id,
        balance: account.id === '00000000-0000-0000-0000-000000000000' ? null : sum,
      });
    }
    expect(accounts.length).toBeGreaterThan(8);
    for (const { key, accountId } of accounts) {
      const viewer = await server.gql<ViewerView>(VIEWER, {}, { apiKey: key });
      const account = viewer.data!.viewer.account;
      expect(account.id).toBe(globalId('Account', accountId));
      const ledger = account.creditTransactions.edges.map((e) => e.node);
      expect(ledger.length).toBeLessThan(100);
      expect(ledger.reduce((total, row) => total + row.amount, 0)).toBe(account.credits);
      expect(account.credits).toBe((await accountState(server, accountId)).balance);
    }
  });
});

describe('credits (AUTH_MODE=local)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ SANDBOX_STEP_DELAY_MS: '0' });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the local account has unlimited credits: runs succeed and write no ledger rows', async () => {
    const viewer = await server.gql<ViewerView>(VIEWER);
    expect(viewer.data?.viewer).toEqual({
      account: {
        id: globalId('Account', '00000000-0000-0000-0000-000000000000'),
        name: 'local',
        credits: null,
        creditTransactions: { edges: [] },
      },
      apiKey: null,
    });
    const runs = await Promise.all([
      createRunOk(server, { ...T2I, count: 2 }),
      createRunOk(server, {
        mode: 'TEXT_TO_AUDIO',
        model: 'ace-step-v1-3.5b',
        prompt: 'rain',
        parameters: { steps: 10, duration: 5 },
      }),
    ]);
    for (const run of runs) expect((await finalRun(server, run.id)).status).toBe('SUCCEEDED');
    const prisma = server.app.db.prisma;
    expect(await prisma.creditTransaction.count()).toBe(0);
    const local = await prisma.account.findUniqueOrThrow({
      where: { id: '00000000-0000-0000-0000-000000000000' },
    });
    expect(local.creditBalance).toBeNull();
    const after = await server.gql<ViewerView>(VIEWER);
    expect(after.data?.viewer.account.credits).toBeNull();
  });
  it('a key acts as its own account; an unknown key is 401 even though no key is needed', async () => {
    const { key } = await server.createKey({ account: 'keyed', credits: 7 });
    const keyed = await server.gql<ViewerView>(VIEWER, {}, { apiKey: key });
    expect(keyed.data?.viewer.account).toMatchObject({ name: 'keyed', credits: 7 });
    const res = await fetch(`${server.url}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer atl_${'0'.repeat(40)}`,
      },
      body: JSON.stringify({ query: '{ viewer { account { name } } }' }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({
      errors: [{ extensions: { code: 'UNAUTHENTICATED' } }],
    });
  });
});
