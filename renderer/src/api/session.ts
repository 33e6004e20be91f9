import { create } from 'zustand';
import { isDesktop, SESSION_ENDED_EVENT } from './client.ts';

/**
 * Browser mode's sign-in. The server keeps a signed session cookie (HttpOnly: this page never sees it);
 * the page only asks whether it has one, and shows the sign-in page until it does. Sign in with a one-time
 * link (`?code=`, dropped from the address bar at once) or the pasted API token. The desktop app needs
 * none of this: it talks to the engine over IPC.
 */

export type SessionStatus = 'checking' | 'signed-in' | 'signed-out';

interface SessionState {
  status: SessionStatus;
  /** Why the sign-in page shows (a used link, an ended session), in words. */
  notice: string | null;
  busy: boolean;
  /** Redeems a `?code=` in the address bar, then asks the server whether this browser is signed in. */
  start(): Promise<void>;
  signInWithToken(token: string): Promise<void>;
  signOut(): Promise<void>;
}

const UNREACHABLE = 'Switchboard is not answering. Check that it is still running on this computer, then try again.';

async function postSession(body: { code: string } | { token: string }): Promise<string | null> {
  try {
    const response = await fetch('/api/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (response.ok) return null;
    const answer = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
    return answer.error?.message ?? 'Switchboard did not accept the sign-in.';
  } catch {
    return UNREACHABLE;
  }
}

async function isSignedIn(): Promise<boolean> {
  const response = await fetch('/api/session', { credentials: 'same-origin' });
  return response.ok && ((await response.json()) as { signedIn?: boolean }).signedIn === true;
}

export const useSession = create<SessionState>((set) => ({
  status: isDesktop ? 'signed-in' : 'checking',
  notice: null,
  busy: false,

  async start() {
    if (isDesktop) return;
    const url = new URL(location.href);
    const code = url.searchParams.get('code');
    if (code) {
      url.searchParams.delete('code');
      history.replaceState(history.state, '', url.pathname + url.search + url.hash);
      const refused = await postSession({ code });
      if (refused) {
        set({ status: 'signed-out', notice: refused });
        return;
      }
    }
    try {
      set({ status: (await isSignedIn()) ? 'signed-in' : 'signed-out' });
    } catch {
      set({ status: 'signed-out', notice: UNREACHABLE });
    }
  },

  async signInWithToken(token) {
    set({ busy: true });
    const refused = await postSession({ token });
    set(refused ? { busy: false, notice: refused } : { busy: false, notice: null, status: 'signed-in' });
  },

  async signOut() {
    await fetch('/api/session', { method: 'DELETE', credentials: 'same-origin' }).catch(() => undefined);
    set({ status: 'signed-out', notice: 'You signed out.' });
  },
}));

window.addEventListener(SESSION_ENDED_EVENT, () => {
  if (useSession.getState().status === 'signed-in') {
    useSession.setState({ status: 'signed-out', notice: 'Your session has ended. Sign in again to go on.' });
  }
});
