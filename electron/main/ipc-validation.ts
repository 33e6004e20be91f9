import type { z } from 'zod';
import { type ApiMethod, type ApiStreamMethod, apiInputs } from '../engine/contract/api.ts';
import type { SerializedError } from '../engine/contract/errors.ts';

/** The methods that stream; every other method in apiInputs is a call. `satisfies` keeps it in step with the contract. */
const STREAM_METHODS = {
  'chat.send': true,
  'chat.regenerate': true,
  'chat.edit': true,
  'chat.watch': true,
  'meetings.watch': true,
  'models.pull': true,
} as const satisfies Record<ApiStreamMethod, true>;

export type MethodKind = 'call' | 'stream';

export type ValidatedIpcMessage =
  | { ok: true; method: ApiMethod; kind: MethodKind; input: unknown }
  | { ok: false; error: SerializedError };

function invalid(message: string): ValidatedIpcMessage {
  return { ok: false, error: { code: 'INVALID_REQUEST', message: `INVALID_REQUEST: ${message}` } };
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

function isApiMethod(method: string): method is ApiMethod {
  return Object.hasOwn(apiInputs, method);
}

/**
 * Checks a message from the renderer before anything acts on it: the method must be one the app
 * API has, and the input must match its schema. Returns the parsed input (defaults applied, unknown
 * keys stripped) or an error value — never throws, whatever the renderer sent.
 */
export function validateIpcMessage(method: unknown, input: unknown): ValidatedIpcMessage {
  if (typeof method !== 'string' || !isApiMethod(method)) {
    const shown = typeof method === 'string' ? `"${method.slice(0, 80)}"` : typeof method;
    return invalid(`unknown method ${shown}`);
  }
  let parsed: ReturnType<(typeof apiInputs)[typeof method]['safeParse']>;
  try {
    parsed = apiInputs[method].safeParse(input ?? {});
  } catch {
    // A getter that throws, or anything else zod cannot read: refused like any other bad input.
    return invalid(`${method}: the input could not be read`);
  }
  if (!parsed.success) return invalid(`${method}: ${describeIssues(parsed.error.issues)}`);
  return { ok: true, method, kind: Object.hasOwn(STREAM_METHODS, method) ? 'stream' : 'call', input: parsed.data };
}
