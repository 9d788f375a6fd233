// Markdown and code, rendered safely: Claude's replies are markdown (marked), whatever
// HTML that yields is sanitised (DOMPurify, which drops scripts, event handlers and
// anything that could load or run something) before it reaches the page, and code is
// highlighted (highlight.js) by adding class names only. All three are vendored
// (playground/vendor, licences there): no CDN, nothing inline, CSP-clean.
import { marked } from '../vendor/marked.esm.js';
import DOMPurify from '../vendor/purify.es.mjs';
import hljs from '../vendor/highlight.min.js';

// Nothing that fetches, embeds or submits: a reply cannot make the page load an image
// from elsewhere or show a form that looks like the page's own.
const FORBID = ['img', 'picture', 'source', 'video', 'audio', 'iframe', 'object', 'embed', 'form', 'input',
  'button', 'textarea', 'select', 'style', 'link', 'meta', 'svg', 'math', 'base'];

// HTML written in a reply is shown as the text it is, never parsed as markup: nothing of
// it can reach the page, not even to be removed again by the sanitiser.
const escapeHtml = (t) => t.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
marked.use({ renderer: { html: ({ text }) => escapeHtml(text) } });

// Links leave the page in a new tab without telling the target who sent them.
DOMPurify.addHook('afterSanitizeAttributes', (node) => {
  if (node.tagName === 'A') {
    node.setAttribute('target', '_blank');
    node.setAttribute('rel', 'noopener noreferrer');
  }
});

function sanitized(html) {
  return DOMPurify.sanitize(html, {
    FORBID_TAGS: FORBID,
    FORBID_ATTR: ['style', 'srcset'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|#)/i,
    RETURN_DOM_FRAGMENT: true,
  });
}

// A file name's language, for highlighting (none: plain text).
const BY_EXTENSION = {
  rs: 'rust', py: 'python', js: 'javascript', mjs: 'javascript', cjs: 'javascript', jsx: 'javascript',
  ts: 'typescript', tsx: 'typescript', sh: 'bash', bash: 'bash', json: 'json', yml: 'yaml', yaml: 'yaml',
  toml: 'ini', ini: 'ini', go: 'go', css: 'css', scss: 'scss', html: 'xml', xml: 'xml', svg: 'xml',
  md: 'markdown', sql: 'sql', diff: 'diff', patch: 'diff', c: 'c', h: 'c', cpp: 'cpp', hpp: 'cpp', java: 'java',
  kt: 'kotlin', rb: 'ruby', php: 'php', swift: 'swift', lua: 'lua', graphql: 'graphql', gql: 'graphql',
  dockerfile: 'bash', makefile: 'makefile',
};

export function languageOf(path) {
  const name = path.split('/').pop().toLowerCase();
  const ext = name.includes('.') ? name.split('.').pop() : name;
  const lang = BY_EXTENSION[ext];
  return lang && hljs.getLanguage(lang) ? lang : null;
}

// Highlighting a big file would hold the page; beyond this it stays plain.
const HIGHLIGHT_BYTES = 256 * 1024;

// A <code> element holding `text`, highlighted when its language is known. Its text is
// always exactly `text`: highlighting only wraps it in spans.
export function code(text, lang) {
  const el = document.createElement('code');
  if (lang && text.length <= HIGHLIGHT_BYTES && hljs.getLanguage(lang)) {
    el.className = `hljs language-${lang}`;
    el.append(sanitized(hljs.highlight(text, { language: lang, ignoreIllegals: true }).value));
  } else {
    el.textContent = text;
  }
  return el;
}

// Claude's markdown as safe elements: headings, lists, tables, links, and fenced code
// highlighted by its language.
export function markdown(text) {
  const frag = sanitized(marked.parse(text, { gfm: true, breaks: false, async: false }));
  for (const block of frag.querySelectorAll('pre > code')) {
    const m = /language-([\w+-]+)/.exec(block.className || '');
    const lang = m && hljs.getLanguage(m[1]) ? m[1] : null;
    block.replaceWith(code(block.textContent, lang));
  }
  return frag;
}
