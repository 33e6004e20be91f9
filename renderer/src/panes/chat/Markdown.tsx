import { memo } from 'react';
import ReactMarkdown, { type Options } from 'react-markdown';
import rehypeHighlight from 'rehype-highlight';

const rehypePlugins: Options['rehypePlugins'] = [rehypeHighlight];

const components: Options['components'] = {
  // Links open in the user's browser (Electron's main process sends window.open there).
  a: ({ href, children }) => (
    <a href={href} target="_blank" rel="noreferrer noopener">
      {children}
    </a>
  ),
};

/** An answer as Markdown with highlighted code. Raw HTML in the text is shown as text, never run. */
export const Markdown = memo(function Markdown({ text }: { text: string }) {
  return (
    <div className="markdown">
      <ReactMarkdown rehypePlugins={rehypePlugins} components={components}>
        {text}
      </ReactMarkdown>
    </div>
  );
});
