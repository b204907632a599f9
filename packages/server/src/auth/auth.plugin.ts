// Authentication for GraphQL over HTTP and SSE: a Yoga plugin that turns the Authorization
// header into the request's Viewer before anything is parsed, answers 401 for missing (in
// AUTH_MODE=keys), unknown or revoked keys and 429 over the per-key rate limit. Running
// inside Yoga keeps CORS headers on those answers too. Sockets authenticate in websocket.ts.
import type { Plugin } from 'graphql-yoga';
import type { AtelierError } from '../domain-errors.ts';
import { RateLimitedError, UnauthenticatedError } from './auth.errors.ts';
import type { AuthService } from './auth.service.ts';
import type { RequestLimiter } from './rate-limit.ts';
import type { Viewer } from './viewer.ts';

/** What app.ts passes to Yoga per request; `viewer` is filled in by this plugin. */
export interface AuthServerContext {
  viewer?: Viewer;
}

export function createAuthPlugin(deps: {
  auth: AuthService;
  limiter: RequestLimiter | null;
}): Plugin<Record<string, unknown>, AuthServerContext> {
  return {
    async onRequest({ request, serverContext, endResponse, fetchAPI }) {
      try {
        const viewer = await deps.auth.resolve(request.headers.get('authorization'));
        await deps.limiter?.consume(viewer);
        serverContext.viewer = viewer;
      } catch (error) {
        if (error instanceof UnauthenticatedError) {
          return endResponse(
            errorResponse(fetchAPI, 401, error, { 'www-authenticate': 'Bearer realm="atelier"' }),
          );
        }
        if (error instanceof RateLimitedError) {
          return endResponse(
            errorResponse(fetchAPI, 429, error, { 'retry-after': String(error.retryAfterSeconds) }),
          );
        }
        throw error;
      }
    },
  };
}

/** A GraphQL-shaped error body, so GraphQL clients show the message and code. */
export function errorBody(error: AtelierError): string {
  const extensions: Record<string, unknown> = { code: error.code };
  if (error instanceof RateLimitedError) extensions.retryAfterSeconds = error.retryAfterSeconds;
  return JSON.stringify({ errors: [{ message: error.message, extensions }] });
}

function errorResponse(
  fetchAPI: { Response: typeof Response },
  status: number,
  error: AtelierError,
  headers: Record<string, string>,
): Response {
  return new fetchAPI.Response(errorBody(error), {
    status,
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
  });
}
