import { ApiError } from '#contract/api-error.ts';
import type { SerializedError } from '#contract/errors.ts';

/**
 * A failure as the UI shows it: what happened and what to do, in words for someone who clicked a
 * button (no codes, commands, variables or file paths), and the engine's own code and message for the
 * Details toggle. `{provider}` in the message stands for the provider's name (ErrorNote fills it in).
 */
export interface ShownError {
  code: string;
  message: string;
  /** The engine's message, for Details. */
  detail: string;
  providerId?: string;
}

const PEOPLE_MESSAGES: Record<string, string> = {
  PROVIDER_UNAUTHORIZED: '{provider} did not accept its API key. Check the key under Providers & settings.',
  PROVIDER_FORBIDDEN:
    '{provider} refused this request with its API key. Check what the key may do in your account there.',
  MODEL_NOT_FOUND: '{provider} does not offer that model. Choose another one in "Answer with".',
  RATE_LIMITED: '{provider} has had too many requests. Wait a moment, then try again.',
  PROVIDER_UNAVAILABLE: '{provider} is not available right now. Try again in a moment, or choose another model.',
  TIMEOUT: 'This took too long and was stopped. Try again, or choose a faster model.',
  CONNECTION_FAILED: 'Switchboard could not connect. Check the internet connection, then try again.',
  BAD_RESPONSE: 'What came back could not be used. Try again.',
  STREAM_INTERRUPTED: 'The connection broke before the answer was complete. Try again.',
  CONTEXT_TOO_LONG:
    'This conversation is too long for the model. Start a new chat, or choose a model that reads more text.',
  CANCELLED: 'Stopped.',
  CLOUD_DISABLED:
    'Cloud fallback is off, so only models on this computer may answer, and none could. Install a local model, or turn cloud fallback on under Providers & settings.',
  NO_PROVIDER:
    'No model can answer this right now. Install a local model or add a provider under Providers & settings.',
  ALL_PROVIDERS_FAILED: 'Every model Switchboard tried failed. The details say why each one did.',
  BUDGET_EXCEEDED:
    'The spending limit for cloud providers is reached. Raise it under Budgets, or use a model on this computer.',
  CIRCUIT_OPEN: '{provider} failed several times in a row, so Switchboard gives it a short rest. Try again shortly.',
  CONFIG_INVALID: 'That setting could not be saved. The details say what is wrong with it.',
  NOT_SUPPORTED: 'This cannot be done here.',
  NOT_FOUND: 'That is no longer there. It may have been deleted.',
  AUDIO_INVALID: 'This audio file could not be read. Try another file, for example WAV, MP3 or M4A.',
  MODEL_NOT_INSTALLED: 'That model is not on this computer yet. Download it under Providers & settings.',
  INTERNAL: 'Something went wrong inside Switchboard. Try again; if it keeps happening, the details help to report it.',
};

/** The message of a checksum mismatch: the file was deleted, a new download is needed. */
const CHECKSUM_MISMATCH =
  'The downloaded file did not match the checksum its publisher lists, so it was deleted. Download it again.';

/**
 * Whether an engine message may be shown as it is: plain words, no command, file path, variable,
 * URL or code. Requests a person makes (an edit, a title) are refused with such sentences.
 */
function isPlainWords(text: string): boolean {
  return (
    text.length < 300 &&
    !/[`{}]|https?:\/\/|(^|\s)\/\S|[A-Z][A-Z0-9]*_[A-Z0-9_]+|\b[A-Z]{3,}\b|\w+\.(ts|js|json|yaml|gguf)\b/.test(text)
  );
}

function stripCode(code: string, message: string): string {
  return message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
}

function capitalised(text: string): string {
  const sentence = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
}

function shown(code: string, rawMessage: string, providerId?: string): ShownError {
  const detail = stripCode(code, rawMessage);
  let message = PEOPLE_MESSAGES[code] ?? PEOPLE_MESSAGES.INTERNAL!;
  if (/checksum mismatch/i.test(detail)) message = CHECKSUM_MISMATCH;
  else if (['INVALID_REQUEST', 'NOT_SUPPORTED', 'CONFIG_INVALID'].includes(code) && isPlainWords(detail)) {
    message = capitalised(detail);
  } else if (code === 'INVALID_REQUEST') message = 'Switchboard could not do that. The details say why.';
  return { code, message, detail, ...(providerId ? { providerId } : {}) };
}

export function toShownError(error: unknown): ShownError {
  if (error instanceof ApiError) {
    return fromSerialized({
      code: error.code as SerializedError['code'],
      message: error.message,
      providerId: error.providerId,
      attempts: error.attempts,
    });
  }
  if (error instanceof Error) return shown('INTERNAL', error.message);
  return shown('INTERNAL', String(error));
}

export function fromSerialized(error: SerializedError): ShownError {
  // One model was tried: its own reason ("too long for the model") says more than "every model failed".
  const only = error.code === 'ALL_PROVIDERS_FAILED' && error.attempts?.length === 1 ? error.attempts[0] : undefined;
  if (only) return { ...shown(only.code, only.message, only.providerId), detail: stripCode(error.code, error.message) };
  return shown(error.code, error.message, error.providerId);
}

/**
 * A failure that arrived as a message only (`PROVIDER_UNAUTHORIZED: Groq rejected the key …`), such as
 * a key test's: its code, where it starts with one, picks the sentence people read.
 */
export function fromMessage(message: string, providerId?: string): ShownError {
  const code = /^([A-Z][A-Z_]+): /.exec(message)?.[1] ?? 'INTERNAL';
  return shown(code, message, providerId);
}

export function isCancelled(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'CANCELLED';
}
