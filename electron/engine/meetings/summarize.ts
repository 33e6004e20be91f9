import { z } from 'zod';
import { countTokens } from '../accounting/tokens.ts';
import type { MeetingSummaryText, Provenance } from '../contract/api.ts';
import type { ChatRequest } from '../contract/chat.ts';
import { SwitchboardError } from '../contract/errors.ts';
import type { TranscriptSegment } from '../contract/transcription.ts';
import type { ChatTarget, EngineChatEvent, RequestOptions } from '../engine.ts';
import { type StoredSummary, withProvenance } from '../store/meetings.ts';
import type { Store } from '../store/store.ts';
import { TRANSCRIPT_PLACEHOLDER } from '../store/templates.ts';
import { formatClock } from './queue.ts';

/** The Engine's chat (or anything shaped like it). */
export type ChatFn = (request: ChatRequest, options: RequestOptions) => AsyncIterable<EngineChatEvent>;

/** The model that will answer and what it holds (Engine.chatTarget). */
export type SummaryTarget = Pick<ChatTarget, 'providerId' | 'model' | 'contextTokens' | 'promptTokens'>;

export interface SummarizeOptions {
  chat: ChatFn;
  /** The prompt; TRANSCRIPT_PLACEHOLDER marks where the transcript goes. */
  template: string;
  /** Every request goes to this provider and model, so each fits the context it was measured against. */
  target: SummaryTarget;
  /** Tokens kept for each answer; default an eighth of the context, at most 1,024. */
  maxOutputTokens?: number;
  signal?: AbortSignal;
  /** The user allowed a cloud provider for this summary, once (meeting text is otherwise kept local). */
  cloudConsent?: boolean;
}

const MAX_OUTPUT_TOKENS = 1024;
/** Chunks smaller than this would make a summary of summaries of almost nothing. */
const MIN_CHUNK_TOKENS = 32;

const MAP_TEMPLATE = `This is part PART of a meeting transcript. Summarise only this part. Answer with one JSON object and nothing else:
{"summary": "what this part discussed", "action_items": [{"text": "what must be done", "owner": "who, or null"}], "decisions": ["decisions taken in this part"]}

Transcript part:
${TRANSCRIPT_PLACEHOLDER}`;

const REDUCE_HEADING =
  'The meeting was long, so it was summarised in parts. These are the summaries of its parts, in order:';

type SummaryParts = Pick<MeetingSummaryText, 'summary' | 'actionItems' | 'decisions'>;

function transcriptLines(segments: readonly TranscriptSegment[]): string[] {
  return segments.map(
    (segment) =>
      `[${formatClock(segment.start)}] ${segment.speaker ? `${segment.speaker}: ` : ''}${segment.text.trim()}`,
  );
}

/** Packs lines into chunks of at most `budget` tokens; a line longer than a chunk is split at spaces. */
export function chunkByTokens(lines: readonly string[], budget: number): string[] {
  const pieces: string[] = [];
  for (const line of lines) {
    if (countTokens(line) <= budget) {
      pieces.push(line);
      continue;
    }
    pieces.push(...splitWords(line, budget));
  }
  const chunks: string[] = [];
  let current: string[] = [];
  let used = 0;
  for (const piece of pieces) {
    // +1 for the newline joining it to the previous piece.
    const size = countTokens(piece) + 1;
    if (current.length > 0 && used + size > budget) {
      chunks.push(current.join('\n'));
      current = [];
      used = 0;
    }
    current.push(piece);
    used += size;
  }
  if (current.length > 0) chunks.push(current.join('\n'));
  return chunks;
}

function splitWords(line: string, budget: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const word of line.split(/(?<=\s)/)) {
    if (piece && countTokens(piece + word) > budget) {
      pieces.push(piece.trimEnd());
      piece = '';
    }
    piece += word;
  }
  if (piece.trim()) pieces.push(piece.trimEnd());
  return pieces;
}

/** Halves a chunk that turned out too long for the model's own tokenizer: between lines, else between words. */
function halve(chunk: string): [string, string] {
  const lines = chunk.split('\n');
  if (lines.length > 1) {
    const middle = Math.ceil(lines.length / 2);
    return [lines.slice(0, middle).join('\n'), lines.slice(middle).join('\n')];
  }
  const words = chunk.split(/(?<=\s)/);
  if (words.length < 2) {
    throw new SwitchboardError('CONTEXT_TOO_LONG', 'a single word of the transcript does not fit the model’s context');
  }
  const middle = Math.ceil(words.length / 2);
  return [words.slice(0, middle).join('').trimEnd(), words.slice(middle).join('')];
}

