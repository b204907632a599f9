// The client factory: one urql Client (document cache, fetch with multipart uploads, and
// subscriptions over graphql-ws) plus the graphql-ws client it shares with `watchRun`.
import {
  type Client,
  cacheExchange,
  createClient as createUrqlClient,
  fetchExchange,
  subscriptionExchange,
} from '@urql/core';
import { persistedExchange } from '@urql/exchange-persisted';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { persistedHash, persistedQueryExtension } from './document.ts';

/** Headers sent with every HTTP request (and as connection params on the WebSocket). */
export type AtelierHeaders = Record<string, string> | (() => Record<string, string>);

/**
 * Header the server requires on requests browsers could send without a CORS preflight
 * (GET and multipart uploads): the SDK sends it on every HTTP request.
 */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/** Options of {@link createAtelierClient}. */
export interface AtelierClientOptions {
  /** Base URL of the Atelier server, e.g. `http://127.0.0.1:4000` (GraphQL is at `/graphql`). */
  url: string;
  /**
   * API key (`atl_...`), or a function returning the current one. Sent as
   * `Authorization: Bearer <key>` on HTTP and as `connectionParams.authorization` on the
   * WebSocket. Servers in `AUTH_MODE=local` accept requests without one.
   */
  apiKey?: string | null | (() => string | null | undefined);
  /** `fetch` to use for HTTP requests; defaults to the global one. */
  fetch?: typeof fetch;
  /**
   * Headers for every HTTP request (a function is called per request). On the WebSocket,
   * where browsers cannot set headers, they are sent as `connection_init` payload instead.
   */
  headers?: AtelierHeaders;
  /**
   * WebSocket constructor for subscriptions. Defaults to the global `WebSocket`, else (Node
   * 20, which has none) to the `ws` package.
   */
  webSocketImpl?: unknown;
  /** How often a dropped subscription socket is reconnected before giving up (default 5). */
  retryAttempts?: number;
  /**
   * Waits before reconnect number `retries` (0-based); defaults to graphql-ws' randomised
   * exponential backoff (1 s + 0.3–3 s, doubling).
   */
  retryWait?: (retries: number) => Promise<void>;
}

/** A connected Atelier client: pass it to every SDK function. */
export interface AtelierClient {
  /** The urql client (cache, fetch with uploads, graphql-ws subscriptions). */
  readonly urql: Client;
  /** The graphql-ws client used for subscriptions (one socket, opened lazily). */
  readonly ws: WsClient;
  /** Base URL of the server, without a trailing slash. */
  readonly url: string;
  /**
   * The headers the client sends on every HTTP request right now (CSRF header, the
   * `headers` option and the API key), for requests made outside urql (e.g. an upload
   * through XMLHttpRequest, which reports progress).
   */
  headers(): Record<string, string>;
  /** Closes the subscription socket; ongoing `watchRun` iterators end with an error. */
  close(): void;
}

/**
 * Creates an Atelier client for a server URL.
 *
 * @example
 * ```ts
 * const client = createAtelierClient({ url: 'http://127.0.0.1:4000' });
 * const models = await listModels(client, { mode: 'TEXT_TO_IMAGE' });
 * client.close();
 * ```
 */
export function createAtelierClient(options: AtelierClientOptions): AtelierClient {
  const url = options.url.replace(/\/+$/, '').replace(/\/graphql$/, '');
  const endpoint = `${url}/graphql`;
  const apiKey = () =>
    (typeof options.apiKey === 'function' ? options.apiKey() : options.apiKey) || null;
  const authorization = (): Record<string, string> => {
    const key = apiKey();
    return key ? { authorization: `Bearer ${key}` } : {};
  };
  const headers = () => ({
    [CSRF_HEADER]: '1',
    ...(typeof options.headers === 'function' ? options.headers() : (options.headers ?? {})),
    ...authorization(),
  });

  const ws = createWsClient({
    url: endpoint.replace(/^http/, 'ws'),
    webSocketImpl: options.webSocketImpl ?? defaultWebSocketImpl(),
    retryAttempts: options.retryAttempts ?? 5,
    // As graphql-ws does by default, reconnect after a closed socket, but not after 4403:
    // the server refused the key, and trying the same key again cannot help.
    shouldRetry: (event) => isCloseEvent(event) && event.code !== FORBIDDEN_CLOSE_CODE,
    ...(options.retryWait ? { retryWait: options.retryWait } : {}),
    // Browsers cannot set headers on a WebSocket: the key travels in connection_init.
    connectionParams: () => ({
      ...(typeof options.headers === 'function' ? options.headers() : (options.headers ?? {})),
      ...authorization(),
    }),
  });

  const urql = createUrqlClient({
    url: endpoint,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    fetchOptions: () => ({ headers: headers() }),
    // Synchronous exchanges first, then the asynchronous ones (urql's required order).
    // The SDK's own queries and mutations go by persisted-document hash alone (a server
    // without the hash answers PersistedQueryNotFound and the exchange resends the text);
    // other documents go as text. fetchExchange sends GraphQL multipart requests when
    // variables hold a File or Blob.
    exchanges: [
      cacheExchange,
      persistedExchange({
        enableForMutation: true,
        preferGetForPersistedQueries: false,
        generateHash: async (_query, document) => persistedHash(document) ?? '',
      }),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request, operation) {
          // Subscriptions carry both: the server runs its own copy when it knows the hash.
          const extensions = persistedQueryExtension(persistedHash(operation.query));
          const payload = {
            ...request,
            query: request.query ?? '',
            ...(extensions ? { extensions: { ...request.extensions, ...extensions } } : {}),
          };
          return {
            subscribe(sink) {
              return { unsubscribe: ws.subscribe(payload, sink) };
            },
          };
        },
      }),
    ],
  });

  return {
    urql,
    ws,
    url,
    headers,
    close() {
      // dispose() awaits a pending connection attempt, which rejects when that attempt fails;
      // the client is going away either way.
      Promise.resolve(ws.dispose()).catch(() => {});
    },
  };
}

/** Close code the server uses when the socket's key is missing, unknown or revoked. */
const FORBIDDEN_CLOSE_CODE = 4403;

function isCloseEvent(value: unknown): value is { code: number; reason: string } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'number' &&
    'reason' in value
  );
}

/**
 * The global WebSocket, else `ws` loaded through Node's require (kept out of the static
 * import graph so browser bundles never see it).
 */
function defaultWebSocketImpl(): unknown {
  if (typeof globalThis.WebSocket !== 'undefined') return globalThis.WebSocket;
  const getBuiltinModule = (
    globalThis as {
      process?: { getBuiltinModule?: (id: string) => unknown };
    }
  ).process?.getBuiltinModule;
  if (typeof getBuiltinModule === 'function') {
    const { createRequire } = getBuiltinModule('node:module') as typeof import('node:module');
    return createRequire(import.meta.url)('ws');
  }
  throw new Error('No WebSocket implementation found: pass `webSocketImpl` to createAtelierClient');
}
