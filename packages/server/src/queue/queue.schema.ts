// GraphQL for the queue: counts, workers, and where the viewer's runs stand.
import { builder } from '../builder.ts';
import type { Context } from '../context.ts';
import type { Run } from '../generated/prisma/client.ts';
import { untilReturned } from '../pubsub.ts';
import { RunRef } from '../runs/runs.schema.ts';
import { coalesced } from './coalesce.ts';
import type { WorkerStatus } from './executor.ts';
import { QUEUE_ORDER } from './job-queue.ts';
import type { WorkerProcessView } from './worker-registry.ts';

interface QueueStatusShape {
  queued: number;
  running: number;
  workers: WorkerStatus[];
  processes: WorkerProcessView[];
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

const WorkerProcessRef = builder.objectRef<WorkerProcessView>('WorkerProcess').implement({
  description:
    'A process that executes runs (`atelier serve`, or `atelier worker`), alive: it renewed its registration within the last three heartbeats.',
  fields: (t) => ({
    id: t.exposeString('id', { description: "The installation's instance id." }),
    host: t.exposeString('host', { description: 'Host name of the machine it runs on.' }),
    pid: t.exposeInt('pid', { description: 'Its process id there.' }),
    role: t.exposeString('role', { description: '`serve` or `worker`.' }),
    startedAt: t.field({
      type: 'DateTime',
      resolve: (p) => p.startedAt,
      description: 'When it started.',
    }),
    heartbeatAt: t.field({
      type: 'DateTime',
      resolve: (p) => p.heartbeatAt,
      description: 'Its last heartbeat.',
    }),
    comfyui: t.field({
      type: [WorkerRef],
      description: 'The ComfyUI servers it uses, as it sees them.',
      resolve: (p) => p.comfyui,
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
      description:
        'Every ComfyUI server of the cluster (once each, even when several processes use it) and its state.',
      resolve: (q) => q.workers,
    }),
    processes: t.field({
      type: [WorkerProcessRef],
      description: 'Every live process that executes runs, and its ComfyUI servers.',
      resolve: (q) => q.processes,
    }),
    viewerRuns: t.field({
      type: [QueuedRunRef],
      description: 'Your queued and running runs, in queue order.',
      resolve: (q) => q.mine,
    }),
  }),
});

async function queueStatus(ctx: Context): Promise<QueueStatusShape> {
  const queue = ctx.services.queueStatus;
  const [counts, processes, mine] = await Promise.all([
    queue.counts(),
    queue.processes(),
    ctx.prisma.run.findMany({
      where: { ownerId: ctx.viewer.accountId, status: { in: ['QUEUED', 'RUNNING'] } },
      orderBy: [{ status: 'desc' }, ...QUEUE_ORDER],
      take: 100,
    }),
  ]);
  const position = await queue.positions(
    mine.filter((r) => r.status === 'QUEUED').map((r) => r.id),
  );
  return {
    ...counts,
    workers: await queue.comfyServers(processes),
    processes,
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
    // A client that leaves ends its pub/sub subscription at once, even while the queue is
    // quiet (untilReturned).
    subscribe: (_root, _args, ctx) =>
      untilReturned(ctx.services.pubsub.subscribe('queue'), (changes) => coalesced(changes)),
    resolve: (_event, _args, ctx) => queueStatus(ctx),
  }),
);
