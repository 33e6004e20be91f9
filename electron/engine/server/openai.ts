import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { ChatRequest, ChatStreamEvent, FinishReason, Usage } from '../contract/chat.ts';
import { chatRequestSchema } from '../contract/chat.ts';
import { embeddingRequestSchema } from '../contract/embeddings.ts';
import type { TranscriptSegment } from '../contract/transcription.ts';
import type { RouteInfo } from '../engine.ts';
import { collectChat } from '../providers/collect.ts';
import {
  type ErrorDialect,
  markEngineCall,
  markEngineEvent,
  type RequestContext,
  readJson,
  readJsonBody,
  routeHeaders,
  sendJson,
  sendText,
  sseFrame,
  startSse,
  writeFrame,
} from './http.ts';
import { type ReceivedUpload, receiveUpload, removeUpload } from './multipart.ts';
import { answerRelayed } from './passthrough.ts';
import { HttpError, invalidRequest, openAIErrorBody } from './problems.ts';
import type { Router } from './router.ts';
import { formatTranscript, TIMESTAMP_GRANULARITIES, TRANSCRIPT_FORMATS } from './transcript-formats.ts';
import { requestOptions, type ServerDeps } from './types.ts';

export const openAIErrors: ErrorDialect = {
  body: openAIErrorBody,
  sseFrame: (problem) => sseFrame(openAIErrorBody(problem)),
};

const chatCompletionSchema = chatRequestSchema.extend({
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  // Newer clients send this instead of max_tokens.
  max_completion_tokens: z.number().int().positive().nullish(),
  n: z.literal(1, { error: 'n: Switchboard returns one choice per request' }).nullish(),
});

const embeddingsSchema = embeddingRequestSchema.extend({
  encoding_format: z.enum(['float', 'base64']).nullish(),
});

/** OpenAI's finish reasons; ours add error/cancelled, which a client sees as a plain stop. */
function openAIFinish(reason: FinishReason): string {
  return reason === 'error' || reason === 'cancelled' ? 'stop' : reason;
}

function openAIUsage(usage: Usage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
}

const modelName = (route: RouteInfo | undefined, model?: string) =>
  route ? `${route.providerId}/${model || route.model}` : (model ?? '');

