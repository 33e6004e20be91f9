import type { ErrorDialect, RequestContext } from './http.ts';

/**
 * Who may call a route: the API token only (Bearer or x-api-key), the token or the browser session
 * cookie (the app API), or anyone (health, login, the UI's files).
 */
export type Access = 'token' | 'token-or-session' | 'public';

export interface Route {
  handler: (ctx: RequestContext) => Promise<void> | void;
  access: Access;
  errors: ErrorDialect;
}

export type RouteMatch = { route: Route; rest: string } | { methodNotAllowed: string[] } | undefined;

/**
 * A small router: exact paths in a map (one lookup on the hot path), plus a few prefixes for routes
 * that carry a name after them (/api/app/call/<method>). Nothing here allocates per request but the result.
 */
export class Router {
  private readonly exact = new Map<string, Map<string, Route>>();
  private readonly prefixes: { prefix: string; methods: Map<string, Route> }[] = [];

  add(method: string, path: string, route: Route): this {
    const methods = this.exact.get(path) ?? new Map<string, Route>();
    methods.set(method, route);
    this.exact.set(path, methods);
    return this;
  }

  /** `prefix` ends with '/'; the handler gets what follows it as ctx.rest. */
  addPrefix(method: string, prefix: string, route: Route): this {
    const entry = this.prefixes.find((p) => p.prefix === prefix) ?? { prefix, methods: new Map<string, Route>() };
    if (!this.prefixes.includes(entry)) this.prefixes.push(entry);
    entry.methods.set(method, route);
    return this;
  }

  find(method: string, path: string): RouteMatch {
    const methods = this.exact.get(path);
    if (methods) return pick(methods, method, '');
    for (const { prefix, methods } of this.prefixes) {
      if (path.length > prefix.length && path.startsWith(prefix))
        return pick(methods, method, path.slice(prefix.length));
    }
    return undefined;
  }
}

function pick(methods: Map<string, Route>, method: string, rest: string): RouteMatch {
  const route = methods.get(method) ?? (method === 'HEAD' ? methods.get('GET') : undefined);
  return route ? { route, rest } : { methodNotAllowed: [...methods.keys()] };
}