const ownerSchema = z
  .union([z.string(), z.null(), z.undefined()])
  .transform((owner) =>
    owner && !/^(null|none|n\/a|unassigned|unknown|-)$/i.test(owner.trim()) ? owner.trim() : null,
  );

const actionItemInput = z.union([
  z.string().transform((text) => ({ text, owner: null })),
  z
    .object({
      text: z.string().optional(),
      task: z.string().optional(),
      item: z.string().optional(),
      description: z.string().optional(),
      owner: ownerSchema.optional(),
      assignee: ownerSchema.optional(),
    })
    .transform((item) => ({
      text: item.text ?? item.task ?? item.item ?? item.description ?? '',
      owner: item.owner ?? item.assignee ?? null,
    })),
]);

const decisionInput = z.union([
  z.string(),
  z
    .object({ decision: z.string().optional(), text: z.string().optional() })
    .transform((d) => d.decision ?? d.text ?? ''),
]);

const summaryJson = z.object({
  summary: z.union([z.string(), z.array(z.string()).transform((lines) => lines.join(' '))]).optional(),
  action_items: z.array(actionItemInput).optional(),
  actionItems: z.array(actionItemInput).optional(),
  decisions: z.array(decisionInput).optional(),
});

function parseJsonSummary(text: string): SummaryParts | undefined {
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start < 0 || end <= start) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start, end + 1));
  } catch {
    return undefined;
  }
  const parsed = summaryJson.safeParse(value);
  if (!parsed.success || (parsed.data.summary === undefined && !parsed.data.action_items && !parsed.data.decisions)) {
    return undefined;
  }
  return {
    summary: parsed.data.summary?.trim() ?? '',
    actionItems: (parsed.data.action_items ?? parsed.data.actionItems ?? []).filter((item) => item.text.trim()),
    decisions: (parsed.data.decisions ?? []).map((d) => d.trim()).filter(Boolean),
  };
}

const HEADING =
  /^\s*(?:#+\s*|\*\*)?(summary|overview|action items?|next steps|decisions?)(?:\*\*)?\s*:?\s*(?:\*\*)?\s*(.*)$/i;
const BULLET = /^\s*(?:[-*•]|\d+[.)])\s*(?:\[[ x]\]\s*)?/i;

/** "Fix the installer (owner: Bo)", "Fix the installer — Bo", "Bo: fix the installer". */
function actionItemFromLine(line: string): { text: string; owner: string | null } {
  const explicit = line.match(/^(.*?)\s*[([]\s*(?:owner|assignee|who)\s*:\s*([^)\]]+)[)\]]\s*$/i);
  if (explicit) return { text: explicit[1]!.trim(), owner: explicit[2]!.trim() };
  const dashed = line.match(/^(.*\S)\s+[—–]\s+([\p{Lu}][\p{L}.'-]*(?:\s[\p{Lu}][\p{L}.'-]*)?)$/u);
  if (dashed) return { text: dashed[1]!, owner: dashed[2]! };
  const prefixed = line.match(/^([\p{Lu}][\p{L}.'-]*(?:\s[\p{Lu}][\p{L}.'-]*)?)\s*:\s+(.+)$/u);
  if (prefixed) return { text: prefixed[2]!, owner: prefixed[1]! };
  return { text: line, owner: null };
}

/** Reads a model's answer: the JSON asked for, else "Summary / Action items / Decisions" sections, else prose. */
export function parseSummaryAnswer(text: string): SummaryParts {
  const json = parseJsonSummary(text);
  if (json) return json;
  const sections: Record<'summary' | 'actions' | 'decisions', string[]> = { summary: [], actions: [], decisions: [] };
  let section: keyof typeof sections = 'summary';
  let sawHeading = false;
  for (const raw of text.split('\n')) {
    const heading = raw.match(HEADING);
    if (heading) {
      const name = heading[1]!.toLowerCase();
      section = name.startsWith('decision')
        ? 'decisions'
        : name.startsWith('summary') || name === 'overview'
          ? 'summary'
          : 'actions';
      sawHeading = true;
      if (heading[2]?.trim()) sections[section].push(heading[2].trim());
      continue;
    }
    const line = raw.replace(BULLET, '').trim();
    if (line) sections[section].push(line);
  }
  if (!sawHeading) return { summary: text.trim(), actionItems: [], decisions: [] };
  return {
    summary: sections.summary.join(' '),
    actionItems: sections.actions.map(actionItemFromLine),
    decisions: sections.decisions,
  };
}

