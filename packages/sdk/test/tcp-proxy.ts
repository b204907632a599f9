// A TCP proxy on 127.0.0.1 for tests: everything between client and server passes through
// it, and `cut()` drops every open connection at once (what a network failure or a server
// restart does to a WebSocket), while new connections are still accepted.
import { connect, createServer, type Socket } from 'node:net';

export interface ProxiedConnection {
  /** Everything the server sent so far (latin1), for probes like "got a SNAPSHOT". */
  fromServer: string;
  open: boolean;
  /** True once the server switched the connection to the WebSocket protocol. */
  readonly webSocket: boolean;
}

export interface TcpProxy {
  /** http://127.0.0.1:<port> */
  url: string;
  connections: ProxiedConnection[];
  /** Open WebSocket connections. */
  openWebSockets(): ProxiedConnection[];
  /** Destroys every open connection (both sides). */
  cut(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port } = new URL(target);
  const connections: ProxiedConnection[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), hostname);
    const connection: ProxiedConnection = {
      fromServer: '',
      open: true,
      get webSocket() {
        return this.fromServer.startsWith('HTTP/1.1 101');
      },
    };
    connections.push(connection);
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      connection.open = false;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    upstream.on('data', (chunk: Buffer) => {
      connection.fromServer += chunk.toString('latin1');
    });
    client.pipe(upstream);
    upstream.pipe(client);
    for (const socket of [client, upstream]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('proxy has no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    connections,
    openWebSockets: () => connections.filter((c) => c.open && c.webSocket),
    cut() {
      for (const connection of connections) connection.open = false;
      for (const socket of sockets) socket.destroy();
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
