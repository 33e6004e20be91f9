import type {
  ApiCallMethod,
  ApiCallOutputs,
  ApiInput,
  ApiStreamEvents,
  ApiStreamMethod,
  SwitchboardApi,
} from '#contract/api.ts';
import { ApiError } from '#contract/api-error.ts';
import type { SerializedError } from '#contract/errors.ts';
import { OPERATIONAL_EVENT_NAMES, type OperationalEventRecord } from '#contract/operations.ts';
import { parseSse } from './sse.ts';

export interface HttpTransportOptions {
  /** Origin of `switchboard serve`; the page's own origin when omitted. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Called when the server answers 401: the browser's session ended, and the page goes back to sign-in. */
  onUnauthorized?: () => void;
}

function isSerializedError(value: unknown): value is SerializedError {
  return typeof value === 'object' && value !== null && typeof (value as SerializedError).code === 'string';
}

/** Reads `{ error }` from a failed response; a body that is not one still becomes a readable error. */
async function errorFrom(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (isSerializedError(body.error)) return new ApiError(body.error, response.status);
  } catch {
    // not JSON: described below
  }
  if (response.status === 401) {
    return new ApiError({ code: 'INVALID_REQUEST', message: 'This browser is not signed in to Switchboard.' }, 401);
  }
  const detail = text.trim().slice(0, 200) || response.statusText;
  return new ApiError(
    { code: 'INTERNAL', message: `The server answered ${response.status}: ${detail}` },
    response.status,
  );
}

function connectionError(error: unknown): ApiError {
  const detail = error instanceof Error ? error.message : String(error);
  return new ApiError({
    code: 'CONNECTION_FAILED',
    message: `Could not reach the Switchboard server (${detail}). Is \`switchboard serve\` still running?`,
  });
}

/** The stream ended (or broke) before its `end` frame: what arrived is not the whole answer. */
function interrupted(cause?: unknown): ApiError {
  const detail = cause instanceof Error ? ` (${cause.message})` : '';
  return new ApiError({
    code: 'STREAM_INTERRUPTED',
    message: `The connection to the Switchboard server closed before the answer finished${detail}.`,
  });
}

function isAbort(error: unknown, signal?: AbortSignal): boolean {
  return signal?.aborted === true || (error instanceof Error && error.name === 'AbortError');
}

/**
 * The app API over HTTP for browser mode (`switchboard serve`): JSON calls, SSE streams and
 * multipart uploads to the same origin, authenticated by the session cookie.
 */
export function createHttpTransport({
  baseUrl = '',
  fetch: fetchImpl = fetch,
  onUnauthorized,
}: HttpTransportOptions = {}): SwitchboardApi {
  /** A POST unless `init` says otherwise; a 401 also tells the page that its session ended. */
  const request = async (path: string, init: RequestInit): Promise<Response> => {
    let response: Response;
    try {
      response = await fetchImpl(`${baseUrl}${path}`, { method: 'POST', credentials: 'same-origin', ...init });
    } catch (error) {
      if (isAbort(error, init.signal ?? undefined)) throw error;
      throw connectionError(error);
    }
    if (response.status === 401) onUnauthorized?.();
    if (!response.ok) throw await errorFrom(response);
    return response;
  };

  const json = (input: unknown): RequestInit => ({
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(input ?? {}),
  });

  return {
    async call<M extends ApiCallMethod>(method: M, input: ApiInput<M>): Promise<ApiCallOutputs[M]> {
      const response = await request(`/api/app/call/${method}`, json(input));
      return (await response.json()) as ApiCallOutputs[M];
    },

    async *stream<M extends ApiStreamMethod>(
      method: M,
      input: ApiInput<M>,
      signal?: AbortSignal,
    ): AsyncIterable<ApiStreamEvents[M]> {
      let response: Response;
      try {
        response = await request(`/api/app/stream/${method}`, {
          ...json(input),
          headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
          signal,
        });
      } catch (error) {
        if (isAbort(error, signal)) return;
        throw error;
      }
      if (!response.body) throw new ApiError({ code: 'BAD_RESPONSE', message: 'The server sent an empty stream' });
      try {
        for await (const message of parseSse(response.body)) {
          if (message.event === 'end') return;
          const data = JSON.parse(message.data) as unknown;
          if (message.event === 'error') {
            const error = (data as { error?: unknown }).error ?? data;
            throw new ApiError(
              isSerializedError(error) ? error : { code: 'INTERNAL', message: 'The stream failed without saying why' },
            );
          }
          yield data as ApiStreamEvents[M];
        }
      } catch (error) {
        if (isAbort(error, signal)) return;
        if (error instanceof ApiError) throw error;
        throw interrupted(error);
      }
      if (signal?.aborted) return;
      throw interrupted();
    },

    async *events(signal?: AbortSignal): AsyncIterable<OperationalEventRecord> {
      let response: Response;
      try {
        response = await request('/api/events', { method: 'GET', headers: { accept: 'text/event-stream' }, signal });
      } catch (error) {
        if (isAbort(error, signal)) return;
        throw error;
      }
      if (!response.body) return;
      const names: readonly string[] = OPERATIONAL_EVENT_NAMES;
      try {
        for await (const message of parseSse(response.body)) {
          if (names.includes(message.event)) yield JSON.parse(message.data) as OperationalEventRecord;
        }
      } catch (error) {
        if (isAbort(error, signal)) return;
        throw interrupted(error);
      }
    },

    async upload(file: Blob, filename: string): Promise<{ uploadId: string }> {
      const form = new FormData();
      form.append('file', file, filename);
      const response = await request('/api/app/upload', { body: form });
      return (await response.json()) as { uploadId: string };
    },
  };
}
