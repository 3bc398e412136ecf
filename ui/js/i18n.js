// Translations: every visible string comes from ui/i18n/<lang>.json. `t(key, {name})` fills
// `{name}` placeholders. Static markup names its strings with data-i18n attributes.

export const LANGUAGES = ['en', 'zh-CN'];

const dicts = {};
let current = 'en';
const listeners = new Set();

async function load(lang) {
  if (!dicts[lang]) {
    const r = await fetch(`/ui/i18n/${lang}.json`, { headers: { accept: 'application/json' } });
    if (!r.ok) throw new Error(`cannot load the ${lang} translation: HTTP ${r.status}`);
    dicts[lang] = await r.json();
  }
  return dicts[lang];
}

/** The language the system asks for, as one we have. */
export function systemLanguage() {
  const wanted = navigator.languages?.length ? navigator.languages : [navigator.language || 'en'];
  for (const l of wanted) {
    if (/^zh\b/i.test(l)) return 'zh-CN';
    if (/^en\b/i.test(l)) return 'en';
  }
  return 'en';
}

/** The configured language ("" = system) resolved to one we have. */
export function resolve(configured) {
  return LANGUAGES.includes(configured) ? configured : systemLanguage();
}

export function language() {
  return current;
}

/** Switch language: load it, relabel the static page, tell every screen to re-render. */
export async function setLanguage(lang) {
  await load('en');
  await load(lang);
  current = lang;
  document.documentElement.lang = lang;
  applyStatic(document);
  for (const fn of listeners) fn(lang);
}

export function onLanguage(fn) {
  listeners.add(fn);
}

export function t(key, params) {
  let text = dicts[current]?.[key] ?? dicts.en?.[key];
  if (text === undefined) {
    console.warn(`missing translation: ${key}`);
    text = key;
  }
  if (params) text = text.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return text;
}

/** The current language's text for `key`, or undefined (no fallback): for optional texts. */
export function maybe(key) {
  return dicts[current]?.[key];
}

/**
 * A count with the right plural form: `tn('count.requests', 3)` uses `count.requests_one` or
 * `count.requests_other` as the language's plural rules say. `{n}` is the formatted number.
 */
export function tn(key, n, params = {}) {
  const rule = new Intl.PluralRules(current).select(n);
  const k = dicts[current]?.[`${key}_${rule}`] !== undefined ? `${key}_${rule}` : `${key}_other`;
  return t(k, { n: num(n), ...params });
}

/** Label the static markup: data-i18n (text), data-i18n-label (aria-label), -title, -placeholder. */
export function applyStatic(root) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.setAttribute('title', t(el.dataset.i18nTitle));
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  document.title = t('app.title');
}

/** Number formatting in the current language. */
export function num(n, opts) {
  return new Intl.NumberFormat(current, opts).format(n);
}
