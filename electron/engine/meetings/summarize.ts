import { z } from 'zod';
import { countTokens } from '../accounting/tokens.ts';
import type { MeetingSummaryText } from '../contract/api.ts';
import type { ChatRequest } from '../contract/chat.ts';
import { SwitchboardError } from '../contract/errors.ts';
import type { TranscriptSegment } from '../contract/transcription.ts';
import type { EngineChatEvent, RequestOptions } from '../engine.ts';
import type { StoredSummary } from '../store/meetings.ts';
import { TRANSCRIPT_PLACEHOLDER } from '../store/templates.ts';
import { formatClock } from './queue.ts';

/** The Engine's chat (or anything shaped like it). */
export type ChatFn = (request: ChatRequest, options: RequestOptions) => AsyncIterable<EngineChatEvent>;

export interface SummarizeOptions {
  chat: ChatFn;
  /** The prompt; TRANSCRIPT_PLACEHOLDER marks where the transcript goes. */
  template: string;
  /** Tokens the model takes, prompt and answer together. */
  contextTokens?: number;
  /** Tokens kept free for each answer. */
  maxOutputTokens?: number;
  model?: string;
  /** Routing profile; `summarize` prefers the local model. */
  profile?: string;
  signal?: AbortSignal;
}

const DEFAULT_CONTEXT_TOKENS = 8192;
const DEFAULT_MAX_OUTPUT_TOKENS = 1024;
// Chat-format markup around the prompt and counting differences between the estimate and the model's tokenizer.
const SAFETY_TOKENS = 64;

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
    let piece = '';
    for (const word of line.split(/(?<=\s)/)) {
      if (piece && countTokens(piece + word) > budget) {
        pieces.push(piece.trimEnd());
        piece = '';
      }
      piece += word;
    }
    if (piece.trim()) pieces.push(piece.trimEnd());
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

/**
 * Summarises a transcript: summary, action items with owners where named, decisions. A transcript that
 * does not fit the model's context is summarised map-reduce: token-sized chunks → partial summaries →
 * one final summary (reducing in rounds if the partials themselves do not fit). Nothing is cut off.
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
  const maxOutputTokens = options.maxOutputTokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  const contextTokens = options.contextTokens ?? DEFAULT_CONTEXT_TOKENS;
  const models = new Set<string>();

  const ask = async (prompt: string): Promise<SummaryParts> => {
    let text = '';
    let model = '';
    const request: ChatRequest = {
      messages: [{ role: 'user', content: prompt }],
      max_tokens: maxOutputTokens,
      temperature: 0,
    };
    if (options.model) request.model = options.model;
    for await (const event of options.chat(request, {
      profile: options.profile ?? 'summarize',
      signal: options.signal,
    })) {
      if (event.type === 'route') model = `${event.route.providerId}/${event.route.model}`;
      else if (event.type === 'text') text += event.text;
    }
    if (model) models.add(model);
    return parseSummaryAnswer(text);
  };
  const budgetFor = (template: string) => {
    const budget = contextTokens - maxOutputTokens - SAFETY_TOKENS - countTokens(fill(template, ''));
    if (budget < 64) {
      throw new SwitchboardError(
        'CONTEXT_TOO_LONG',
        `the model's context (${contextTokens} tokens) leaves no room for a transcript after the prompt and a ${maxOutputTokens}-token answer; choose a model with a larger context or a shorter template`,
      );
    }
    return budget;
  };

  const finalBudget = budgetFor(options.template);
  const transcript = transcriptLines(segments).join('\n');
  let result: SummaryParts;
  if (countTokens(transcript) <= finalBudget) {
    result = await ask(fill(options.template, transcript));
  } else {
    const mapBudget = budgetFor(MAP_TEMPLATE.replace('PART', '999 of 999'));
    const chunks = chunkByTokens(transcriptLines(segments), mapBudget);
    let partials: string[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const label = `${i + 1} of ${chunks.length}`;
      partials.push(renderParts(await ask(fill(MAP_TEMPLATE.replace('PART', label), chunk)), `Part ${i + 1}`));
    }
    const reduceBudget = finalBudget - countTokens(REDUCE_HEADING) - 1;
    // Partials that together exceed the context are reduced in groups, round after round.
    while (countTokens(partials.join('\n\n')) > reduceBudget) {
      const groups = chunkByTokens(partials, reduceBudget);
      if (groups.length >= partials.length) {
        throw new SwitchboardError(
          'CONTEXT_TOO_LONG',
          `the model's context (${contextTokens} tokens) is too small to combine partial summaries; choose a model with a larger context`,
        );
      }
      partials = [];
      for (const [i, group] of groups.entries()) {
        const label = `${i + 1} of ${groups.length}`;
        partials.push(
          renderParts(
            await ask(fill(MAP_TEMPLATE.replace('PART', label), `${REDUCE_HEADING}\n${group}`)),
            `Part ${i + 1}`,
          ),
        );
      }
    }
    result = await ask(fill(options.template, `${REDUCE_HEADING}\n${partials.join('\n\n')}`));
  }
  return {
    ...result,
    model: [...models].join(', ') || options.model || 'unknown',
    template: options.template,
    createdAt: Date.now(),
  };
}
