// Browser-facing security settings shared by HTTP and WebSocket: which origins may call the
// API (CORS_ORIGINS; same origin only by default), the CSRF header, and the limits every
// GraphQL document must stay within.
import type { IncomingHttpHeaders } from 'node:http';

/** Header that marks a request as not "simple", so browsers must preflight it. */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/**
 * Limits on GraphQL documents (graphql-armor): the studio's and the SDK's largest
 * documents stay far below them; 5,000 aliases or a 5 MB query do not.
 */
export const GRAPHQL_LIMITS = {
  /** Lexical tokens per document. */
  tokens: 5_000,
  /** Selection depth (fragments flattened; introspection is exempt). */
  depth: 12,
  aliases: 30,
  directives: 50,
  /** graphql-armor's static cost (objects 2, scalars 1, times 1.5 per level). */
  cost: 20_000,
  /** Most ids one `nodes(ids:)` call takes. */
  nodes: 100,
} as const;

/** True when a browser `origin` may use the API: same host, or listed in CORS_ORIGINS. */
export function originAllowed(
  origin: string,
  host: string | undefined,
  allowed: string[] | '*',
): boolean {
  if (allowed === '*') return true;
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Yoga's CORS options for a request: only listed origins get CORS headers. */
export function corsOptions(request: Request, allowed: string[] | '*') {
  const origin = request.headers.get('origin');
  if (!origin || origin === 'null') return false as const;
  if (allowed !== '*' && !allowed.includes(origin)) return false as const;
  return {
    origin: [origin],
    credentials: false,
    methods: ['GET', 'POST', 'OPTIONS'],
    allowedHeaders: ['accept', 'authorization', 'content-type', CSRF_HEADER],
    maxAge: 600,
  };
}

/** Origin check for a WebSocket upgrade: no Origin (not a browser), same host or listed. */
export function socketOriginAllowed(
  headers: IncomingHttpHeaders,
  allowed: string[] | '*',
): boolean {
  const origin = headers.origin;
  if (origin === undefined) return true;
  return originAllowed(origin, headers.host, allowed);
}
