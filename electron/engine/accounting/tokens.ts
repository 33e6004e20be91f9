import type { ChatMessage, Usage } from '../contract/chat.ts';
import { requiredOnFirstUse } from '../core/required-on-first-use.ts';

const gptTokenizer = requiredOnFirstUse<typeof import('gpt-tokenizer')>('gpt-tokenizer');

/**
 * Token counts for providers that do not report usage. gpt-tokenizer's default encoding (o200k_base,
 * the GPT-4o family) is an estimate for other vendors' tokenizers, which is why usage built from these
 * counts is marked `estimated`.
 */
export function countTokens(text: string): number {
  return text.length === 0 ? 0 : gptTokenizer().countTokens(text);
}

// The chat-format overhead OpenAI documents for its current models: each message is wrapped in
// about three tokens of role markup, a name adds one, and the reply is primed with three more.
const TOKENS_PER_MESSAGE = 3;
const TOKENS_PER_NAME = 1;
const REPLY_PRIMING_TOKENS = 3;
// A low-detail image costs a fixed 85 tokens on OpenAI; high-detail ones cost more, but the true
// figure depends on the image size, which an estimate made before the upload cannot know.
const TOKENS_PER_IMAGE = 85;

export function countMessageTokens(messages: readonly ChatMessage[]): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const message of messages) {
    total += TOKENS_PER_MESSAGE + countTokens(message.role);
    if (message.name) total += TOKENS_PER_NAME + countTokens(message.name);
    if (typeof message.content === 'string') {
      total += countTokens(message.content);
    } else if (message.content) {
      for (const part of message.content) {
        total += part.type === 'text' ? countTokens(part.text) : TOKENS_PER_IMAGE;
      }
    }
    for (const call of message.tool_calls ?? []) {
      total += countTokens(call.function.name) + countTokens(call.function.arguments);
    }
  }
  return total;
}

/** Usage for a reply whose provider did not report it. */
export function estimateChatUsage(messages: readonly ChatMessage[], outputText: string): Usage {
  return { inputTokens: countMessageTokens(messages), outputTokens: countTokens(outputText), estimated: true };
}
