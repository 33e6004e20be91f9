import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';
import { describe, expect, it } from 'vitest';
import { MarkdownBlocks } from '../../../renderer/src/panes/chat/markdown-blocks.ts';

const ANSWER = [
  '# Plan',
  '',
  'Here is the table you asked for:',
  '',
  '| city | days |',
  '| --- | ---: |',
  '| Lisbon | 3 |',
  '| Porto | 2 |',
  '',
  '1. Book the train',
  '2. Pack',
  '',
  '   Light, it is spring.',
  '',
  '```ts',
  'const days = 5;',
  '',
  'console.log(days);',
  '```',
  '',
  'Have a good trip.',
].join('\n');

/** The answer's blocks as one parse of the whole text sees them (node types, in order). */
function wholeParseTypes(markdown: string): string[] {
  return unified()
    .use(remarkParse)
    .use(remarkGfm)
    .parse(markdown)
    .children.map((node) => node.type);
}

function blockTypes(blocks: readonly string[]): string[] {
  return blocks.flatMap(wholeParseTypes);
}

describe('incremental Markdown blocks of a streamed answer', () => {
  it('ends with the same blocks as one parse of the whole answer, whatever the pieces it arrived in', () => {
    for (const pieceSize of [1, 3, 7, 40]) {
      const blocks = new MarkdownBlocks();
      let last: readonly string[] = [];
      for (let end = pieceSize; end < ANSWER.length + pieceSize; end += pieceSize) {
        last = blocks.update(ANSWER.slice(0, end));
      }
      expect(last.join('')).toBe(ANSWER);
      expect(blockTypes(last)).toEqual(wholeParseTypes(ANSWER));
      expect(blockTypes(last)).toEqual(['heading', 'paragraph', 'table', 'list', 'code', 'paragraph']);
    }
  });

  it('keeps finished blocks as they are and re-parses only the open one', () => {
    const blocks = new MarkdownBlocks();
    const first = blocks.update('Para one.\n\nPara two is still');
    expect(first).toEqual(['Para one.\n\n', 'Para two is still']);
    const second = blocks.update('Para one.\n\nPara two is still growing.\n\n| a |');
    expect(second[0]).toBe(first[0]);
    expect(second).toEqual(['Para one.\n\n', 'Para two is still growing.\n\n', '| a |']);
  });

  it('starts over when the text is replaced rather than extended (a regenerated answer)', () => {
    const blocks = new MarkdownBlocks();
    blocks.update('First answer.\n\nMore.');
    expect(blocks.update('Other')).toEqual(['Other']);
  });
});
