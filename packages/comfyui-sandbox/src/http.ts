// ComfyUI's HTTP routes (`server.py`), each served at `/x` and `/api/x` (the jobs routes only
// under `/api`), with aiohttp's status codes and bodies: JSON written like Python's json.dumps,
// empty 200 bodies where ComfyUI returns `web.Response(status=200)`.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import os from 'node:os';
import type { SandboxCore } from './core.ts';
import { isCanonicalUuid, jobsRoute } from './jobs.ts';
import { MODEL_FOLDERS } from './models.ts';
import { PyFloat, pyDumps } from './pyjson.ts';
import { queueTuple } from './queue.ts';
import {
  HttpError,
  INTERNAL_ERROR,
  readBody,
  readJson,
  sendEmpty,
  sendJson,
  sendText,
} from './respond.ts';
import { nodeInfo } from './specs.ts';
import { handleUpload } from './upload.ts';
import { validatePrompt } from './validate.ts';
import { view } from './view.ts';

export const COMFYUI_VERSION = '0.30.0';

function systemStats(): Record<string, unknown> {
  return {
    system: {
      os: process.platform,
      ram_total: os.totalmem(),
      ram_free: os.freemem(),
      comfyui_version: COMFYUI_VERSION,
      required_frontend_version: '1.48.7',
      installed_templates_version: null,
      required_templates_version: null,
      comfy_package_versions: [],
      python_version: `sandbox (node ${process.versions.node})`,
      pytorch_version: 'none (Atelier ComfyUI sandbox, no model weights)',
      embedded_python: false,
      deploy_environment: 'atelier-sandbox',
      argv: ['comfyui-sandbox'],
    },
    devices: [
      {
        name: 'sandbox:0 Atelier ComfyUI sandbox (no GPU, no models)',
        type: 'cpu',
        index: 0,
        vram_total: 0,
        vram_free: 0,
        torch_vram_total: 0,
        torch_vram_free: 0,
      },
    ],
  };
}

async function postPrompt(core: SandboxCore, req: IncomingMessage, res: ServerResponse) {
  const body = (await readJson(req, core.maxUploadBytes)) as Record<string, unknown>;
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new HttpError(500, INTERNAL_ERROR);
  let number: number | PyFloat;
  if ('number' in body) {
    const n = Number(body.number);
    if (body.number === null || typeof body.number === 'object' || Number.isNaN(n)) {
      throw new HttpError(500, INTERNAL_ERROR);
    }
    number = new PyFloat(n);
  } else {
    number = core.number;
    if (body.front) number = -number;
    core.number++;
  }
  if (!('prompt' in body)) {
    const error = {
      type: 'no_prompt',
      message: 'No prompt provided',
      details: 'No prompt provided',
      extra_info: {},
    };
    return sendJson(res, 400, { error, node_errors: {} });
  }
  let promptId: string;
  if (body.prompt_id === undefined || body.prompt_id === null) {
    promptId = randomUUID();
  } else if (isCanonicalUuid(body.prompt_id)) {
    promptId = body.prompt_id;
  } else {
    const error = {
      type: 'invalid_prompt_id',
      message: 'Invalid prompt_id format',
      details: `prompt_id must be a UUID in canonical lowercase hyphenated form, got ${pyDumps(body.prompt_id)}`,
      extra_info: {},
    };
    return sendJson(res, 400, { error, node_errors: {} });
  }
  const promptIn = body.prompt;
  if (!promptIn || typeof promptIn !== 'object' || Array.isArray(promptIn)) {
    throw new HttpError(500, INTERNAL_ERROR);
  }
  const prompt = structuredClone(promptIn) as Record<string, never>;
  const targets = Array.isArray(body.partial_execution_targets)
    ? (body.partial_execution_targets as unknown[]).map(String)
    : undefined;
  const valid = validatePrompt(prompt, targets, {
    spec: (c) => core.spec(c),
    files: core.files,
    annotatedFileExists: (n) => core.annotatedFileExists(n),
  });
  const extra: Record<string, unknown> =
    body.extra_data && typeof body.extra_data === 'object' && !Array.isArray(body.extra_data)
      ? { ...(body.extra_data as Record<string, unknown>) }
      : {};
  if ('client_id' in body) extra.client_id = body.client_id;
  if (!valid.ok) return sendJson(res, 400, { error: valid.error, node_errors: valid.nodeErrors });

  const usage = req.headers['comfy-usage-source'];
  if (typeof usage === 'string' && !('comfy_usage_source' in extra))
    extra.comfy_usage_source = usage;
  const sensitive: Record<string, unknown> = {};
  for (const key of ['auth_token_comfy_org', 'api_key_comfy_org']) {
    if (key in extra) {
      sensitive[key] = extra[key];
      delete extra[key];
    }
  }
  extra.create_time = Date.now();
  core.queue.put({
    number,
    promptId,
    prompt,
    extraData: extra,
    outputsToExecute: valid.outputs,
    sensitive,
  });
  return sendJson(res, 200, { prompt_id: promptId, number, node_errors: valid.nodeErrors });
}

