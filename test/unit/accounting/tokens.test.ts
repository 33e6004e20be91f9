import { describe, expect, it } from 'vitest';
import { countMessageTokens, countTokens, estimateChatUsage } from '../../../electron/engine/accounting/tokens.ts';

describe('token counts', () => {
  it('counts o200k_base tokens of a text', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('The quick brown fox jumps over the lazy dog.')).toBe(10);
  });

  it('adds the chat format overhead per message, and counts tool calls and images', () => {
    const one = countMessageTokens([{ role: 'user', content: 'Hello there' }]);
    // 3 reply-priming + 3 per message + role "user" (1) + "Hello there" (2).
    expect(one).toBe(9);
    const withName = countMessageTokens([{ role: 'user', name: 'ana', content: 'Hello there' }]);
    expect(withName).toBe(one + 1 + countTokens('ana'));
    const withImage = countMessageTokens([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Hello there' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } },
        ],
      },
    ]);
    expect(withImage).toBe(one + 85);
    const withTool = countMessageTokens([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Lisbon"}' } }],
      },
    ]);
    expect(withTool).toBeGreaterThan(countMessageTokens([{ role: 'assistant', content: null }]));
  });

  it('marks usage built from estimates as estimated', () => {
    expect(
      estimateChatUsage([{ role: 'user', content: 'Hello there' }], 'The quick brown fox jumps over the lazy dog.'),
    ).toEqual({
      inputTokens: 9,
      outputTokens: 10,
      estimated: true,
    });
  });
});
