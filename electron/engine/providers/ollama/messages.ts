import type { Message, Tool as OllamaTool } from 'ollama';
import type { ChatMessage, ResponseFormat, Tool } from '../../contract/chat.ts';
import { messageText, parseDataUrl, parseToolArguments } from '../message-parts.ts';

/** OpenAI-shaped messages to Ollama's: images as bare base64, tool-call arguments as objects. */
export function toOllamaMessages(messages: readonly ChatMessage[]): Message[] {
  const toolNames = new Map<string, string>();
  return messages.map((message): Message => {
    // Ollama takes images inline as bare base64; it cannot fetch a URL.
    const images =
      typeof message.content === 'string'
        ? []
        : (message.content ?? []).flatMap((part) =>
            part.type === 'image_url' ? [parseDataUrl(part.image_url.url)?.data ?? part.image_url.url] : [],
          );
    const out: Message = {
      role: message.role === 'developer' ? 'system' : message.role,
      content: messageText(message.content),
    };
    if (images.length > 0) out.images = images;
    if (message.tool_calls?.length) {
      out.tool_calls = message.tool_calls.map((call) => {
        toolNames.set(call.id, call.function.name);
        return { function: { name: call.function.name, arguments: parseToolArguments(call.function.arguments) } };
      });
    }
    if (message.role === 'tool') out.tool_name = message.name ?? toolNames.get(message.tool_call_id ?? '');
    return out;
  });
}

export function toOllamaTools(tools: readonly Tool[] | undefined): OllamaTool[] | undefined {
  return tools?.map((tool) => ({ type: 'function', function: tool.function as OllamaTool['function'] }));
}

/** response_format as Ollama's `format`: "json" or a JSON schema. */
export function toOllamaFormat(format: ResponseFormat | undefined): string | object | undefined {
  if (!format || format.type === 'text') return undefined;
  return format.type === 'json_schema' ? (format.json_schema.schema ?? 'json') : 'json';
}
