import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Auth, hasCredentialInQuery, SESSION_COOKIE } from '../../../electron/engine/server/auth.ts';

const TOKEN = 'sb-unit-test-token-0123456789';
const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe('the API token', () => {
  it('is accepted as a Bearer token or as x-api-key, and nothing else', () => {
    const auth = new Auth(TOKEN);
    expect(auth.hasToken(request({ authorization: `Bearer ${TOKEN}` }))).toBe(true);
    expect(auth.hasToken(request({ authorization: `bearer ${TOKEN}` }))).toBe(true);
    expect(auth.hasToken(request({ 'x-api-key': TOKEN }))).toBe(true);
    expect(auth.hasToken(request({ authorization: TOKEN }))).toBe(false);
    expect(auth.hasToken(request({ authorization: `Basic ${TOKEN}` }))).toBe(false);
    expect(auth.hasToken(request({ authorization: `Bearer ${TOKEN}x` }))).toBe(false);
    expect(auth.hasToken(request({ authorization: `Bearer ${TOKEN.slice(0, -1)}` }))).toBe(false);
    expect(auth.hasToken(request({}))).toBe(false);
    // A wrong Authorization header is not rescued by a right x-api-key.
    expect(auth.hasToken(request({ authorization: 'Bearer nope', 'x-api-key': TOKEN }))).toBe(false);
  });

  it('refuses a short token at start', () => {
    expect(() => new Auth('short')).toThrow(/at least 16/);
  });

  it('spots credentials in a query string by name, whatever their value', () => {
    expect(hasCredentialInQuery(new URLSearchParams('token=x'))).toBe(true);
    expect(hasCredentialInQuery(new URLSearchParams('API_KEY=x'))).toBe(true);
    expect(hasCredentialInQuery(new URLSearchParams('access_token='))).toBe(true);
    expect(hasCredentialInQuery(new URLSearchParams('user_id=u&provider_name=groq'))).toBe(false);
  });
});

describe('login codes and sessions', () => {
  it('trades a code once for a session the cookie carries', () => {
    const auth = new Auth(TOKEN);
    const code = auth.issueLoginCode(0);
    const session = auth.redeemLoginCode(code, 1_000);
    expect(session).toBeDefined();
    expect(auth.redeemLoginCode(code, 2_000)).toBeUndefined();
    expect(auth.hasSession(request({ cookie: `other=1; ${SESSION_COOKIE}=${session}` }), 3_000)).toBe(true);
    expect(auth.hasSession(request({ cookie: `${SESSION_COOKIE}=forged` }), 3_000)).toBe(false);
    expect(Auth.sessionCookie(session!)).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('lets a code expire after five minutes and a session after twelve hours', () => {
    const auth = new Auth(TOKEN);
    expect(auth.redeemLoginCode(auth.issueLoginCode(0), 5 * 60_000)).toBeUndefined();
    const session = auth.redeemLoginCode(auth.issueLoginCode(0), 4 * 60_000)!;
    const cookie = request({ cookie: `${SESSION_COOKIE}=${session}` });
    expect(auth.hasSession(cookie, 11 * 3_600_000)).toBe(true);
    expect(auth.hasSession(cookie, 13 * 3_600_000)).toBe(false);
  });
});
