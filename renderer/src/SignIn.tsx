import { useState } from 'react';
import { useSession } from './api/session.ts';

/**
 * The only thing browser mode shows without a session: no panes, no data, no claims about the machine.
 * The commands named here are the way in for someone at a browser who has no link yet.
 */
export function SignIn() {
  const { notice, busy, signInWithToken } = useSession();
  const [token, setToken] = useState('');

  return (
    <main className="signin" aria-label="Sign in">
      <div className="signin-card">
        <div className="brand" aria-hidden="true">
          <span className="brand-mark">S</span>
          <span className="brand-name">Switchboard</span>
        </div>
        <h1>Sign in</h1>
        {notice && (
          <p className="signin-notice" role="alert">
            {notice}
          </p>
        )}
        <form
          onSubmit={(event) => {
            event.preventDefault();
            if (token.trim()) void signInWithToken(token.trim());
          }}
        >
          <label className="field">
            <span>API token</span>
            <input
              type="password"
              autoComplete="current-password"
              spellCheck={false}
              value={token}
              onChange={(event) => setToken(event.target.value)}
              // biome-ignore lint/a11y/noAutofocus: the page holds nothing else to do
              autoFocus
            />
          </label>
          <button type="submit" className="primary" disabled={busy || !token.trim()}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        <div className="signin-help muted small">
          <p>
            On the computer that runs Switchboard, <code>switchboard token</code> prints the token. Or run{' '}
            <code>switchboard open</code> there: it opens this app with a one-time sign-in link.
          </p>
          <p>You stay signed in for a week in this browser, also when Switchboard restarts.</p>
        </div>
      </div>
    </main>
  );
}
