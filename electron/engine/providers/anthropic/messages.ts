import type Anthropic from '@anthropic-ai/sdk';
import type { ChatMessage, ResponseFormat, Tool } from '../../contract/chat.ts';
import { messageText, parseDataUrl, parseToolArguments } from '../message-parts.ts';

type ContentBlock = Anthropic.ContentBlockParam;

/**
 * OpenAI-shaped messages to Anthropic's: system and developer messages become `system`; an assistant's
 * tool_calls become tool_use blocks; tool messages become tool_result blocks in a user turn; consecutive
 * turns of one role merge, as Anthropic requires all results of one tool round in one user turn.
 */
export function toAnthropicMessages(messages: readonly ChatMessage[]): {
  system?: string;
  messages: Anthropic.MessageParam[];
} {
  const system: string[] = [];
  const turns: Anthropic.MessageParam[] = [];
  const push = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    const last = turns.at(-1);
    if (last && last.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'developer') {
      system.push(messageText(message.content));
    } else if (message.role === 'tool') {
      push('user', [
        { type: 'tool_result', tool_use_id: message.tool_call_id ?? '', content: messageText(message.content) },
      ]);
    } else if (message.role === 'assistant') {
      const blocks: ContentBlock[] = contentBlocks(message);
      for (const call of message.tool_calls ?? []) {
        blocks.push({
          type: 'tool_use',
          id: call.id,
          name: call.function.name,
          input: parseToolArguments(call.function.arguments),
        });
      }
      if (blocks.length > 0) push('assistant', blocks);
    } else {
      push('user', contentBlocks(message));
    }
  }
  return { system: system.length > 0 ? system.join('\n\n') : undefined, messages: turns };
}

export function toAnthropicTools(tools: readonly Tool[] | undefined): Anthropic.Tool[] | undefined {
  return tools?.map((tool) => ({
    name: tool.function.name,
    description: tool.function.description,
    input_schema: { type: 'object', ...tool.function.parameters },
  }));
}

/** OpenAI's tool_choice ('auto' | 'none' | 'required' | {function:{name}}) in Anthropic's words. */
export function toAnthropicToolChoice(choice: unknown): Anthropic.ToolChoice | undefined {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  const name = (choice as { function?: { name?: string } } | undefined)?.function?.name;
  return name ? { type: 'tool', name } : undefined;
}

/** response_format as Anthropic's structured output (output_config.format). */
export function toAnthropicOutputFormat(format: ResponseFormat | undefined): Anthropic.OutputConfig | undefined {
  if (!format || format.type === 'text') return undefined;
  const schema = format.type === 'json_schema' ? (format.json_schema.schema ?? { type: 'object' }) : { type: 'object' };
  return { format: { type: 'json_schema', schema } };
}

function contentBlocks(message: ChatMessage): ContentBlock[] {
  if (typeof message.content === 'string') return message.content ? [{ type: 'text', text: message.content }] : [];
  return (message.content ?? []).map((part): ContentBlock => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    const data = parseDataUrl(part.image_url.url);
    if (data) {
      // Anthropic takes JPEG, PNG, GIF and WebP; it answers any other type with a 400 naming it.
      const mediaType = data.mimeType as 'image/jpeg' | 'image/png' | 'image/gif' | 'image/webp';
      return { type: 'image', source: { type: 'base64', media_type: mediaType, data: data.data } };
    }
    return { type: 'image', source: { type: 'url', url: part.image_url.url } };
  });
}