function renderParts(parts: SummaryParts, label: string): string {
  const lines = [`${label}: ${parts.summary}`];
  for (const item of parts.actionItems)
    lines.push(`- Action item: ${item.text}${item.owner ? ` (owner: ${item.owner})` : ''}`);
  for (const decision of parts.decisions) lines.push(`- Decision: ${decision}`);
  return lines.join('\n');
}

function fill(template: string, text: string): string {
  return template.split(TRANSCRIPT_PLACEHOLDER).join(text);
}

function mapPrompt(label: string, text: string): string {
  return fill(MAP_TEMPLATE.replace('PART', label), text);
}

/**
 * Summarises a transcript: summary, action items with owners where named, decisions. Every request is
 * measured with the answering model's own tokenizer against its real context (room kept for the
 * answer). A transcript that does not fit is summarised map-reduce: chunks that fit → partial summaries
 * → summaries of groups of partials, round after round, until one request holds them all. Every line of
 * the transcript goes into exactly one map request; nothing is cut off.
 */
export async function summarizeTranscript(
  segments: readonly TranscriptSegment[],
  options: SummarizeOptions,
): Promise<StoredSummary> {
  if (!options.template.includes(TRANSCRIPT_PLACEHOLDER)) {
    throw new SwitchboardError('INVALID_REQUEST', `the summary template must contain ${TRANSCRIPT_PLACEHOLDER}`);
  }
  if (segments.length === 0)
    throw new SwitchboardError('INVALID_REQUEST', 'the meeting has no transcript to summarise yet');
  const { target } = options;
  const { contextTokens } = target;
  const maxOutputTokens =
    options.maxOutputTokens ?? Math.max(MIN_CHUNK_TOKENS, Math.min(MAX_OUTPUT_TOKENS, Math.floor(contextTokens / 8)));
  const promptBudget = contextTokens - maxOutputTokens;
  const models = new Set<string>();
  const tooSmall = (what: string) =>
    new SwitchboardError(
      'CONTEXT_TOO_LONG',
      `${target.providerId}/${target.model} holds ${contextTokens} tokens: too few for ${what} and a ${maxOutputTokens}-token answer; choose a model with a larger context or a shorter template`,
    );
  const sizeOf = (prompt: string) => target.promptTokens([{ role: 'user', content: prompt }]);
  const fits = async (prompt: string) => (await sizeOf(prompt)) <= promptBudget;
  let producedBy: Provenance[] = [];

  const ask = async (prompt: string): Promise<SummaryParts> => {
    let text = '';
    let model = '';
    const request: ChatRequest = {
      model: target.model,
      messages: [{ role: 'user', content: prompt }],
      max_tokens: maxOutputTokens,
      temperature: 0,
    };
    // Every chunk and every partial is meeting text: it goes to the cloud only with the user's consent.
    for await (const event of options.chat(request, {
      providerId: target.providerId,
      signal: options.signal,
      dataKind: 'meeting_text',
      cloudConsent: options.cloudConsent,
    })) {
      if (event.type === 'route') {
        const { providerId, providerLabel, model: routed, onMachine } = event.route;
        model = `${providerId}/${routed}`;
        producedBy = withProvenance(producedBy, { providerId, providerLabel, model: routed, onMachine });
      } else if (event.type === 'text') text += event.text;
    }
    if (model) models.add(model);
    return parseSummaryAnswer(text);
  };

  /** Chunks of `lines` whose prompts fit: sized by estimate, then checked with the model's tokenizer. */
  const fittedChunks = async (lines: readonly string[], prompt: (text: string) => string): Promise<string[]> => {
    const overhead = await sizeOf(prompt(''));
    const room = promptBudget - overhead;
    if (room < MIN_CHUNK_TOKENS) throw tooSmall('the summary prompt');
    // The estimate counts in a generic tokenizer; the model's may need more tokens for the same text.
    const sample = lines.join('\n').slice(0, 4_000);
    const ratio = Math.max(1, ((await sizeOf(prompt(sample))) - overhead) / Math.max(1, countTokens(sample)));
    const pending = chunkByTokens(lines, Math.max(1, Math.floor(room / ratio)));
    const fitted: string[] = [];
    while (pending.length > 0) {
      const chunk = pending.shift()!;
      if (await fits(prompt(chunk))) fitted.push(chunk);
      else pending.unshift(...halve(chunk));
    }
    return fitted;
  };

  /** Consecutive partials grouped so that each group's prompt fits; one group when they all fit together. */
  const groupsOf = async (partials: readonly string[], prompt: (text: string) => string): Promise<string[][]> => {
    const groups: string[][] = [];
    let current: string[] = [];
    for (const partial of partials) {
      const tried = [...current, partial];
      if (await fits(prompt(`${REDUCE_HEADING}\n${tried.join('\n\n')}`))) current = tried;
      else if (current.length === 0) throw tooSmall('one partial summary');
      else {
        groups.push(current);
        current = [partial];
      }
    }
    if (current.length > 0) groups.push(current);
    return groups;
  };

  const template = (text: string) => fill(options.template, text);
  const lines = transcriptLines(segments);
  let result: SummaryParts;
  if (await fits(template(lines.join('\n')))) {
    result = await ask(template(lines.join('\n')));
  } else {
    // Labels are as long as the longest one ("999 of 999") while sizing, so the real ones fit too.
    const sizing = (text: string) => mapPrompt('999 of 999', text);
    const chunks = await fittedChunks(lines, sizing);
    let partials: string[] = [];
    for (const [i, chunk] of chunks.entries()) {
      partials.push(renderParts(await ask(mapPrompt(`${i + 1} of ${chunks.length}`, chunk)), `Part ${i + 1}`));
    }
    // Reduce in rounds until the final template holds every remaining partial.
    while ((await groupsOf(partials, template)).length > 1) {
      const groups = await groupsOf(partials, sizing);
      if (groups.length >= partials.length) throw tooSmall('two partial summaries together');
      const next: string[] = [];
      for (const [i, group] of groups.entries()) {
        const label = `${i + 1} of ${groups.length}`;
        next.push(
          renderParts(await ask(mapPrompt(label, `${REDUCE_HEADING}\n${group.join('\n\n')}`)), `Part ${i + 1}`),
        );
      }
      partials = next;
    }
    result = await ask(template(`${REDUCE_HEADING}\n${partials.join('\n\n')}`));
  }
  return {
    ...result,
    model: [...models].join(', ') || `${target.providerId}/${target.model}`,
    producedBy,
    template: options.template,
    createdAt: Date.now(),
  };
}

