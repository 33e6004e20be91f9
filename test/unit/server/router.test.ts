import { describe, expect, it } from 'vitest';
import type { ErrorDialect } from '../../../electron/engine/server/http.ts';
import { type Route, Router } from '../../../electron/engine/server/router.ts';

const errors: ErrorDialect = { body: () => ({}), sseFrame: () => '' };
const route = (name: string): Route =>
  ({ handler: () => {}, access: 'token', errors, name }) as Route & { name: string };
const nameOf = (match: ReturnType<Router['find']>) =>
  match && 'route' in match ? [(match.route as Route & { name: string }).name, match.rest] : match;

describe('the router', () => {
  const router = new Router()
    .add('POST', '/v1/chat/completions', route('chat'))
    .add('GET', '/v1/models', route('models'))
    .addPrefix('POST', '/api/app/call/', route('call'));

  it('finds exact paths and prefix routes with what follows the prefix', () => {
    expect(nameOf(router.find('POST', '/v1/chat/completions'))).toEqual(['chat', '']);
    expect(nameOf(router.find('POST', '/api/app/call/meetings.list'))).toEqual(['call', 'meetings.list']);
    expect(nameOf(router.find('HEAD', '/v1/models'))).toEqual(['models', '']);
  });

  it('tells a wrong method from an unknown path', () => {
    expect(router.find('GET', '/v1/chat/completions')).toEqual({ methodNotAllowed: ['POST'] });
    expect(router.find('POST', '/v1/chat/completion')).toBeUndefined();
    expect(router.find('POST', '/api/app/call/')).toBeUndefined();
  });
});
