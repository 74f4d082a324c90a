import { describe, expect, it } from 'vitest';
import { whatsappMarkdownToHtml } from './whatsapp-markdown-to-html.ts';

describe('whatsappMarkdownToHtml', () => {
  it('renders WhatsApp emphasis, escapes HTML and keeps line breaks', () => {
    expect(whatsappMarkdownToHtml('Hi *there*, _see_ ~this~ `code` <b>&')).toBe(
      '<p>Hi <strong>there</strong>, <em>see</em> <del>this</del> <code>code</code> &lt;b&gt;&amp;</p>',
    );
    expect(whatsappMarkdownToHtml('one\ntwo\n\nthree')).toBe('<p>one<br>two</p><p>three</p>');
    expect(whatsappMarkdownToHtml('2*3*4 snake_case_name')).toBe('<p>2*3*4 snake_case_name</p>');
  });
});
