import type { ChatMessage } from '../contract/chat.ts';
import { SwitchboardError } from '../contract/errors.ts';

/** Reading OpenAI-shaped messages, for the adapters that translate them into another protocol. */

/** The text of a message's content, image parts left out. */
export function messageText(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  return (content ?? []).map((part) => (part.type === 'text' ? part.text : '')).join('');
}

/** `data:image/png;base64,…` split into its type and payload; undefined for an ordinary URL. */
export function parseDataUrl(url: string): { mimeType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mimeType: match[1]!, data: match[2]! } : undefined;
}

/** A JSON object, or undefined for anything else (plain text, arrays, broken JSON). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A tool call's arguments as the object that protocols other than OpenAI's carry. */
export function parseToolArguments(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  const value = parseJsonObject(text);
  if (!value) {
    throw new SwitchboardError(
      'INVALID_REQUEST',
      `tool call arguments must be a JSON object, got: ${text.slice(0, 80)}`,
    );
  }
  return value;
}
