// Which client the studio talks through. It asks the server who it is (`viewer`): in
// AUTH_MODE=local that works without a key and the studio starts as before; in AUTH_MODE=keys
// the answer is 401 UNAUTHENTICATED, so it asks for an API key, checks it the same way, keeps
// it in localStorage and uses a client made with it (the SDK sends it as a Bearer token on
// HTTP and in connectionParams on the WebSocket). Media URLs are signed, so <img>, <video>
// and downloads need no key.
import { type AtelierClient, createAtelierClient } from '@atelier/sdk';
import { AtelierProvider } from '@atelier/sdk/react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { App } from './App.tsx';
import { type Account, KeyForm } from './components/ApiKey.tsx';

/** Where the API key is kept between visits. */
export const API_KEY_STORAGE = 'atelier.apiKey';

const VIEWER_QUERY = /* GraphQL */ `
  query StudioViewer {
    viewer { account { id name credits } apiKey { id prefix } }
  }
`;

interface ViewerData {
  viewer: {
    account: { name: string; credits: number | null };
    apiKey: { prefix: string } | null;
  };
}

type Probe =
  | { kind: 'ok'; account: Account }
  | { kind: 'unauthenticated'; message: string }
  | { kind: 'failed'; message: string };

type Session =
  | { kind: 'checking' }
  | { kind: 'key'; error: string | null }
  | { kind: 'ready'; client: AtelierClient; apiKey: string | null; account: Account | null };

// localStorage throws when storage is disabled; the studio then just asks every visit.
function storedKey(): string | null {
  try {
    return window.localStorage.getItem(API_KEY_STORAGE) || null;
  } catch {
    return null;
  }
}

function storeKey(key: string | null) {
  try {
    if (key) window.localStorage.setItem(API_KEY_STORAGE, key);
    else window.localStorage.removeItem(API_KEY_STORAGE);
  } catch {
    // Not persisted: the key still works for this page.
  }
}

function clientFor(apiKey: string | null): AtelierClient {
  return createAtelierClient({ url: window.location.origin, apiKey });
}

/** Who the server says the client is; a refused key is told apart from other failures. */
async function probe(client: AtelierClient): Promise<Probe> {
  const result = await client.urql
    .query<ViewerData>(VIEWER_QUERY, {}, { requestPolicy: 'network-only' })
    .toPromise();
  const error = result.error;
  if (!error && result.data) {
    const { account, apiKey } = result.data.viewer;
    return {
      kind: 'ok',
      account: { name: account.name, credits: account.credits, keyPrefix: apiKey?.prefix ?? null },
    };
  }
  const graphQLError = error?.graphQLErrors[0];
  const message = graphQLError?.message ?? error?.networkError?.message ?? 'No answer.';
  const status = (error?.response as Response | undefined)?.status;
  const unauthenticated =
    status === 401 ||
    (error?.graphQLErrors ?? []).some((e) => e.extensions?.code === 'UNAUTHENTICATED');
  return { kind: unauthenticated ? 'unauthenticated' : 'failed', message };
}

/**
 * Opens a session with `apiKey` (null: none). A refused key gives the key form with
 * `refused(message)`; any other failure still opens the studio, which shows its own errors
 * (as it did before keys existed).
 */
async function open(
  apiKey: string | null,
  refused: (message: string) => string | null,
): Promise<Session> {
  const client = clientFor(apiKey);
  const result = await probe(client);
  if (result.kind === 'unauthenticated') {
    client.close();
    return { kind: 'key', error: refused(result.message) };
  }
  return {
    kind: 'ready',
    client,
    apiKey,
    account: result.kind === 'ok' ? result.account : null,
  };
}

export function StudioSession() {
  const [session, setSession] = useState<Session>({ kind: 'checking' });
  const client = session.kind === 'ready' ? session.client : null;
  const clientRef = useRef<AtelierClient | null>(null);
  clientRef.current = client;
  const refreshes = useRef(0);

  // A replaced client closes its socket (subscriptions of the previous key end with it).
  useEffect(() => () => client?.close(), [client]);

  useEffect(() => {
    let active = true;
    const saved = storedKey();
    open(saved, (message) => {
      // The saved key was revoked (or the server's data reset): drop it and ask again.
      storeKey(null);
      return saved ? `The saved API key is no longer accepted: ${message}` : null;
    }).then((next) => {
      if (active) setSession(next);
      else if (next.kind === 'ready') next.client.close();
    });
    return () => {
      active = false;
    };
  }, []);

  const signIn = useCallback(async (key: string) => {
    const next = await open(key, (message) => `That key was not accepted: ${message}`);
    if (next.kind === 'ready' && !next.account) {
      // Could not be checked (server unreachable): do not keep a key nobody confirmed.
      next.client.close();
      setSession({ kind: 'key', error: 'Could not reach the server to check the key.' });
      return;
    }
    if (next.kind === 'ready') storeKey(key);
    setSession(next);
  }, []);

  const forgetKey = useCallback(async () => {
    storeKey(null);
    setSession({ kind: 'checking' });
    // Without a key: the form on AUTH_MODE=keys, the local account on AUTH_MODE=local.
    setSession(await open(null, () => null));
  }, []);

  // Credits change when runs are created (charged) and when they fail or are canceled
  // (refunded): the studio calls this after both.
  const refreshAccount = useCallback(async () => {
    const current = clientRef.current;
    if (!current) return;
    // Only the latest answer counts: an older one arriving late would show stale credits.
    const asked = ++refreshes.current;
    const result = await probe(current);
    if (clientRef.current !== current || asked !== refreshes.current) return;
    if (result.kind === 'ok') {
      setSession((s) => (s.kind === 'ready' ? { ...s, account: result.account } : s));
    } else if (result.kind === 'unauthenticated') {
      storeKey(null);
      setSession({
        kind: 'key',
        error: `Your API key is no longer accepted: ${result.message}`,
      });
    }
  }, []);

  if (session.kind === 'checking') {
    return (
      <main className="page">
        <div className="empty" data-testid="session-checking">
          <span className="spinner" aria-hidden="true" /> Connecting…
        </div>
      </main>
    );
  }
  if (session.kind === 'key') return <KeyForm error={session.error} onSubmit={signIn} />;
  return (
    <AtelierProvider client={session.client}>
      <App
        // A new key is a new account: start from a clean studio.
        key={session.apiKey ?? 'local'}
        account={session.apiKey ? session.account : null}
        onForgetKey={forgetKey}
        onRunChanged={session.apiKey ? refreshAccount : undefined}
      />
    </AtelierProvider>
  );
}
