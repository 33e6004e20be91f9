import type { Content, FunctionCallingConfigMode, GenerateContentConfig, Part } from '@google/genai';
import { messageText, parseDataUrl, parseJsonObject, parseToolArguments } from '../message-parts.ts';
import type { ChatCall } from '../types.ts';

/**
 * OpenAI-shaped chat requests to Gemini's generateContent: system messages become systemInstruction, the
 * assistant is the `model` role, tool calls and results become functionCall / functionResponse parts.
 */
// @google/genai's FunctionCallingConfigMode values, spelled out: the SDK itself is imported only when a
// Gemini provider makes its first call (its enum would load the whole SDK with this module).
const FUNCTION_CALLING_MODES = {
  none: 'NONE' as FunctionCallingConfigMode,
  auto: 'AUTO' as FunctionCallingConfigMode,
  required: 'ANY' as FunctionCallingConfigMode,
};

export function toGeminiRequest(call: ChatCall): { contents: Content[]; config: GenerateContentConfig } {
  const system: string[] = [];
  const contents: Content[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: 'user' | 'model', parts: Part[]) => {
    const last = contents.at(-1);
    if (last?.role === role) last.parts?.push(...parts);
    else contents.push({ role, parts });
  };
  for (const message of call.messages) {
    if (message.role === 'system' || message.role === 'developer') {
      system.push(messageText(message.content));
    } else if (message.role === 'tool') {
      const name = message.name ?? toolNames.get(message.tool_call_id ?? '') ?? 'tool';
      push('user', [
        { functionResponse: { id: message.tool_call_id, name, response: toolResponse(messageText(message.content)) } },
      ]);
    } else if (message.role === 'assistant') {
      const parts = contentParts(message.content);
      for (const call of message.tool_calls ?? []) {
        toolNames.set(call.id, call.function.name);
        parts.push({
          functionCall: { id: call.id, name: call.function.name, args: parseToolArguments(call.function.arguments) },
        });
      }
      if (parts.length > 0) push('model', parts);
    } else {
      push('user', contentParts(message.content));
    }
  }

  const config: GenerateContentConfig = {
    systemInstruction: system.length > 0 ? system.join('\n\n') : undefined,
    temperature: call.temperature,
    topP: call.top_p,
    maxOutputTokens: call.max_tokens,
    stopSequences: typeof call.stop === 'string' ? [call.stop] : call.stop,
    seed: call.seed,
  };
  if (call.tools?.length) {
    config.tools = [
      {
        functionDeclarations: call.tools.map((tool) => ({
          name: tool.function.name,
          description: tool.function.description,
          parametersJsonSchema: tool.function.parameters,
        })),
      },
    ];
  }
  const choice = call.tool_choice;
  if (choice === 'none' || choice === 'auto' || choice === 'required') {
    const mode = FUNCTION_CALLING_MODES[choice];
    config.toolConfig = { functionCallingConfig: { mode } };
  } else if (choice && typeof choice === 'object') {
    const name = (choice as { function?: { name?: string } }).function?.name;
    if (name)
      config.toolConfig = {
        functionCallingConfig: { mode: FUNCTION_CALLING_MODES.required, allowedFunctionNames: [name] },
      };
  }
  if (call.response_format && call.response_format.type !== 'text') {
    config.responseMimeType = 'application/json';
    if (call.response_format.type === 'json_schema')
      config.responseJsonSchema = call.response_format.json_schema.schema;
  }
  return { contents, config };
}

function contentParts(content: ChatCall['messages'][number]['content']): Part[] {
  if (typeof content === 'string') return content ? [{ text: content }] : [];
  return (content ?? []).map((part): Part => {
    if (part.type === 'text') return { text: part.text };
    const data = parseDataUrl(part.image_url.url);
    if (data) return { inlineData: data };
    return { fileData: { fileUri: part.image_url.url, mimeType: guessImageType(part.image_url.url) } };
  });
}

function guessImageType(url: string): string {
  const extension = /\.(png|gif|webp|jpe?g)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  return extension === 'png' || extension === 'gif' || extension === 'webp' ? `image/${extension}` : 'image/jpeg';
}

/** Gemini wants an object as a function's response; tools usually return JSON text or plain text. */
function toolResponse(text: string): Record<string, unknown> {
  return parseJsonObject(text) ?? { result: text };
}
