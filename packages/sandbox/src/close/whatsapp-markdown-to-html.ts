/**
 * Renders WhatsApp markdown (`*bold*`, `_italic_`, `~strike~`, `` `code` ``, ```` ```mono``` ````) as the HTML Close
 * returns in the read-only `message_html` (https://developer.close.com/api/resources/activities/whatsapp/create).
 * The exact markup Close emits is not documented; this is the emulator's rendering.
 */
export function whatsappMarkdownToHtml(markdown: string): string {
  let html = markdown.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]!);
  html = html.replace(/```([\s\S]+?)```/g, '<pre>$1</pre>');
  html = html.replace(/`([^`\n]+)`/g, '<code>$1</code>');
  html = html.replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,!?:;])/g, '$1<strong>$2</strong>');
  html = html.replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,!?:;])/g, '$1<em>$2</em>');
  html = html.replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,!?:;])/g, '$1<del>$2</del>');
  return html
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${paragraph.replace(/\n/g, '<br>')}</p>`)
    .join('');
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
