// Who a request acts for. Built once per request (HTTP) or connection (WebSocket) from its
// credentials by AuthService.resolve, then read by resolvers through the context.

/** Scopes a key can hold: every key has `user`; administrators also have `admin`. */
export type Scope = 'user' | 'admin';

export const SCOPES: readonly Scope[] = ['user', 'admin'];

/** The API key a request authenticated with, as the API shows it (never the secret). */
export interface ViewerKey {
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
}

export interface Viewer {
  accountId: string;
  scopes: readonly Scope[];
  /** The key used; null for the local account (no credentials) and the admin token. */
  apiKey: ViewerKey | null;
}

/** Id of the built-in account that requests without credentials act as in AUTH_MODE=local. */
export const LOCAL_ACCOUNT_ID = '00000000-0000-0000-0000-000000000000';
export const LOCAL_ACCOUNT_NAME = 'local';

export function isAdmin(viewer: Viewer): boolean {
  return viewer.scopes.includes('admin');
}

/**
 * The owner condition for reading an object by id: the viewer's own, or anything for
 * admins. Lists stay the viewer's own either way.
 */
export function readableBy(viewer: Viewer): { ownerId?: string } {
  return isAdmin(viewer) ? {} : { ownerId: viewer.accountId };
}

/** The local account with every scope (AUTH_MODE=local without credentials, admin token). */
export function localViewer(): Viewer {
  return { accountId: LOCAL_ACCOUNT_ID, scopes: ['user', 'admin'], apiKey: null };
}

/** Normalizes a stored scope list (unknown values dropped, `user` always present). */
export function toScopes(values: readonly string[]): Scope[] {
  const set = new Set<Scope>(['user']);
  for (const v of values) if ((SCOPES as readonly string[]).includes(v)) set.add(v as Scope);
  return SCOPES.filter((s) => set.has(s));
}
