import { memo, type ReactNode, useMemo, useRef, useState } from 'react';
import ReactMarkdown, { type Options } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';
import remarkGfm from 'remark-gfm';
import { CopyButton } from '../../components/CopyButton.tsx';
import { MarkdownBlocks } from './markdown-blocks.ts';

const remarkPlugins: Options['remarkPlugins'] = [remarkGfm];
const rehypePlugins: Options['rehypePlugins'] = [rehypeHighlight];

/** A code block with a Copy button for its text. */
function CodeBlock({ children }: { children?: ReactNode }) {
  const pre = useRef<HTMLPreElement>(null);
  return (
    <div className="code-block">
      <CopyButton label="Copy code" text={() => pre.current?.textContent ?? ''} />
      <pre ref={pre}>{children}</pre>
    </div>
  );
}

const components: Options['components'] = {
  // Links open in the user's browser (Electron's main process sends window.open there).
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noreferrer noopener">
      {children}
    </a>
  ),
  pre: ({ children }) => <CodeBlock>{children}</CodeBlock>,
  table: ({ children }) => (
    <div className="table-scroll">
      <table>{children}</table>
    </div>
  ),
};

/** One Markdown block (or a whole saved answer). Raw HTML in the text is shown as text, never run. */
const MarkdownBlock = memo(function MarkdownBlock({ text }: { text: string }) {
  return (
    <ReactMarkdown remarkPlugins={remarkPlugins} rehypePlugins={rehypePlugins} components={components}>
      {text}
    </ReactMarkdown>
  );
});

/** A saved answer as Markdown: GFM tables, highlighted code with a Copy button. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <MarkdownBlock text={text} />
    </div>
  );
});

/**
 * An answer still being written: finished blocks are rendered once and kept (memoised by their text),
 * only the growing last block is parsed and rendered again as words arrive.
 */
export function StreamingMarkdown({ text }: { text: string }) {
  const [splitter] = useState(() => new MarkdownBlocks());
  const blocks = useMemo(() => splitter.update(text), [splitter, text]);
  return (
    <div className="markdown">
      {blocks.map((block, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: blocks only ever grow at the end; an index is their identity
        <MarkdownBlock key={index} text={block} />
      ))}
    </div>
  );
}
