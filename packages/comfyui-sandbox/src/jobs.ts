// The jobs API (`comfy_execution/jobs.py`): a normalized view over queue and history.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxCore } from './core.ts';
import type { HistoryEntry, QueueItem } from './queue.ts';
import { readJson, sendJson } from './respond.ts';

export const JOB_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'cancelled'] as const;

export type Job = Record<string, unknown>;

const PREVIEWABLE = new Set(['images', 'video', 'audio', '3d']);
const THREE_D = ['.obj', '.fbx', '.gltf', '.glb', '.usdz'];

/** `prune_dict`: drops keys whose value is null/undefined. */
function prune(o: Record<string, unknown>): Job {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined));
}

function metadata(extra: Record<string, unknown>): { createTime: unknown; workflowId: unknown } {
  const pnginfo = (extra.extra_pnginfo ?? {}) as { workflow?: { id?: unknown } };
  return { createTime: extra.create_time, workflowId: pnginfo.workflow?.id };
}

export function normalizeQueueItem(item: QueueItem, status: 'pending' | 'in_progress'): Job {
  const { createTime, workflowId } = metadata(item.extraData);
  return prune({
    id: item.promptId,
    status,
    priority: item.number,
    create_time: createTime,
    outputs_count: 0,
    workflow_id: workflowId,
  });
}

function isPreviewable(mediaType: string, item: Record<string, unknown>): boolean {
  if (PREVIEWABLE.has(mediaType)) return true;
  const fmt = typeof item.format === 'string' ? item.format : '';
  if (fmt.startsWith('video/') || fmt.startsWith('audio/')) return true;
  const name = String(item.filename ?? '').toLowerCase();
  return THREE_D.some((e) => name.endsWith(e));
}

function outputsSummary(outputs: HistoryEntry['outputs']): [number, Job | undefined] {
  let count = 0;
  let preview: Job | undefined;
  let fallback: Job | undefined;
  for (const [nodeId, nodeOutputs] of Object.entries(outputs)) {
    if (!nodeOutputs || typeof nodeOutputs !== 'object') continue;
    for (const [mediaType, items] of Object.entries(nodeOutputs)) {
      if (mediaType === 'animated' || !Array.isArray(items)) continue;
      for (const item of items) {
        if (item === null || typeof item !== 'object') continue;
        count++;
        if (preview) continue;
        const it = item as Record<string, unknown>;
        if (!isPreviewable(mediaType, it)) continue;
        const enriched: Job = { ...it, nodeId };
        if (!('mediaType' in it)) enriched.mediaType = mediaType;
        if (it.type === 'output') preview = enriched;
        else fallback ??= enriched;
      }
    }
  }
  return [count, preview ?? fallback];
}

export function normalizeHistoryItem(id: string, entry: HistoryEntry, details: boolean): Job {
  const [priority, , prompt, extraData] = entry.prompt;
  const { createTime, workflowId } = metadata(extraData);
  const [outputsCount, previewOutput] = outputsSummary(entry.outputs);
  let start: unknown;
  let end: unknown;
  let error: unknown;
  let interrupted = false;
  for (const [event, data] of entry.status?.messages ?? []) {
    if (event === 'execution_start') start = data.timestamp;
    else if (
      event === 'execution_success' ||
      event === 'execution_error' ||
      event === 'execution_interrupted'
    ) {
      end = data.timestamp;
      if (event === 'execution_error') error = data;
      if (event === 'execution_interrupted') interrupted = true;
    }
  }
  const statusStr = entry.status?.status_str;
  const status = statusStr === 'error' ? (interrupted ? 'cancelled' : 'failed') : 'completed';
  const job = prune({
    id,
    status,
    priority,
    create_time: createTime,
    execution_start_time: start,
    execution_end_time: end,
    execution_error: error,
    outputs_count: outputsCount,
    preview_output: previewOutput,
    workflow_id: workflowId,
  });
  if (details) {
    job.outputs = entry.outputs;
    job.execution_status = entry.status;
    job.workflow = { prompt, extra_data: extraData };
  }
  return job;
}

export interface JobQuery {
  status?: string[];
  workflowId?: string;
  sortBy: 'created_at' | 'execution_duration';
  sortOrder: 'asc' | 'desc';
  limit?: number;
  offset: number;
}

export function listJobs(
  running: QueueItem[],
  pending: QueueItem[],
  history: Record<string, HistoryEntry>,
  q: JobQuery,
): { jobs: Job[]; total: number } {
  const filter = new Set(q.status ?? JOB_STATUSES);
  let jobs: Job[] = [];
  if (filter.has('in_progress'))
    for (const i of running) jobs.push(normalizeQueueItem(i, 'in_progress'));
  if (filter.has('pending')) for (const i of pending) jobs.push(normalizeQueueItem(i, 'pending'));
  if (filter.has('completed') || filter.has('failed') || filter.has('cancelled')) {
    for (const [id, entry] of Object.entries(history)) {
      const job = normalizeHistoryItem(id, entry, false);
      if (filter.has(job.status as string)) jobs.push(job);
    }
  }
  if (q.workflowId) jobs = jobs.filter((j) => j.workflow_id === q.workflowId);
  const key = (j: Job): number => {
    if (q.sortBy === 'execution_duration') {
      const s = Number(j.execution_start_time ?? 0);
      const e = Number(j.execution_end_time ?? 0);
      return s && e ? e - s : 0;
    }
    return Number(j.create_time ?? 0);
  };
  // Python's sorted() is stable; so is Array.prototype.sort.
  jobs.sort((a, b) => (q.sortOrder === 'desc' ? key(b) - key(a) : key(a) - key(b)));
  const total = jobs.length;
  if (q.offset > 0) jobs = jobs.slice(q.offset);
  if (q.limit !== undefined) jobs = jobs.slice(0, q.limit);
  return { jobs, total };
}

