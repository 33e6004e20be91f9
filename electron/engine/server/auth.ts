import { createHmac, hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { AppKey } from '../contract/api.ts';

export const SESSION_COOKIE = 'switchboard_session';
const LOGIN_CODE_TTL_MS = 5 * 60_000;
/** How long a browser stays signed in: a week, across server restarts (the signing secret is kept on disk). */
export const SESSION_TTL_MS = 7 * 24 * 60 * 60_000;

// One call, no Hash object: every request's credential goes through here.
function digest(value: string): Buffer {
  return hash('sha256', value, 'buffer');
}

/** Query parameters that would carry a credential in a URL, where it ends up in logs and history. */
const CREDENTIAL_PARAMS = ['token', 'api_key', 'apikey', 'api-key', 'key', 'access_token', 'auth', 'authorization'];

export interface AuthOptions {
  /**
   * Signs browser sessions. Kept in the data dir (server/token.ts), so a session outlives a restart of
   * the server; absent, a random one per process (sessions end with the process).
   */
  sessionSecret?: Buffer;
  /** The live app key a presented credential is, if it is one (`switchboard keys`): looked up per request, so a revocation is at once. */
  appKey?: (secret: string) => AppKey | undefined;
}

/** Who sent a request: the holder of the API token, or a program with its own app key. */
export type Caller = { kind: 'token' } | { kind: 'app'; key: AppKey };

const TOKEN_HOLDER: Caller = { kind: 'token' };

/**
 * The API token (Bearer or x-api-key), and the browser sessions of browser mode. A browser signs in
 * with the token pasted into the sign-in page, or with a one-time login code (the link `serve` and
 * `switchboard open` print), and gets an HttpOnly cookie: the token itself never sits in a URL, the
 * history or the page's JavaScript. Sessions are signed, not stored: `<expiry>.<nonce>.<HMAC>`.
 */
export class Auth {
  private readonly tokenDigest: Buffer;
  private readonly sessionKey: Buffer;
  private readonly codes = new Map<string, number>();
  private readonly appKey?: (secret: string) => AppKey | undefined;
  /**
   * The credential each keep-alive connection last proved to be the token: its next requests, which
   * present the same one, skip the digest. Only that connection's own client is compared with it, so
   * the comparison tells nobody else anything; the token is fixed for the server's life.
   */
  private readonly provenOn = new WeakMap<Socket, string>();

  constructor(token: string, options: AuthOptions = {}) {
    if (token.length < 16) throw new Error('the API token must be at least 16 characters long');
    this.tokenDigest = digest(token);
    this.appKey = options.appKey;
    // Keyed by the token as well: a new token (`switchboard token --rotate`) signs every browser out.
    this.sessionKey = createHmac('sha256', options.sessionSecret ?? randomBytes(32))
      .update(this.tokenDigest)
      .digest();
  }

  /** Compares digests in constant time, so response timing says nothing about the token. */
  private matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  /** The credential a request presents: `Authorization: Bearer …`, or x-api-key as Anthropic's SDK sends it. */
  private presented(req: IncomingMessage): string | undefined {
    const authorization = req.headers.authorization;
    if (authorization !== undefined) {
      const space = authorization.indexOf(' ');
      return space > 0 && authorization.slice(0, space).toLowerCase() === 'bearer'
        ? authorization.slice(space + 1).trim()
        : undefined;
    }
    const apiKey = req.headers['x-api-key'];
    return typeof apiKey === 'string' ? apiKey : undefined;
  }

  hasToken(req: IncomingMessage): boolean {
    const credential = this.presented(req);
    return credential !== undefined && this.matches(credential);
  }

  /** Who the request's credential says it is; undefined when it presents none that works. */
  authenticate(req: IncomingMessage): Caller | undefined {
    const credential = this.presented(req);
    if (credential === undefined) return undefined;
    if (this.provenOn.get(req.socket) === credential) return TOKEN_HOLDER;
    if (this.matches(credential)) {
      this.provenOn.set(req.socket, credential);
      return TOKEN_HOLDER;
    }
    const key = this.appKey?.(credential);
    return key ? { kind: 'app', key } : undefined;
  }

  /** A code for the UI's URL: valid once, for five minutes. */
  issueLoginCode(now = Date.now()): string {
    for (const [code, expires] of this.codes) if (expires <= now) this.codes.delete(code);
    const code = randomBytes(24).toString('base64url');
    this.codes.set(code, now + LOGIN_CODE_TTL_MS);
    return code;
  }

  /** Trades a login code for a session; undefined when the code is unknown, used or expired. */
  redeemLoginCode(code: string, now = Date.now()): string | undefined {
    const expires = this.codes.get(code);
    if (expires === undefined) return undefined;
    this.codes.delete(code);
    return expires > now ? this.newSession(now) : undefined;
  }

  /** Trades the API token (pasted into the sign-in page) for a session; undefined when it is not the token. */
  signInWithToken(candidate: string, now = Date.now()): string | undefined {
    return this.matches(candidate.trim()) ? this.newSession(now) : undefined;
  }

  private signature(payload: string): Buffer {
    return createHmac('sha256', this.sessionKey).update(payload).digest();
  }

  private newSession(now: number): string {
    const payload = `${(now + SESSION_TTL_MS).toString(36)}.${randomBytes(16).toString('base64url')}`;
    return `${payload}.${this.signature(payload).toString('base64url')}`;
  }

  hasSession(req: IncomingMessage, now = Date.now()): boolean {
    const session = readCookie(req.headers.cookie, SESSION_COOKIE);
    const [expires, nonce, signature, extra] = session?.split('.') ?? [];
    if (!expires || !nonce || !signature || extra !== undefined) return false;
    const expected = this.signature(`${expires}.${nonce}`);
    const given = Buffer.from(signature, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected) && Number.parseInt(expires, 36) > now;
  }

  static sessionCookie(session: string): string {
    return `${SESSION_COOKIE}=${session}; Path=/api; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_MS / 1000}`;
  }

  /** Ends the browser's session (sign out): the cookie is replaced by an expired one. */
  static clearedSessionCookie(): string {
    return `${SESSION_COOKIE}=; Path=/api; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

/**
 * Whether a request may use the session cookie. The cookie is SameSite=Strict, but another page on
 * this machine (another port of 127.0.0.1) is the same site; what tells it apart is Sec-Fetch-Site,
 * which browsers send on every request (including <audio> loads), and Origin, which they send on
 * every POST. A browser request is accepted only from the app's own origin; a request with neither
 * header is not a browser page and still needs the cookie itself.
 */
export function sessionRequestAllowed(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${req.headers.host}`;
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
