import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'switchboard_session';
const LOGIN_CODE_TTL_MS = 5 * 60_000;
const SESSION_TTL_MS = 12 * 60 * 60_000;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Query parameters that would carry a credential in a URL, where it ends up in logs and history. */
const CREDENTIAL_PARAMS = ['token', 'api_key', 'apikey', 'api-key', 'key', 'access_token', 'auth', 'authorization'];

/**
 * The API token (Bearer or x-api-key), and the browser sessions of browser mode: a one-time login
 * code printed in the UI's URL is traded once for an HttpOnly cookie, so the token itself never sits
 * in a URL, the history or the page's JavaScript.
 */
export class Auth {
  private readonly tokenDigest: Buffer;
  private readonly codes = new Map<string, number>();
  private readonly sessions = new Map<string, number>();

  constructor(token: string) {
    if (token.length < 16) throw new Error('the API token must be at least 16 characters long');
    this.tokenDigest = digest(token);
  }

  /** Compares digests in constant time, so response timing says nothing about the token. */
  private matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  hasToken(req: IncomingMessage): boolean {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const space = authorization.indexOf(' ');
      return (
        space > 0 &&
        authorization.slice(0, space).toLowerCase() === 'bearer' &&
        this.matches(authorization.slice(space + 1).trim())
      );
    }
    // Anthropic's SDK sends its key as x-api-key.
    const apiKey = req.headers['x-api-key'];
    return typeof apiKey === 'string' && this.matches(apiKey);
  }

  /** A code for the UI's URL: valid once, for five minutes. */
  issueLoginCode(now = Date.now()): string {
    for (const [code, expires] of this.codes) if (expires <= now) this.codes.delete(code);
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, now + LOGIN_CODE_TTL_MS);
    return code;
  }

  /** Trades a login code for a session id; undefined when the code is unknown, used or expired. */
  redeemLoginCode(code: string, now = Date.now()): string | undefined {
    const expires = this.codes.get(code);
    if (expires === undefined) return undefined;
    this.codes.delete(code);
    if (expires <= now) return undefined;
    for (const [id, sessionExpires] of this.sessions) if (sessionExpires <= now) this.sessions.delete(id);
    const session = randomBytes(32).toString('base64url');
    this.sessions.set(session, now + SESSION_TTL_MS);
    return session;
  }

  hasSession(req: IncomingMessage, now = Date.now()): boolean {
    const session = readCookie(req.headers.cookie, SESSION_COOKIE);
    if (!session) return false;
    const expires = this.sessions.get(session);
    return expires !== undefined && expires > now;
  }

  static sessionCookie(session: string): string {
    return `${SESSION_COOKIE}=${session}; Path=/api/app; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}`;
  }
}

/** True when a query string names a credential parameter, which the server refuses whatever its value. */
export function hasCredentialInQuery(query: URLSearchParams): boolean {
  for (const name of query.keys()) if (CREDENTIAL_PARAMS.includes(name.toLowerCase())) return true;
  return false;
}

function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
