import remarkGfm from 'remark-gfm';
import remarkParse from 'remark-parse';
import { unified } from 'unified';

const parser = unified().use(remarkParse).use(remarkGfm);

/** Where each top-level block (paragraph, list, table, code block…) of a Markdown text starts. */
function blockStarts(markdown: string): number[] {
  return parser.parse(markdown).children.map((node) => node.position?.start.offset ?? 0);
}

/**
 * Splits a streamed answer into Markdown blocks incrementally. Every block but the last is final (more
 * text cannot change it: a paragraph, list or table ends where the next block begins), so it is parsed,
 * rendered and kept once; only the last, growing block is parsed again as text arrives. Rendering an
 * answer is then linear in its length, not quadratic as re-parsing the whole text at every token is.
 */
export class MarkdownBlocks {
  private readonly done: string[] = [];
  /** Where the open (last) block starts in the text. */
  private openFrom = 0;
  private text = '';

  /** The blocks of `text`, which must extend the text of the previous call (else it starts over). */
  update(text: string): readonly string[] {
    if (!text.startsWith(this.text)) {
      this.done.length = 0;
      this.openFrom = 0;
    }
    this.text = text;
    const open = text.slice(this.openFrom);
    const starts = blockStarts(open);
    // Blocks before the last one are final: keep them, and parse only from the last one next time.
    for (let index = 0; index < starts.length - 1; index++) {
      this.done.push(open.slice(starts[index], starts[index + 1]));
    }
    if (starts.length > 1) this.openFrom += starts.at(-1)!;
    const last = text.slice(this.openFrom);
    return last.trim() === '' ? [...this.done] : [...this.done, last];
  }
}