export function findJob(
  id: string,
  running: QueueItem[],
  pending: QueueItem[],
  entry: HistoryEntry | undefined,
): Job | undefined {
  if (entry) return normalizeHistoryItem(id, entry, true);
  const r = running.find((i) => i.promptId === id);
  if (r) return normalizeQueueItem(r, 'in_progress');
  const p = pending.find((i) => i.promptId === id);
  if (p) return normalizeQueueItem(p, 'pending');
  return undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `validate_job_id`: whether `v` is a UUID in the canonical form `str(uuid.UUID(v))` produces. */
export function isCanonicalUuid(v: unknown): v is string {
  return typeof v === 'string' && UUID.test(v);
}

function jobsQuery(q: URLSearchParams): JobQuery | string {
  const statusParam = q.get('status');
  let status: string[] | undefined;
  if (statusParam) {
    status = statusParam
      .split(',')
      .map((s) => s.trim().toLowerCase())
      .filter(Boolean);
    const bad = status.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
    if (bad.length) {
      return `Invalid status value(s): ${bad.join(', ')}. Valid values: ${JOB_STATUSES.join(', ')}`;
    }
  }
  const sortBy = (q.get('sort_by') ?? 'created_at').toLowerCase();
  if (sortBy !== 'created_at' && sortBy !== 'execution_duration') {
    return "sort_by must be 'created_at' or 'execution_duration'";
  }
  const sortOrder = (q.get('sort_order') ?? 'desc').toLowerCase();
  if (sortOrder !== 'asc' && sortOrder !== 'desc') return "sort_order must be 'asc' or 'desc'";
  let limit: number | undefined;
  if (q.has('limit')) {
    if (!/^\s*[+-]?\d+\s*$/.test(q.get('limit')!)) return 'limit must be an integer';
    limit = Number(q.get('limit'));
    if (limit <= 0) return 'limit must be a positive integer';
  }
  let offset = 0;
  if (q.has('offset')) {
    if (!/^\s*[+-]?\d+\s*$/.test(q.get('offset')!)) return 'offset must be an integer';
    offset = Math.max(0, Number(q.get('offset')));
  }
  const workflowId = q.get('workflow_id')?.trim() || undefined;
  return { status, workflowId, sortBy, sortOrder, limit, offset };
}

/** Cancels a job: a pending one is dequeued, a running one interrupted. */
export function cancelJob(core: SandboxCore, id: string): boolean {
  if (core.queue.deleteQueueItem((i) => i.promptId === id)) return true;
  if (core.queue.isRunning(id)) return core.executor.interrupt(id);
  return false;
}

/** The `/api/jobs` routes; `route` is the path after `/api`. */
export async function jobsRoute(
  core: SandboxCore,
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  q: URLSearchParams,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (route === '/jobs' && method === 'GET') {
    const query = jobsQuery(q);
    if (typeof query === 'string') {
      sendJson(res, 400, { error: query });
      return true;
    }
    const { running, pending } = core.queue.currentQueue();
    const { jobs, total } = listJobs(running, pending, core.queue.getHistory(), query);
    sendJson(res, 200, {
      jobs,
      pagination: {
        offset: query.offset,
        limit: query.limit ?? null,
        total,
        has_more: query.offset + jobs.length < total,
      },
    });
    return true;
  }
  if (route === '/jobs/cancel' && method === 'POST') {
    const body = (await readJson(req, core.maxUploadBytes)) as { job_ids?: unknown };
    if (!Array.isArray(body?.job_ids)) {
      sendJson(res, 400, { error: 'job_ids must be a list' });
      return true;
    }
    const invalid = body.job_ids.filter((id) => !isCanonicalUuid(id));
    if (invalid.length) {
      sendJson(res, 400, { error: 'job_ids contains invalid id(s)', invalid_ids: invalid });
      return true;
    }
    let cancelled = false;
    for (const id of body.job_ids as string[]) cancelled = cancelJob(core, id) || cancelled;
    sendJson(res, 200, { cancelled });
    return true;
  }
  const m = /^\/jobs\/([^/]+)(\/cancel)?$/.exec(route);
  if (!m) return false;
  const id = decodeURIComponent(m[1]!);
  if (m[2] && method === 'POST') {
    sendJson(res, 200, { cancelled: cancelJob(core, id) });
    return true;
  }
  if (!m[2] && method === 'GET') {
    const { running, pending } = core.queue.currentQueue();
    const job = findJob(id, running, pending, core.queue.historyEntry(id));
    if (job) sendJson(res, 200, job);
    else sendJson(res, 404, { error: 'Job not found' });
    return true;
  }
  return false;
}

/**
 * Handles a ComfyUI route; `route` is the path without any `/api` prefix and `api` says
 * whether the prefix was there. Returns false when no route matches.
 */
