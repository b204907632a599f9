// The WebSocket side of the protocol (`server.py` `websocket_handler`, `send_sync`): one
// socket per client id (last connection wins), the initial status with `sid`, feature-flag
// negotiation on the first text frame, JSON messages routed to one client or broadcast, and
// binary preview frames (event 1, or event 4 with metadata for clients that negotiated it).
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { pyDumps } from './pyjson.ts';

/** Binary event ids (`protocol.py`). */
export const BinaryEvent = {
  PREVIEW_IMAGE: 1,
  UNENCODED_PREVIEW_IMAGE: 2,
  TEXT: 3,
  PREVIEW_IMAGE_WITH_METADATA: 4,
} as const;

/** Metadata of an event-4 preview, in ComfyUI's key order. */
export interface PreviewMetadata {
  node_id: string;
  prompt_id: string;
  display_node_id: string;
  parent_node_id: string | null;
  real_node_id: string;
}

/** Encodes event 1: u32 BE event, u32 BE format (1 JPEG, 2 PNG), image bytes. */
export function encodePreviewImage(format: 'JPEG' | 'PNG', image: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header.writeUInt32BE(BinaryEvent.PREVIEW_IMAGE, 0);
  header.writeUInt32BE(format === 'PNG' ? 2 : 1, 4);
  return Buffer.concat([header, image]);
}

/** Encodes event 4: u32 BE event, u32 BE metadata length, metadata JSON, image bytes. */
export function encodePreviewWithMetadata(
  format: 'JPEG' | 'PNG',
  image: Buffer,
  metadata: PreviewMetadata,
): Buffer {
  const json = Buffer.from(
    pyDumps({ ...metadata, image_type: format === 'PNG' ? 'image/png' : 'image/jpeg' }),
    'utf8',
  );
  const header = Buffer.alloc(8);
  header.writeUInt32BE(BinaryEvent.PREVIEW_IMAGE_WITH_METADATA, 0);
  header.writeUInt32BE(json.length, 4);
  return Buffer.concat([header, json, image]);
}

interface Client {
  ws: WebSocket;
  flags: Record<string, unknown> | undefined;
}

export interface HubHooks {
  /** `{exec_info: {queue_remaining}}` for status messages. */
  queueInfo(): Record<string, unknown>;
  /** The server's feature flags (`/features`). */
  features(): Record<string, unknown>;
  /** The node the given client's prompt is executing, for the reconnect hint. */
  executingNodeFor(sid: string): string | null;
}

export class SocketHub {
  private readonly clients = new Map<string, Client>();

  constructor(private readonly hooks: HubHooks) {}

  /** Registers a new connection under `clientId` (or a fresh hex id) and greets it. */
  accept(ws: WebSocket, clientId: string | null): string {
    const sid = clientId || randomUUID().replaceAll('-', '');
    // Reusing an id: the old socket leaves the routing table but is not closed.
    const client: Client = { ws, flags: undefined };
    this.clients.set(sid, client);
    let first = true;
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let msg: unknown;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      const m = msg as { type?: unknown; data?: unknown };
      if (first && m && typeof m === 'object' && m.type === 'feature_flags') {
        client.flags = (m.data && typeof m.data === 'object' ? m.data : {}) as Record<
          string,
          unknown
        >;
        this.sendTo(client, 'feature_flags', this.hooks.features());
      }
      first = false;
    });
    ws.on('close', () => {
      // Only forget the id if it still routes to this socket (a newer one may have taken it).
      if (this.clients.get(sid) === client) this.clients.delete(sid);
    });
    ws.on('error', () => {});
    this.sendTo(client, 'status', { status: this.hooks.queueInfo(), sid });
    const node = this.hooks.executingNodeFor(sid);
    if (node !== null) this.sendTo(client, 'executing', { node });
    return sid;
  }

  private sendTo(client: Client, event: string, data: unknown): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    client.ws.send(pyDumps({ type: event, data }));
  }

  /** `send_sync(event, data, sid)`: to one client id (dropped if absent), or to all when null. */
  send(event: string, data: unknown, sid: string | null): void {
    if (sid === null) {
      for (const c of this.clients.values()) this.sendTo(c, event, data);
      return;
    }
    const c = this.clients.get(sid);
    if (c) this.sendTo(c, event, data);
  }

  sendBinary(frame: Buffer, sid: string | null): void {
    const targets = sid === null ? [...this.clients.values()] : [this.clients.get(sid)];
    for (const c of targets) {
      if (c && c.ws.readyState === c.ws.OPEN) c.ws.send(frame);
    }
  }

  /** `feature_flags.supports_feature(sockets_metadata, sid, "supports_preview_metadata")`. */
  supportsPreviewMetadata(sid: string | null): boolean {
    if (sid === null) return false;
    return this.clients.get(sid)?.flags?.supports_preview_metadata === true;
  }

  /** Abruptly drops connections (no close handshake): one client's, or all. */
  drop(sid?: string | null): number {
    let n = 0;
    for (const [id, c] of [...this.clients]) {
      if (sid !== undefined && sid !== null && id !== sid) continue;
      c.ws.terminate();
      this.clients.delete(id);
      n++;
    }
    return n;
  }

  get size(): number {
    return this.clients.size;
  }
}
