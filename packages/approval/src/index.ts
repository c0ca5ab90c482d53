export * from './model.js';
export { renderHtml, sizeChart } from './html.js';
export { renderMarkdown } from './markdown.js';
export { trustStatement, kindTitle } from './text.js';
