import type { SerializedError } from './errors.ts';

/**
 * Thrown by transports for an error the engine returned; carries the engine's code and message.
 * In a module of its own, free of zod, because the renderer bundles it (contract/api.ts holds the
 * input schemas, which only the engine's side validates with).
 */
export class ApiError extends Error {
  readonly code: string;
  readonly status?: number;
  /** The provider the failure came from, where one did. */
  readonly providerId?: string;
  /** Each model tried and why it failed, where several could have answered. */
  readonly attempts?: SerializedError['attempts'];
  constructor(error: SerializedError, status?: number) {
    super(error.message);
    this.name = 'ApiError';
    this.code = error.code;
    this.status = status;
    this.providerId = error.providerId;
    this.attempts = error.attempts;
  }
}
