import { randomUUID } from 'node:crypto';
import type { UsageEvent } from '../accounting/types.ts';
import type { ChatMessage, ChatStreamEvent } from '../contract/chat.ts';
import type { ErrorCode, SwitchboardError } from '../contract/errors.ts';
import type { RouteInfo } from '../routing/types.ts';

/**
 * The last step of every chat chain: when no provider at all could answer, a responder that needs no model
 * and no network says so plainly — recognising a few kinds of request — and how to get a model, instead of
 * an empty error. Its answers are marked as its own (provider `fallback-responder`), never taken for a model's.
 */

export const LAST_RESORT_PROVIDER = 'fallback-responder';

export type LastResortIntent = 'greeting' | 'help' | 'status' | 'identity' | 'other';

/**
 * Failures the caller caused or chose: they keep their error (a bad request stays a 400, a cancel stays
 * cancelled, a consent question is asked). Everything else means nothing could answer.
 */
const CALLERS_OWN: ReadonlySet<ErrorCode> = new Set([
  'CANCELLED',
  'CONSENT_REQUIRED',
  'INVALID_REQUEST',
  'CONTEXT_TOO_LONG',
  'CONTENT_FILTERED',
  'NOT_FOUND',
  // A model no provider has: the caller named it (404), a stand-in's 200 would hide the typo.
  'MODEL_NOT_FOUND',
  // The caller's app key may not use the model (403): a stand-in's 200 would hide what to change.
  'KEY_NOT_ALLOWED',
]);

/** Refusals about money: a client is told so (402), not answered by a stand-in. */
const MONEY: ReadonlySet<ErrorCode> = new Set(['BUDGET_EXCEEDED', 'QUOTA_EXCEEDED']);

/** A provider refused its key: the operator's fix (502 saying which key), not a missing model. */
const KEY_REFUSED: ReadonlySet<ErrorCode> = new Set(['PROVIDER_UNAUTHORIZED', 'PROVIDER_FORBIDDEN']);

/** An attempt whose failure tells the client what to fix or how long to wait. */
const saysWhatToDo = (attempt: { code: ErrorCode; retryAfterMs?: number }) =>
  CALLERS_OWN.has(attempt.code) ||
  MONEY.has(attempt.code) ||
  KEY_REFUSED.has(attempt.code) ||
  attempt.retryAfterMs !== undefined;

/**
 * Whether the responder stands in for the failure. Not for the caller's own errors, and not for failures
 * that tell an API client what to do: a wait (Switchboard's 429 with its real Retry-After), a spent
 * budget or quota (402), keys the providers refused (502), or an upstream's own error that routing sent back on purpose
 * (`fallback.on_status_codes`) — a 200 from a stand-in would read as the model's answer.
 */
export function lastResortAnswers(failure: SwitchboardError): boolean {
  if (CALLERS_OWN.has(failure.code) || MONEY.has(failure.code)) return false;
  if (failure.retryAfterMs !== undefined || failure.status !== undefined) return false;
  // Every provider tried said what to do (the prompt is too long for each, each refused its key, …): that is
  // the answer the client needs, not a stand-in's.
  const attempts = failure.attempts ?? [];
  return !(attempts.length > 0 && attempts.every(saysWhatToDo));
}

const INTENTS: [LastResortIntent, RegExp][] = [
  ['identity', /\b(which|what|who)\b.*\b(provider|model|llm|are you|am i (talking|speaking))\b|\bwho are you\b/i],
  ['status', /\b(status|working|online|available|up|down|broken|health)\b/i],
  ['help', /\b(help|how (do|can|to)|what can you|commands?|usage|get started)\b|^\s*\?+\s*$/i],
  ['greeting', /^\s*(hi|hello|hey|hiya|howdy|greetings|good (morning|afternoon|evening)|yo|salut|bonjour|hallo)\b/i],
];

function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    return (message.content ?? [])
      .map((part) => (part.type === 'text' ? part.text : ''))
      .join(' ')
      .trim();
  }
  return '';
}

export function recognizeIntent(messages: readonly ChatMessage[]): LastResortIntent {
  const text = lastUserText(messages);
  return INTENTS.find(([, pattern]) => pattern.test(text))?.[0] ?? 'other';
}

const HOW_TO_GET_A_MODEL =
  'To get a model: run `switchboard models recommend` and then `switchboard models pull ID` (or pick one in the ' +
  "app's Models pane) for a local model that runs on this machine; or give a cloud provider an API key " +
  '(`switchboard providers add-key ID`, the Providers pane, or providers.yaml) and allow cloud fallback.';

const NO_MODEL = 'No model is available to answer right now, so this is Switchboard’s built-in fallback responder.';

/** The answer, by intent; `reason` is why routing found no provider, in its own words. */
export function lastResortText(messages: readonly ChatMessage[], reason: string): string {
  switch (recognizeIntent(messages)) {
    case 'greeting':
      return `Hello! ${NO_MODEL} I can only say how to get a model running. ${HOW_TO_GET_A_MODEL}`;
    case 'identity':
      return `You are talking to Switchboard’s fallback responder: a few built-in answers, no model and no network. No provider could answer (${reason}). ${HOW_TO_GET_A_MODEL}`;
    case 'status':
      return `${NO_MODEL} Status: no provider could answer (${reason}). \`switchboard providers status\` and \`switchboard providers health\` say more. ${HOW_TO_GET_A_MODEL}`;
    case 'help':
      return `${NO_MODEL} Switchboard routes chats, transcription and summaries to local models first and to cloud providers where you allow it. ${HOW_TO_GET_A_MODEL} \`switchboard --help\` lists every command.`;
    default:
      return `${NO_MODEL} It cannot answer that: no provider could (${reason}). ${HOW_TO_GET_A_MODEL}`;
  }
}

/** Where the answer comes from, as routing reports a provider's. */
export function lastResortRoute(profile: string | undefined, strategy: string, fallbackDepth: number): RouteInfo {
  return {
    providerId: LAST_RESORT_PROVIDER,
    providerLabel: 'Fallback responder',
    model: LAST_RESORT_PROVIDER,
    onMachine: true,
    fallbackDepth,
    profile: profile ?? 'default',
    strategy,
  };
}

export function lastResortEvents(messages: readonly ChatMessage[], reason: string): ChatStreamEvent[] {
  return [
    { type: 'text', text: lastResortText(messages, reason) },
    {
      type: 'finish',
      reason: 'stop',
      model: LAST_RESORT_PROVIDER,
      usage: { inputTokens: 0, outputTokens: 0, estimated: false },
    },
  ];
}

/**
 * The answered request's usage event, for its request log line: nothing spent, and `errorCode` is why no
 * provider answered (the line reads `provider: fallback-responder`, `error_code: NO_PROVIDER`, status 200).
 */
export function lastResortUsage(
  route: RouteInfo,
  reason: ErrorCode,
  started: number,
  caller: Pick<UsageEvent, 'userId' | 'appKeyId'>,
): UsageEvent {
  return {
    id: randomUUID(),
    time: started,
    kind: 'chat',
    providerId: route.providerId,
    model: route.model,
    ...caller,
    profile: route.profile,
    strategy: route.strategy,
    inputTokens: 0,
    outputTokens: 0,
    tokensEstimated: false,
    costUsd: 0,
    latencyMs: Date.now() - started,
    outcome: 'success',
    errorCode: reason,
    fallbackDepth: route.fallbackDepth,
  };
}
