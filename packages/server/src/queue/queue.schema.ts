// GraphQL for the queue: counts, workers, and where the viewer's runs stand.
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import type { Run } from '../generated/prisma/client.ts';
import { RunRef } from '../runs/runs.schema.ts';
import type { WorkerStatus } from './executor.ts';

interface QueueStatusShape {
  queued: number;
  running: number;
  workers: WorkerStatus[];
  mine: { run: Run; position: number | null }[];
}

const WorkerRef = builder.objectRef<WorkerStatus>('Worker').implement({
  description: 'A ComfyUI worker in the pool.',
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Base URL of the worker.' }),
    healthy: t.exposeBoolean('healthy', { description: 'Connected and answering.' }),
    sandbox: t.exposeBoolean('sandbox', {
      description: 'True for the bundled sandbox, which renders stand-in images (no real models).',
    }),
    running: t.exposeInt('running', { description: 'Prompts executing now.' }),
    queued: t.exposeInt('queued', { description: 'Prompts waiting on the worker.' }),
    loadedModels: t.exposeStringList('loadedModels', {
      description: 'Models it ran last (preferred for the same model).',
    }),
    lastError: t.exposeString('lastError', {
      nullable: true,
      description: 'Last connection or health problem.',
    }),
  }),
});

const QueuedRunRef = builder
  .objectRef<{ run: Run; position: number | null }>('QueuedRun')
  .implement({
    description: 'One of your active runs and its place in the queue.',
    fields: (t) => ({
      run: t.field({ type: RunRef, description: 'The run.', resolve: (q) => q.run }),
      position: t.exposeInt('position', {
        nullable: true,
        description: 'Position in the queue (1 = next); null while running.',
      }),
    }),
  });

const QueueStatusRef = builder.objectRef<QueueStatusShape>('QueueStatus').implement({
  description: 'The state of the queue.',
  fields: (t) => ({
    queued: t.exposeInt('queued', { description: 'Runs waiting, all owners.' }),
    running: t.exposeInt('running', { description: 'Runs executing, all owners.' }),
    workers: t.field({
      type: [WorkerRef],
      description: 'The workers and their state.',
      resolve: (q) => q.workers,
    }),
    viewerRuns: t.field({
      type: [QueuedRunRef],
      description: 'Your queued and running runs, in queue order.',
      resolve: (q) => q.mine,
    }),
  }),
});

async function queueStatus(ctx: Context): Promise<QueueStatusShape> {
  const [queued, running, mine] = await Promise.all([
    ctx.prisma.run.count({ where: { status: 'QUEUED' } }),
    ctx.prisma.run.count({ where: { status: 'RUNNING' } }),
    ctx.prisma.run.findMany({
      where: { ownerId: ctx.viewer.accountId, status: { in: ['QUEUED', 'RUNNING'] } },
      orderBy: [{ status: 'desc' }, { priority: 'desc' }, { createdAt: 'asc' }],
      take: 100,
    }),
  ]);
  // Position among all queued runs: the number of queued runs ahead of it, plus one.
  const queuedAll = mine.some((r) => r.status === 'QUEUED')
    ? await ctx.prisma.run.findMany({
        where: { status: 'QUEUED' },
        orderBy: [{ priority: 'desc' }, { createdAt: 'asc' }],
        select: { id: true },
      })
    : [];
  const position = new Map(queuedAll.map((r, i) => [r.id, i + 1]));
  return {
    queued,
    running,
    workers: ctx.services.executor.workers(),
    mine: mine.map((run) => ({ run, position: position.get(run.id) ?? null })),
  };
}

builder.queryField('queue', (t) =>
  t.field({
    type: QueueStatusRef,
    description: 'Counts, workers, and the position of your runs.',
    resolve: (_root, _args, ctx) => queueStatus(ctx),
  }),
);

builder.subscriptionField('queueUpdated', (t) =>
  t.field({
    type: QueueStatusRef,
    description: 'The queue state now and after every change (throttled).',
    subscribe: async function* (_root, _args, ctx) {
      const changes = ctx.services.pubsub.subscribe('queue');
      try {
        yield null;
        let last = 0;
        for await (const _ of changes) {
          // Collapse bursts: at most two updates a second.
          const wait = last + 500 - Date.now();
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
          last = Date.now();
          yield null;
        }
      } finally {
        await changes.return?.();
      }
    },
    resolve: (_event, _args, ctx) => queueStatus(ctx),
  }),
);
