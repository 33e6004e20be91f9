import { ApiError } from '../../../electron/engine/contract/api-error.ts';
import type { SerializedError } from '../../../electron/engine/contract/errors.ts';

/** What the UI shows for a failure: the engine's code, and its message without the code prefix. */
export interface ShownError {
  code: string;
  message: string;
}

function stripCode(code: string, message: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

export function toShownError(error: unknown): ShownError {
  if (error instanceof ApiError) return { code: error.code, message: stripCode(error.code, error.message) };
  if (error instanceof Error) return { code: 'INTERNAL', message: error.message };
  return { code: 'INTERNAL', message: String(error) };
}

export function fromSerialized(error: SerializedError): ShownError {
  return { code: error.code, message: stripCode(error.code, error.message) };
}

export function isCancelled(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'CANCELLED';
}