async function chatCompletions(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const { value: body, bytes, json } = await readJsonBody(ctx, chatCompletionSchema);
  const { stream, stream_options, max_completion_tokens, n: _n, ...rest } = body;
  const request: ChatRequest = {
    ...rest,
    stream: stream === true,
    max_tokens: rest.max_tokens ?? max_completion_tokens ?? undefined,
  };
  const options = requestOptions(ctx, body.user);
  markEngineCall(ctx);
  const relayed = deps.engine.relayChat(
    request,
    { protocol: 'openai', body: bytes, json, stream: stream === true, headers: ctx.req.headers },
    options,
  );
  // An OpenAI-compatible upstream got the client's own bytes and has answered: nothing to translate.
  const events = await answerRelayed(ctx, relayed, stream === true);
  if (!events) return;
  if (stream) return streamChat(ctx, events, stream_options?.include_usage === true);

  let route: RouteInfo | undefined;
  const result = await collectChat(
    (async function* () {
      for await (const event of events) {
        markEngineEvent(ctx);
        if (event.type === 'route') route = event.route;
        else yield event;
      }
    })(),
  );
  sendJson(
    ctx,
    200,
    {
      id: `chatcmpl-${randomUUID()}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: modelName(route, result.model),
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: result.toolCalls.length > 0 && result.text === '' ? null : result.text,
            refusal: null,
            ...(result.toolCalls.length > 0 ? { tool_calls: result.toolCalls } : {}),
          },
          logprobs: null,
          finish_reason: openAIFinish(result.finishReason),
        },
      ],
      usage: openAIUsage(result.usage),
    },
    routeHeaders(ctx, route),
  );
}

/** Forwards each engine event as one chat.completion.chunk the moment it arrives. */
async function streamChat(
  ctx: RequestContext,
  events: AsyncIterable<{ type: 'route'; route: RouteInfo } | ChatStreamEvent>,
  includeUsage: boolean,
): Promise<void> {
  const id = `chatcmpl-${randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  // Every chunk shares its head; only the delta and finish reason change.
  let head = '';
  const chunk = (delta: unknown, finish: string | null = null) =>
    `data: ${head}"choices":[{"index":0,"delta":${JSON.stringify(delta)},"logprobs":null,"finish_reason":${finish === null ? 'null' : JSON.stringify(finish)}}]}\n\n`;
  for await (const event of events) {
    markEngineEvent(ctx);
    switch (event.type) {
      case 'route':
        head = `{"id":"${id}","object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(modelName(event.route))},`;
        await startSse(ctx, routeHeaders(ctx, event.route), chunk({ role: 'assistant', content: '' }));
        break;
      case 'text':
        await writeFrame(ctx, chunk({ content: event.text }));
        break;
      case 'tool_call':
        await writeFrame(
          ctx,
          chunk({
            tool_calls: [
              {
                index: event.index,
                ...(event.id ? { id: event.id, type: 'function' } : {}),
                function: { ...(event.name ? { name: event.name } : {}), arguments: event.argumentsDelta },
              },
            ],
          }),
        );
        break;
      case 'finish': {
        let frames = chunk({}, openAIFinish(event.reason));
        if (includeUsage && event.usage) {
          frames += `data: ${head}"choices":[],"usage":${JSON.stringify(openAIUsage(event.usage))}}\n\n`;
        }
        await writeFrame(ctx, frames);
        break;
      }
    }
  }
  if (!ctx.streaming) startSse(ctx, routeHeaders(ctx, undefined));
  ctx.res.end('data: [DONE]\n\n');
}

async function embeddings(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, embeddingsSchema);
  const { encoding_format, ...request } = body;
  markEngineCall(ctx);
  const result = await deps.engine.embed(request, requestOptions(ctx, body.user));
  markEngineEvent(ctx);
  const base64 = encoding_format === 'base64';
  sendJson(
    ctx,
    200,
    {
      object: 'list',
      data: result.vectors.map((vector, index) => ({
        object: 'embedding',
        index,
        embedding: base64 ? Buffer.from(new Float32Array(vector).buffer).toString('base64') : vector,
      })),
      model: modelName(result.route, result.model),
      usage: { prompt_tokens: result.usage.inputTokens, total_tokens: result.usage.inputTokens },
    },
    routeHeaders(ctx, result.route),
  );
}

const moderationsSchema = z.object({
  input: z.union([z.string(), z.array(z.string()).min(1).max(256)]),
  model: z.string().max(200).optional(),
});

/** OpenAI's /v1/moderations, answered by a provider that moderates (routing chooses, as for any request). */
async function moderations(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const body = await readJson(ctx, moderationsSchema);
  markEngineCall(ctx);
  const result = await deps.engine.moderate(
    { input: typeof body.input === 'string' ? [body.input] : body.input, model: body.model },
    requestOptions(ctx),
  );
  markEngineEvent(ctx);
  sendJson(
    ctx,
    200,
    {
      id: `modr-${randomUUID()}`,
      model: result.model,
      results: result.results.map((r) => ({
        flagged: r.flagged,
        categories: r.categories,
        category_scores: r.categoryScores,
      })),
    },
    routeHeaders(ctx, result.route),
  );
}

async function models(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  markEngineCall(ctx);
  const list = await deps.engine.listModels(ctx.signal);
  markEngineEvent(ctx);
  const data = list.map((model) => ({
    id: `${model.providerId}/${model.id}`,
    object: 'model',
    created: 0,
    owned_by: model.ownedBy ?? model.providerId,
  }));
  // Profiles answer as models too: `model: "default"` routes through the default profile.
  for (const name of Object.keys(deps.engine.config.profiles)) {
    data.push({ id: name, object: 'model', created: 0, owned_by: 'switchboard' });
  }
  sendJson(ctx, 200, { object: 'list', data }, routeHeaders(ctx, undefined));
}

const transcriptionFieldsSchema = z.object({
  model: z.string().max(200).optional(),
  language: z.string().max(20).optional(),
  prompt: z.string().max(10_000).optional(),
  response_format: z.enum(TRANSCRIPT_FORMATS).optional(),
  temperature: z.coerce.number().min(0).max(1).optional(),
  user: z.string().max(200).optional(),
  'timestamp_granularities[]': z
    .string()
    .transform((value) => value.split(','))
    .pipe(z.array(z.enum(TIMESTAMP_GRANULARITIES)))
    .optional(),
});

async function transcriptions(ctx: RequestContext, deps: ServerDeps): Promise<void> {
  const upload = await receiveUpload(ctx, { dir: deps.scratchDir });
  let answer: TranscriptionAnswer;
  try {
    answer = await transcribeUpload(ctx, deps, upload);
  } finally {
    // Removed before the answer goes out: once the client has it, the audio is gone from this machine.
    await removeUpload(upload.file);
  }
  // Which device a local Whisper ran on (cpu, cuda, dml, coreml): GPU use is visible to every client.
  const headers = {
    ...routeHeaders(ctx, answer.route),
    ...(answer.device ? { 'x-switchboard-device': answer.device } : {}),
  };
  if (typeof answer.body === 'string') sendText(ctx, 200, answer.body, 'text/plain; charset=utf-8', headers);
  else sendJson(ctx, 200, answer.body, headers);
}

interface TranscriptionAnswer {
  route?: RouteInfo;
  device?: string;
  body: string | object;
}

/** The model every OpenAI client sends for "Whisper", whatever answers. */
const OPENAI_WHISPER = 'whisper-1';

/**
 * `whisper-1` asks for Whisper, not for one vendor's deployment of it: unless a configured provider
 * lists it by that name, it means the default transcription model (the local Whisper first).
 */
function transcriptionModel(deps: ServerDeps, model: string | undefined): string | undefined {
  if (model !== OPENAI_WHISPER) return model;
  return deps.engine.config.providers.some((p) => p.models.includes(OPENAI_WHISPER)) ? model : undefined;
}

async function transcribeUpload(
  ctx: RequestContext,
  deps: ServerDeps,
  upload: ReceivedUpload,
): Promise<TranscriptionAnswer> {
  if (!upload.file) {
    throw new HttpError(400, 'invalid_request', 'file: attach the audio as the multipart field "file"', 'file');
  }
  const parsed = transcriptionFieldsSchema.safeParse(upload.fields);
  if (!parsed.success) throw invalidRequest(parsed.error);
  const fields = parsed.data;
  markEngineCall(ctx);
  const segments: TranscriptSegment[] = [];
  let route: RouteInfo | undefined;
  let duration = 0;
  let language = fields.language ?? '';
  let device: string | undefined;
  for await (const event of deps.engine.transcribe(
    {
      filePath: upload.file.path,
      model: transcriptionModel(deps, fields.model),
      language: fields.language,
      prompt: fields.prompt,
    },
    requestOptions(ctx, fields.user),
  )) {
    markEngineEvent(ctx);
    if (event.type === 'route') route = event.route;
    else if (event.type === 'segment') segments.push(event.segment);
    else if (event.type === 'done') {
      duration = event.durationSeconds;
      language = event.language;
      // The route names the candidate's chat model when none was asked for; this is the one that transcribed.
      if (route) route = { ...route, model: event.model };
      device = event.device;
    }
  }
  const format = fields.response_format ?? 'json';
  const granularities = fields['timestamp_granularities[]'] ?? ['segment'];
  return {
    route,
    device,
    body: formatTranscript(format, { segments, duration, language }, granularities),
  };
}

export function addOpenAIRoutes(router: Router, deps: ServerDeps): void {
  const route = (handler: (ctx: RequestContext, deps: ServerDeps) => Promise<void>) => ({
    handler: (ctx: RequestContext) => handler(ctx, deps),
    access: 'token' as const,
    errors: openAIErrors,
  });
  router
    .add('POST', '/v1/chat/completions', route(chatCompletions))
    .add('POST', '/v1/embeddings', route(embeddings))
    .add('POST', '/v1/moderations', route(moderations))
    .add('POST', '/v1/audio/transcriptions', route(transcriptions))
    .add('GET', '/v1/models', route(models));
}
