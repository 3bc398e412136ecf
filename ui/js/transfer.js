// Export and import of providers (the Providers screen's header buttons). Export downloads the
// engine's file (no keys in it); import first shows what the chosen file would do (every URL
// and key source, and each way it would use a secret somewhere new, which needs an explicit
// "Import anyway"), then sends it and asks for each key the keychain is missing with the
// usual key dialog, one after the other.

import { h, button, icon, replace } from './dom.js';
import { t } from './i18n.js';
import { state, refreshConfig, refreshKeys } from './store.js';
import { api, plainMessage } from './api.js';
import { toast } from './toast.js';
import { openDialog } from './dialog.js';
import { openKeyDialog } from './providers.js';

function download() {
  const a = h('a', { href: '/api/export', download: 'switchyard-providers.toml', hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
}

/** Ask for the keychain entries `names` (`<id>`, or `<id>#N` for a pool slot), one dialog
 * after the other. */
function askKeys(names) {
  const next = names.shift();
  if (!next) return;
  const [id, slot] = next.split('#');
  const p = state.config?.providers?.find((x) => x.id === id);
  if (!p) return askKeys(names);
  const target = slot ? { ...p, id: next, name: t('transfer.pool_slot', { name: p.name || p.id, n: slot }) } : p;
  openKeyDialog(target, { onClose: () => askKeys(names) });
}

/** Where a reviewed provider's key comes from, in words. */
function keySource(credential) {
  if (credential.startsWith('env:')) return t('transfer.src_env', { var: credential.slice(4) });
  const known = { keychain: 'transfer.src_keychain', passthrough: 'transfer.src_passthrough', none: 'transfer.src_none' };
  return known[credential] ? t(known[credential]) : credential;
}

/** One risk the engine found, in words (its fields are plain values: ids, URLs, names). */
function riskText(r) {
  return t(`transfer.risk_${r.risk}`, r);
}

/** The review of a preview: every provider the file adds or replaces, with its URL and key
 * source, and every way it would use a secret somewhere new. */
function reviewNodes(pv) {
  const rv = pv.review;
  const warn = pv.confirm_required
    ? h('p', { class: 'note import-warning', role: 'alert' }, icon('alert'), h('span', { text: t('transfer.review_warning') }))
    : null;
  const global = rv.global.map((r) => h('li', { class: 'import-risk', text: riskText(r) }));
  const rows = rv.providers.map((p) => h('li', { class: 'import-item', dataset: { review: p.id } },
    h('div', { class: 'row' },
      h('strong', { text: p.id }),
      h('span', { class: 'muted', text: t(`transfer.change_${p.change}`) })),
    h('div', { class: 'mono', text: p.base_url }),
    h('div', { class: 'muted', text: keySource(p.credential) + (p.proxy ? ` · ${t('transfer.via_proxy', { proxy: p.proxy })}` : '') }),
    p.risks.length ? h('ul', { class: 'import-risks' }, p.risks.map((r) => h('li', { class: 'import-risk', text: riskText(r) }))) : null));
  return [
    warn,
    global.length ? h('ul', { class: 'import-risks' }, global) : null,
    rows.length ? h('ul', { class: 'import-list' }, rows) : h('p', { class: 'muted', text: t('transfer.review_none') }),
    pv.kept.length ? h('p', { class: 'muted', text: t('transfer.kept', { ids: pv.kept.join(', ') }) }) : null,
  ];
}

/** Show what the file would do (asked of the engine without saving), let the user choose
 * merge or replace, and import only what they saw; risky files need an explicit click on
 * "Import anyway". Resolves the mode and whether risks were confirmed, or null. */
async function reviewImport(file, text) {
  let pv = await api.previewImport(text, 'merge');
  return new Promise((resolve) => {
    let result = null;
    const list = h('div', { class: 'import-review', 'aria-live': 'polite' });
    const box = h('input', { type: 'checkbox', id: 'import-replace' });
    const ok = h('button', { type: 'submit', class: 'btn' });
    const cancel = h('button', { type: 'button', class: 'btn', text: t('action.cancel') });
    const render = () => {
      replace(list, reviewNodes(pv));
      ok.textContent = pv.confirm_required ? t('transfer.import_anyway') : t('transfer.import_confirm');
      ok.className = `btn ${pv.confirm_required ? 'btn-danger' : 'btn-primary'}`;
    };
    box.addEventListener('change', async () => {
      ok.disabled = true;
      try {
        pv = await api.previewImport(text, box.checked ? 'replace' : 'merge');
        render();
      } catch (e) {
        toast(plainMessage(e.message), 'error');
      } finally {
        ok.disabled = false;
      }
    });
    const form = h('form', { method: 'dialog', class: 'stack' },
      h('p', { text: t('transfer.import_body') }),
      list,
      h('label', { class: 'check', for: box.id }, box, h('span', { text: t('transfer.import_replace') })),
      h('div', { class: 'dialog-actions' }, cancel, ok));
    render();
    const d = openDialog({ title: t('transfer.import_title', { file: file.name }), body: form, wide: true, onClose: () => resolve(result) });
    cancel.addEventListener('click', () => d.close());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      result = { mode: box.checked ? 'replace' : 'merge', confirm: pv.confirm_required };
      d.close();
    });
    cancel.focus();
  });
}

async function importFile(file) {
  let text;
  try {
    text = await file.text();
  } catch (e) {
    toast(e.message, 'error');
    return;
  }
  let r;
  try {
    r = await reviewImport(file, text);
  } catch (e) {
    toast(plainMessage(e.message), 'error');
    return;
  }
  if (!r) return;
  let res;
  try {
    res = await api.importProviders(text, r.mode, r.confirm);
  } catch (e) {
    toast(plainMessage(e.message), 'error');
    return;
  }
  await Promise.all([refreshConfig(), refreshKeys()]);
  const summary = [
    res.added.length ? t('transfer.added', { ids: res.added.join(', ') }) : '',
    res.replaced.length ? t('transfer.replaced', { ids: res.replaced.join(', ') }) : '',
    res.kept.length ? t('transfer.kept', { ids: res.kept.join(', ') }) : '',
    ...res.needs_env.map((x) => t('transfer.needs_env', { id: x.provider, var: x.var })),
  ].filter(Boolean).join(' ');
  toast(summary || t('transfer.nothing'), 'ok');
  askKeys([...res.needs_key]);
}

/** The Export and Import buttons. */
export function transferButtons() {
  const picker = h('input', {
    type: 'file', accept: '.toml,text/plain,application/toml', hidden: true, id: 'import-file',
    'aria-label': t('transfer.import_file'),
    onchange: (e) => {
      const f = e.target.files?.[0];
      e.target.value = '';
      if (f) importFile(f);
    },
  });
  return h('div', { class: 'transfer' },
    button(t('transfer.export'), { icon: 'down', cls: 'btn', id: 'export-providers', title: t('transfer.export_title'), onclick: download }),
    button(t('transfer.import'), { icon: 'up', cls: 'btn', id: 'import-providers', title: t('transfer.import_help'), onclick: () => picker.click() }),
    picker);
}
