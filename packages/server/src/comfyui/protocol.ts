// ComfyUI's wire formats (shared/comfyui/PROTOCOL.md): WebSocket JSON messages, binary frames,
// history entries and the error bodies of POST /prompt. Only what the adapter reads is typed;
// unknown message types and fields are tolerated everywhere.
import type { ApiGraph } from '../models/workflow.ts';

/** A file a node reported (`images`, `audio`, `gifs`, `video`... entries). */
export interface FileRef {
  filename: string;
  subfolder: string;
  type: string;
}

/** A node's UI dict: `executed.output` and `history.outputs[node]`. */
export type NodeUi = Record<string, unknown>;

export interface ExecutionErrorData {
  prompt_id: string;
  node_id?: string;
  node_type?: string;
  exception_message?: string;
  exception_type?: string;
  /** Python traceback lines. */
  traceback?: string[];
  executed?: string[];
}

export interface ExecutionInterruptedData {
  prompt_id: string;
  node_id?: string;
  node_type?: string;
}

export interface HistoryEntry {
  prompt?: unknown[];
  outputs: Record<string, NodeUi>;
  status?: {
    status_str?: string;
    completed?: boolean;
    messages?: Array<[string, Record<string, unknown>]>;
  } | null;
}

/** A text frame: `{type, data}`. */
export interface WsMessage {
  type: string;
  data: Record<string, unknown>;
}

/** Binary frame event ids (`protocol.py`). */
export const BinaryEvent = {
  PREVIEW_IMAGE: 1,
  TEXT: 3,
  PREVIEW_IMAGE_WITH_METADATA: 4,
} as const;

/** A decoded preview frame. `promptId`/`nodeId` are only known for event 4. */
export interface PreviewFrame {
  event: 1 | 4;
  mimeType: string;
  data: Buffer;
  promptId: string | null;
  nodeId: string | null;
}

/**
 * Decodes a binary frame (all integers big-endian u32). Returns null for frames that are not
 * previews (TEXT, unknown events) or are malformed.
 */
export function decodeBinaryFrame(frame: Buffer): PreviewFrame | null {
  if (frame.length < 8) return null;
  const event = frame.readUInt32BE(0);
  if (event === BinaryEvent.PREVIEW_IMAGE) {
    const format = frame.readUInt32BE(4);
    return {
      event: 1,
      mimeType: format === 2 ? 'image/png' : 'image/jpeg',
      data: frame.subarray(8),
      promptId: null,
      nodeId: null,
    };
  }
  if (event === BinaryEvent.PREVIEW_IMAGE_WITH_METADATA) {
    const length = frame.readUInt32BE(4);
    if (8 + length > frame.length) return null;
    let meta: Record<string, unknown>;
    try {
      meta = JSON.parse(frame.subarray(8, 8 + length).toString('utf8'));
    } catch {
      return null;
    }
    const str = (v: unknown) => (typeof v === 'string' ? v : null);
    return {
      event: 4,
      mimeType: str(meta.image_type) ?? 'image/jpeg',
      data: frame.subarray(8 + length),
      promptId: str(meta.prompt_id),
      // The submitted node to show for expanded nodes; the node itself otherwise.
      nodeId: str(meta.display_node_id) ?? str(meta.node_id),
    };
  }
  return null;
}

/** Parses a text frame; null when it is not `{type: string, data?: object}`. */
export function parseWsMessage(text: string): WsMessage | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (!v || typeof v !== 'object') return null;
  const m = v as { type?: unknown; data?: unknown };
  if (typeof m.type !== 'string') return null;
  const data = m.data && typeof m.data === 'object' ? (m.data as Record<string, unknown>) : {};
  return { type: m.type, data };
}

/** The prompt id a message belongs to, if it names one. */
export function promptIdOf(msg: WsMessage): string | null {
  const id = msg.data.prompt_id;
  return typeof id === 'string' ? id : null;
}

/**
 * The class of a node id as reported by ComfyUI. Nodes created by expansion have ids like
 * `12.0.0.1`; they are shown as the submitted node they came from.
 */
export function nodeClass(graph: ApiGraph, nodeId: string): string {
  const direct = graph[nodeId]?.class_type;
  if (direct) return direct;
  const parent = nodeId.split('.')[0] ?? nodeId;
  return graph[parent]?.class_type ?? 'unknown';
}

/** The body of a 400 from POST /prompt. */
export interface PromptErrorBody {
  error?: {
    type?: string;
    message?: string;
    details?: string;
    extra_info?: Record<string, unknown>;
  };
  node_errors?: Record<
    string,
    {
      errors?: Array<{
        type?: string;
        message?: string;
        details?: string;
        extra_info?: Record<string, unknown>;
      }>;
      class_type?: string;
    }
  >;
}

/** Every file entry of a history `outputs` map, with the node and whether it is animated. */
/** One output file of a worker: its type, subfolder and name. */
export function fileKey(ref: { type: string; subfolder: string; filename: string }): string {
  return `${ref.type}\u0000${ref.subfolder}\u0000${ref.filename}`;
}

export function fileRefs(
  outputs: Record<string, NodeUi>,
): Array<FileRef & { nodeId: string; animated: boolean }> {
  const out: Array<FileRef & { nodeId: string; animated: boolean }> = [];
  const seen = new Set<string>();
  for (const [nodeId, ui] of Object.entries(outputs)) {
    if (!ui || typeof ui !== 'object') continue;
    const animated = Array.isArray(ui.animated) && ui.animated.some((a) => a === true);
    for (const [key, items] of Object.entries(ui)) {
      if (key === 'animated' || !Array.isArray(items)) continue;
      for (const item of items) {
        if (!item || typeof item !== 'object') continue;
        const f = item as Record<string, unknown>;
        if (typeof f.filename !== 'string' || f.filename === '') continue;
        const ref = {
          nodeId,
          filename: f.filename,
          subfolder: typeof f.subfolder === 'string' ? f.subfolder : '',
          type: typeof f.type === 'string' ? f.type : 'output',
          animated,
        };
        const key2 = fileKey(ref);
        if (seen.has(key2)) continue;
        seen.add(key2);
        out.push(ref);
      }
    }
  }
  return out;
}
