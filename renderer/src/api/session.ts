import { isDesktop } from './client.ts';

/**
 * Browser mode signs in with the one-time code in the URL that `switchboard serve` printed: the
 * server trades it for an HttpOnly session cookie, and the code leaves the address bar (and the
 * history) at once. The desktop app needs none of this.
 */
export async function establishSession(): Promise<{ ok: true } | { ok: false; message: string }> {
  if (isDesktop) return { ok: true };
  const url = new URL(location.href);
  const code = url.searchParams.get('code');
  if (!code) return { ok: true };
  url.searchParams.delete('code');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  try {
    const response = await fetch('/api/session', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    if (response.ok) return { ok: true };
    const body = (await response.json().catch(() => ({}))) as { error?: { message?: string } };
    return { ok: false, message: body.error?.message ?? `The server refused the sign-in (${response.status}).` };
  } catch {
    return { ok: false, message: 'Could not reach the Switchboard server. Is `switchboard serve` still running?' };
  }
}