export async function comfyRoute(
  core: SandboxCore,
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
  api: boolean,
  q: URLSearchParams,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  if (api && route.startsWith('/jobs')) return jobsRoute(core, req, res, route, q);
  if (method === 'GET' || method === 'HEAD') {
    switch (route) {
      case '/':
        sendText(
          res,
          200,
          'Atelier ComfyUI sandbox: speaks the ComfyUI protocol, runs no models.\n',
        );
        return true;
      case '/embeddings':
      case '/extensions':
        sendJson(res, 200, []);
        return true;
      case '/models':
        sendJson(res, 200, [...new Set([...MODEL_FOLDERS, ...Object.keys(core.models)])]);
        return true;
      case '/view':
        await view(core, req, res, q);
        return true;
      case '/system_stats':
        sendJson(res, 200, systemStats());
        return true;
      case '/features':
        sendJson(res, 200, core.features());
        return true;
      case '/prompt':
        sendJson(res, 200, core.queueInfo());
        return true;
      case '/object_info': {
        const out: Record<string, unknown> = {};
        for (const c of core.availableClasses()) out[c] = nodeInfo(c, core.spec(c)!, core.files);
        sendJson(res, 200, out);
        return true;
      }
      case '/history': {
        const max = q.get('max_items');
        const offset = q.get('offset');
        const maxItems = max !== null ? Number.parseInt(max, 10) : undefined;
        const off = offset !== null ? Number.parseInt(offset, 10) : -1;
        if ((max !== null && Number.isNaN(maxItems)) || Number.isNaN(off)) {
          throw new HttpError(500, INTERNAL_ERROR);
        }
        sendJson(res, 200, core.queue.getHistory({ maxItems, offset: off }));
        return true;
      }
      case '/queue': {
        const { running, pending } = core.queue.currentQueue();
        sendJson(res, 200, {
          queue_running: running.map(queueTuple),
          queue_pending: pending.map(queueTuple),
        });
        return true;
      }
    }
    let m = /^\/models\/([^/]+)$/.exec(route);
    if (m) {
      const folder = decodeURIComponent(m[1]!);
      if (!MODEL_FOLDERS.includes(folder) && !(folder in core.models)) sendEmpty(res, 404);
      else sendJson(res, 200, core.files.models(folder));
      return true;
    }
    m = /^\/object_info\/(.+)$/.exec(route);
    if (m) {
      const c = decodeURIComponent(m[1]!);
      const spec = core.spec(c);
      sendJson(res, 200, spec ? { [c]: nodeInfo(c, spec, core.files) } : {});
      return true;
    }
    m = /^\/history\/(.+)$/.exec(route);
    if (m) {
      sendJson(res, 200, core.queue.getHistory({ promptId: decodeURIComponent(m[1]!) }));
      return true;
    }
    if (/^\/view_metadata\/[^/]+$/.test(route)) {
      sendEmpty(res, 404);
      return true;
    }
    return false;
  }
  if (method !== 'POST') return false;
  switch (route) {
    case '/prompt':
      await postPrompt(core, req, res);
      return true;
    case '/queue': {
      const body = (await readJson(req, core.maxUploadBytes)) as Record<string, unknown>;
      if (body?.clear) core.queue.wipeQueue();
      if (Array.isArray(body?.delete)) {
        for (const id of body.delete) core.queue.deleteQueueItem((i) => i.promptId === id);
      }
      sendEmpty(res);
      return true;
    }
    case '/interrupt': {
      let body: unknown = {};
      try {
        body = JSON.parse((await readBody(req, core.maxUploadBytes)).toString('utf8'));
      } catch {
        body = {};
      }
      const promptId = (body as { prompt_id?: unknown } | null)?.prompt_id;
      if (promptId) core.executor.interrupt(String(promptId));
      else core.executor.interrupt();
      sendEmpty(res);
      return true;
    }
    case '/free': {
      const body = (await readJson(req, core.maxUploadBytes)) as Record<string, unknown>;
      core.requestFree(Boolean(body?.free_memory));
      sendEmpty(res);
      return true;
    }
    case '/history': {
      const body = (await readJson(req, core.maxUploadBytes)) as Record<string, unknown>;
      if (body?.clear) core.queue.wipeHistory();
      if (Array.isArray(body?.delete))
        for (const id of body.delete) core.queue.deleteHistoryItem(String(id));
      sendEmpty(res);
      return true;
    }
    case '/upload/image':
      await handleUpload(core, req, res, false);
      return true;
    case '/upload/mask':
      await handleUpload(core, req, res, true);
      return true;
  }
  return false;
}
