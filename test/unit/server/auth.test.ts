import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
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

  it('lets a connection that proved the token skip the digest for that token only, and no other connection', () => {
    const auth = new Auth(TOKEN);
    const [proven, other] = [{} as Socket, {} as Socket];
    const on = (socket: Socket, headers: Record<string, string>) => ({ headers, socket }) as unknown as IncomingMessage;
    expect(auth.authenticate(on(proven, { authorization: `Bearer ${TOKEN}` }))).toEqual({ kind: 'token' });
    expect(auth.authenticate(on(proven, { authorization: `Bearer ${TOKEN}` }))).toEqual({ kind: 'token' });
    expect(auth.authenticate(on(proven, { authorization: `Bearer ${TOKEN}x` }))).toBeUndefined();
    expect(auth.authenticate(on(proven, { authorization: 'Bearer nope' }))).toBeUndefined();
    expect(auth.authenticate(on(proven, {}))).toBeUndefined();
    expect(auth.authenticate(on(other, { authorization: 'Bearer nope' }))).toBeUndefined();
    expect(auth.authenticate(on(other, { 'x-api-key': TOKEN }))).toEqual({ kind: 'token' });
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
  const secret = Buffer.alloc(32, 7);
  const cookieOf = (session: string) => request({ cookie: `other=1; ${SESSION_COOKIE}=${session}` });

  it('trades a code once for a session the cookie carries', () => {
    const auth = new Auth(TOKEN, { sessionSecret: secret });
    const code = auth.issueLoginCode(0);
    const session = auth.redeemLoginCode(code, 1_000);
    expect(session).toBeDefined();
    expect(auth.redeemLoginCode(code, 2_000)).toBeUndefined();
    expect(auth.hasSession(cookieOf(session!), 3_000)).toBe(true);
    expect(auth.hasSession(request({ cookie: `${SESSION_COOKIE}=forged` }), 3_000)).toBe(false);
    expect(Auth.sessionCookie(session!)).toMatch(/HttpOnly; SameSite=Strict/);
  });

  it('trades the API token, and nothing else, for a session', () => {
    const auth = new Auth(TOKEN, { sessionSecret: secret });
    expect(auth.signInWithToken(`${TOKEN}x`)).toBeUndefined();
    expect(auth.signInWithToken(TOKEN.slice(0, -1))).toBeUndefined();
    const session = auth.signInWithToken(` ${TOKEN}\n`);
    expect(auth.hasSession(cookieOf(session!))).toBe(true);
  });

  it('lets a code expire after five minutes and a session after a week', () => {
    const auth = new Auth(TOKEN, { sessionSecret: secret });
    expect(auth.redeemLoginCode(auth.issueLoginCode(0), 5 * 60_000)).toBeUndefined();
    const session = auth.redeemLoginCode(auth.issueLoginCode(0), 4 * 60_000)!;
    const day = 24 * 3_600_000;
    expect(auth.hasSession(cookieOf(session), 6 * day)).toBe(true);
    expect(auth.hasSession(cookieOf(session), 8 * day)).toBe(false);
  });

  it('keeps a session across a restart with the same secret; a new token or secret ends it', () => {
    const session = new Auth(TOKEN, { sessionSecret: secret }).signInWithToken(TOKEN)!;
    expect(new Auth(TOKEN, { sessionSecret: Buffer.from(secret) }).hasSession(cookieOf(session))).toBe(true);
    expect(new Auth(`${TOKEN}-rotated`, { sessionSecret: secret }).hasSession(cookieOf(session))).toBe(false);
    expect(new Auth(TOKEN, { sessionSecret: Buffer.alloc(32, 8) }).hasSession(cookieOf(session))).toBe(false);
    expect(new Auth(TOKEN).hasSession(cookieOf(session))).toBe(false);
  });

  it('refuses a session whose expiry was edited (the signature covers it)', () => {
    const auth = new Auth(TOKEN, { sessionSecret: secret });
    const [, nonce, signature] = auth.signInWithToken(TOKEN, 0)!.split('.');
    const later = (10 * 365 * 24 * 3_600_000).toString(36);
    expect(auth.hasSession(cookieOf(`${later}.${nonce}.${signature}`), 30 * 24 * 3_600_000)).toBe(false);
  });
});
