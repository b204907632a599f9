// The API key form (shown when the server answers UNAUTHENTICATED, i.e. AUTH_MODE=keys) and
// the header's account badge: who the studio acts as, their credits, and "Forget key".
import { type FormEvent, useId, useState } from 'react';

/** The signed-in account, from the server's `viewer`. */
export interface Account {
  name: string;
  /** Credits left; null means unlimited. */
  credits: number | null;
  /** Prefix of the key in use (the first 12 characters), null without a key. */
  keyPrefix: string | null;
}

interface KeyFormProps {
  /** Why the last key was refused (or could not be checked); null on a first visit. */
  error: string | null;
  /** Checks the key with the server; resolves once the studio moved on or showed the error. */
  onSubmit(key: string): Promise<void>;
}

export function KeyForm({ error, onSubmit }: KeyFormProps) {
  const [key, setKey] = useState('');
  const [checking, setChecking] = useState(false);
  const id = useId();
  const headingId = `${id}-heading`;
  const errorId = `${id}-error`;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed || checking) return;
    setChecking(true);
    try {
      await onSubmit(trimmed);
    } finally {
      setChecking(false);
    }
  };

  return (
    <main className="page key-page">
      <form
        className="panel key-panel"
        aria-labelledby={headingId}
        data-testid="key-form"
        onSubmit={submit}
      >
        <div className="panel-head stacked">
          <h2 id={headingId}>This server needs an API key</h2>
          <span className="sub">
            Ask the server's admin for one (<code>atelier keys create --account NAME</code>). It is
            kept in this browser only.
          </span>
        </div>
        <div className="panel-body">
          <div className={`field${error ? ' invalid' : ''}`}>
            <label className="field-label" htmlFor={`${id}-key`}>
              API key
            </label>
            <input
              id={`${id}-key`}
              type="password"
              name="api-key"
              data-testid="api-key-input"
              placeholder="atl_…"
              autoComplete="off"
              spellCheck={false}
              required
              value={key}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? errorId : undefined}
              onChange={(e) => setKey(e.target.value)}
            />
          </div>
          {error ? (
            <div className="alert error" role="alert" id={errorId} data-testid="key-error">
              {error}
            </div>
          ) : null}
          <button
            type="submit"
            className="btn primary block key-submit"
            data-testid="api-key-submit"
            disabled={checking || !key.trim()}
          >
            {checking ? (
              <>
                <span className="spinner" aria-hidden="true" /> Checking…
              </>
            ) : (
              'Use this key'
            )}
          </button>
        </div>
      </form>
    </main>
  );
}

interface AccountBadgeProps {
  account: Account;
  onForget(): void;
}

export function AccountBadge({ account, onForget }: AccountBadgeProps) {
  return (
    <div className="account-badge" data-testid="account">
      <span
        className="account-name"
        data-testid="account-name"
        title={account.keyPrefix ? `Key ${account.keyPrefix}…` : undefined}
      >
        {account.name}
      </span>
      <span
        className="account-credits"
        data-testid="account-credits"
        data-credits={account.credits ?? 'unlimited'}
      >
        {account.credits === null
          ? 'unlimited credits'
          : `${account.credits} credit${account.credits === 1 ? '' : 's'}`}
      </span>
      <button type="button" className="btn small" data-testid="forget-key" onClick={onForget}>
        Forget key
      </button>
    </div>
  );
}