export interface MeetingSummarizer {
  store: Pick<Store, 'meetings' | 'templates'>;
  chat: ChatFn;
  /** Engine.chatTarget: the model a chat would go to, and its limits. */
  chatTarget(request: { model?: string }, options: RequestOptions): Promise<SummaryTarget>;
}

export interface SummarizeMeetingRequest {
  id: string;
  /** A stored template's id or name; default the built-in one. */
  templateId?: string;
  /** A prompt given in full (it wins over templateId). */
  template?: string;
  /** A model to summarise with; default what the `summarize` profile picks (local first). */
  model?: string;
  signal?: AbortSignal;
  /** One-time consent: this transcript may go to a cloud provider for this summary. */
  allowCloud?: boolean;
}

/** Summarises a stored meeting with a stored (or given) template and keeps the summary with it. */
export async function summarizeMeeting(
  deps: MeetingSummarizer,
  request: SummarizeMeetingRequest,
): Promise<StoredSummary> {
  const { meetings, templates } = deps.store;
  const segments = meetings.segments(meetings.get(request.id).id);
  const template =
    request.template ?? (request.templateId ? templates.find(request.templateId) : templates.get()).prompt;
  // The transcript is meeting text: the model that answers is chosen with the user's consent in mind.
  const consent = { dataKind: 'meeting_text', cloudConsent: request.allowCloud } as const;
  const target = await deps.chatTarget(request.model ? { model: request.model } : {}, {
    profile: 'summarize',
    signal: request.signal,
    ...consent,
  });
  const summary = await summarizeTranscript(segments, {
    chat: deps.chat,
    template,
    target,
    signal: request.signal,
    cloudConsent: request.allowCloud,
  });
  meetings.saveSummary(request.id, summary);
  return summary;
}
