// One WebSocket to one worker, kept open: `feature_flags` negotiated as the first frame
// (previews with metadata), pings as a watchdog for half-open connections, and reconnects
// with backoff, always after the previous socket has closed (ComfyUI forgets a client id
// when an old socket with that id closes, which would orphan a new one opened too early).
import WebSocket from 'ws';
import {
  decodeBinaryFrame,
  type PreviewFrame,
  parseWsMessage,
  type WsMessage,
} from './protocol.ts';

export interface SocketHandlers {
  /** A socket opened (`reconnect` false the first time); `sid` from the first status. */
  open(info: { reconnect: boolean; sid: string | null }): void;
  message(msg: WsMessage): void;
  preview(frame: PreviewFrame): void;
  /** The socket closed or failed to open; a reconnect is scheduled unless stopped. */
  close(reason: string): void;
}

export interface SocketOptions {
  /** Send `supports_preview_metadata: true` (event 4 previews). Default true. */
  previewMetadata?: boolean;
  /** Ping interval; a socket without a pong for two intervals is dropped. Default 10 s. */
  heartbeatMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Time allowed to open a socket and receive the first status. Default 10 s. */
  openTimeoutMs?: number;
}

export class ComfySocket {
  private ws: WebSocket | null = null;
  private stopped = true;
  private opened = false;
  private everOpened = false;
  private attempt = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private awaitingPong = false;
  private closing: Promise<void> | null = null;
  /** Time of the last frame received (any kind). */
  lastFrameAt = Date.now();

  constructor(
    private readonly url: string,
    private readonly handlers: SocketHandlers,
    private readonly options: SocketOptions = {},
  ) {}

  get isOpen(): boolean {
    return this.opened;
  }

  /** Starts connecting; the handlers hear about every open and close from then on. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    await this.closeCurrent();
  }

  /** Drops the current socket (waiting for it to close) and opens a new one. */
  async reconnect(): Promise<void> {
    if (this.stopped) return;
    if (this.reconnectTimer) {
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = null;
    }
    const had = this.ws !== null;
    await this.closeCurrent();
    // The close handler schedules the next connection; start one if no socket existed.
    if (!had && !this.stopped && !this.reconnectTimer && !this.ws) this.connect();
  }

  private closeCurrent(): Promise<void> {
    const ws = this.ws;
    if (!ws) return Promise.resolve();
    if (this.closing) return this.closing;
    this.closing = new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      // terminate(): no close handshake to wait on with a worker that stopped answering.
      ws.terminate();
    }).finally(() => {
      this.closing = null;
    });
    return this.closing;
  }

  private connect(): void {
    if (this.stopped || this.ws) return;
    const ws = new WebSocket(this.url, { perMessageDeflate: false });
    this.ws = ws;
    let gotStatus = false;
    const openTimer = setTimeout(() => {
      if (!gotStatus) ws.terminate();
    }, this.options.openTimeoutMs ?? 10_000);

    ws.on('open', () => {
      this.lastFrameAt = Date.now();
      ws.send(
        JSON.stringify({
          type: 'feature_flags',
          data: { supports_preview_metadata: this.options.previewMetadata ?? true },
        }),
      );
    });
    ws.on('pong', () => {
      this.awaitingPong = false;
      this.lastFrameAt = Date.now();
    });
    ws.on('message', (data, isBinary) => {
      if (this.ws !== ws) return;
      this.lastFrameAt = Date.now();
      this.awaitingPong = false;
      const buf = Buffer.isBuffer(data)
        ? data
        : Array.isArray(data)
          ? Buffer.concat(data)
          : Buffer.from(data);
      if (isBinary) {
        const frame = decodeBinaryFrame(buf);
        if (frame) this.handlers.preview(frame);
        return;
      }
      const msg = parseWsMessage(buf.toString('utf8'));
      if (!msg) return;
      if (!gotStatus && msg.type === 'status') {
        gotStatus = true;
        clearTimeout(openTimer);
        this.opened = true;
        this.attempt = 0;
        const reconnect = this.everOpened;
        this.everOpened = true;
        this.startHeartbeat(ws);
        const sid = typeof msg.data.sid === 'string' ? msg.data.sid : null;
        this.handlers.open({ reconnect, sid });
      }
      this.handlers.message(msg);
    });
    let failure: string | null = null;
    ws.on('error', (error) => {
      // 'close' follows and carries the consequence; its reason says what failed.
      failure = error.message;
    });
    ws.on('close', (code) => {
      clearTimeout(openTimer);
      if (this.ws !== ws) return;
      this.ws = null;
      const wasOpen = this.opened;
      this.opened = false;
      this.stopHeartbeat();
      if (wasOpen || !this.stopped) {
        this.handlers.close(`socket closed (${code}${failure ? `: ${failure}` : ''})`);
      }
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const min = this.options.reconnectMinMs ?? 100;
    const max = this.options.reconnectMaxMs ?? 5_000;
    const delay = Math.min(max, min * 2 ** this.attempt);
    this.attempt++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    this.awaitingPong = false;
    const every = this.options.heartbeatMs ?? 10_000;
    this.heartbeat = setInterval(() => {
      if (this.ws !== ws) return;
      if (this.awaitingPong) {
        // No pong and no frame for a whole interval: a half-open connection.
        ws.terminate();
        return;
      }
      this.awaitingPong = true;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }, every);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }
}
