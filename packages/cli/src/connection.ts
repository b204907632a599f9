// One SDK client per command, and what its request errors mean in one line: the server is not
// there, it refused the key, or it answered with GraphQL errors.
import { createRequire } from 'node:module';
import { type AtelierClient, AtelierRequestError, createAtelierClient } from '@atelier/sdk';
import { nodeHttpFetch } from './http.ts';
import { CliError, oneLine } from './options.ts';

/**
 * Runs `use` with a client for `url`, closes it afterwards, and turns the SDK's request
 * errors into one-line {@link CliError}s that name the server.
 */
export async function withClient<T>(
  url: string,
  key: string | null,
  use: (client: AtelierClient) => Promise<T>,
): Promise<T> {
  const client = createAtelierClient({
    url,
    apiKey: key,
    fetch: nodeHttpFetch,
    webSocketImpl: globalThis.WebSocket ?? LazyWebSocket,
  });
  try {
    return await use(client);
  } catch (error) {
    if (error instanceof AtelierRequestError) {
      throw new CliError(explainRequestError(error, client.url), { cause: error });
    }
    throw error;
  } finally {
    client.close();
  }
}

/**
 * Node 20 has no global WebSocket: `ws`, loaded when the first socket opens (only `generate`
 * opens one), so the commands that never do are not slowed down by loading it. graphql-ws
 * reads the ready-state constants from the class.
 */
class LazyWebSocket {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  constructor(url: string, protocols?: string | string[]) {
    const Impl = createRequire(import.meta.url)('ws') as new (
      url: string,
      protocols?: string | string[],
    ) => object;
    // biome-ignore lint/correctness/noConstructorReturn: the instance is a `ws` WebSocket
    return new Impl(url, protocols);
  }
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** One line saying why a request to the server at `url` failed. */
export function explainRequestError(error: AtelierRequestError, url: string): string {
  const refusedKey = (detail: string) =>
    `the server at ${url} refused the API key (${detail}): pass a valid key with --api-key or ATELIER_API_KEY`;
  const graphQL = error.graphQLErrors;
  if (graphQL.length) {
    const codes = graphQL.map((e) => e.extensions?.code);
    const messages = graphQL.map((e) => oneLine(e.message)).join('; ');
    if (codes.includes('UNAUTHENTICATED')) return refusedKey(`UNAUTHENTICATED: ${messages}`);
    if (codes.includes('FORBIDDEN')) return `the server at ${url} refused: FORBIDDEN: ${messages}`;
    const code = codes.find((c): c is string => typeof c === 'string');
    return `the server at ${url} answered with an error: ${code ? `${code}: ` : ''}${messages}`;
  }
  const network = error.networkError;
  const code = systemErrorCode(network);
  if (code && UNREACHABLE.has(code)) return `cannot reach the Atelier server at ${url} (${code})`;
  if (network instanceof Error) {
    if (network.message === 'Unauthorized') return refusedKey('HTTP 401');
    if (network.message === 'Forbidden') return refusedKey('HTTP 403');
    if (network.message === 'fetch failed') return `cannot reach the Atelier server at ${url}`;
  }
  const close = network as { code?: unknown } | null | undefined;
  if (close && close.code === 4403) return refusedKey('WebSocket closed with 4403');
  return `request to ${url} failed: ${oneLine(error.message.replace(/\[(Network|GraphQL)\] /g, ''))}`;
}

/** The `code` of a Node system error, looking through `cause` and AggregateError. */
function systemErrorCode(error: unknown, depth = 0): string | undefined {
  if (!error || typeof error !== 'object' || depth > 4) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  if (Array.isArray(errors)) {
    for (const inner of errors) {
      const found = systemErrorCode(inner, depth + 1);
      if (found) return found;
    }
  }
  return systemErrorCode(cause, depth + 1);
}
