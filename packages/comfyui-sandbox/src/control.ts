// The sandbox's own control routes under /sandbox (real ComfyUI has none): knobs, faults,
// restart, model files, node classes and the prompt log, for tests and benchmarks that
// drive a sandbox running in another process. Every route answers the current state.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DropSocketFault, HangFault, HttpFault, NodeFault, SlowNodeFault } from './faults.ts';
import { HttpError, readBody, sendJson } from './respond.ts';

/** What the control routes need from a running sandbox (the public Sandbox class). */
export interface Controllable {
  state(): Record<string, unknown>;
  setKnobs(knobs: Record<string, unknown>): void;
  failNode(fault: NodeFault): void;
  failNextPrompt(fault?: Partial<NodeFault>): void;
  failHttp(fault: Partial<HttpFault>): void;
  dropSocketsNextPrompt(fault?: Partial<DropSocketFault>): void;
  hangNextPrompt(fault?: Partial<HangFault>): void;
  slowNode(fault: Partial<SlowNodeFault> & { delayMs: number }): void;
  releaseHang(): void;
  clearFaults(): void;
  restart(opts: { keepHistory?: boolean; downtimeMs?: number }): Promise<void>;
  setModels(models: Record<string, string[]>): void;
  addModel(folder: string, file: string): void;
  removeModel(folder: string, file: string): void;
  disableNodeClass(...names: string[]): void;
  enableNodeClass(...names: string[]): void;
  resetStats(): void;
}

async function json(req: IncomingMessage): Promise<Record<string, unknown>> {
  const body = await readBody(req, 10 * 1024 * 1024);
  if (body.length === 0) return {};
  try {
    const v = JSON.parse(body.toString('utf8'));
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new HttpError(400, 'expected a JSON object');
}

export async function controlRoute(
  sandbox: Controllable,
  req: IncomingMessage,
  res: ServerResponse,
  route: string,
): Promise<boolean> {
  const method = req.method ?? 'GET';
  const ok = () => sendJson(res, 200, sandbox.state());
  if ((route === '/sandbox' || route === '/sandbox/state') && method === 'GET') {
    ok();
    return true;
  }
  if (method === 'GET') return false;
  const body = await json(req);
  switch (`${method} ${route}`) {
    case 'POST /sandbox/knobs':
      sandbox.setKnobs(body);
      break;
    case 'POST /sandbox/faults': {
      const { type, ...rest } = body;
      switch (type) {
        case 'node':
          sandbox.failNode({ kind: 'error', ...rest } as NodeFault);
          break;
        case 'oom':
          sandbox.failNode({ ...rest, kind: 'oom' } as NodeFault);
          break;
        case 'next-prompt':
          sandbox.failNextPrompt(rest as Partial<NodeFault>);
          break;
        case 'http':
          sandbox.failHttp(rest as Partial<HttpFault>);
          break;
        case 'drop-socket':
          sandbox.dropSocketsNextPrompt(rest as Partial<DropSocketFault>);
          break;
        case 'hang':
          sandbox.hangNextPrompt(rest as Partial<HangFault>);
          break;
        case 'slow-node':
          if (typeof rest.delayMs !== 'number')
            throw new HttpError(400, 'delayMs must be a number');
          sandbox.slowNode(rest as Partial<SlowNodeFault> & { delayMs: number });
          break;
        default:
          throw new HttpError(
            400,
            'type must be node, oom, next-prompt, http, drop-socket, hang or slow-node',
          );
      }
      break;
    }
    case 'DELETE /sandbox/faults':
    case 'POST /sandbox/faults/clear':
      sandbox.clearFaults();
      break;
    case 'POST /sandbox/release':
      sandbox.releaseHang();
      break;
    case 'POST /sandbox/restart': {
      const opts = {
        keepHistory: body.keepHistory === true,
        downtimeMs: typeof body.downtimeMs === 'number' ? body.downtimeMs : 0,
      };
      if (opts.downtimeMs > 0) {
        // The listener goes away during the downtime: answer first, then restart.
        res.once('finish', () => void sandbox.restart(opts));
        sendJson(res, 200, { restarting: true, downtimeMs: opts.downtimeMs });
        return true;
      }
      await sandbox.restart(opts);
      break;
    }
    case 'PUT /sandbox/models':
      sandbox.setModels(body as Record<string, string[]>);
      break;
    case 'POST /sandbox/models':
      sandbox.addModel(String(body.folder), String(body.name));
      break;
    case 'DELETE /sandbox/models':
      sandbox.removeModel(String(body.folder), String(body.name));
      break;
    case 'POST /sandbox/nodes':
      if (Array.isArray(body.disable)) sandbox.disableNodeClass(...body.disable.map(String));
      if (Array.isArray(body.enable)) sandbox.enableNodeClass(...body.enable.map(String));
      break;
    case 'POST /sandbox/stats/reset':
      sandbox.resetStats();
      break;
    default:
      return false;
  }
  ok();
  return true;
}
