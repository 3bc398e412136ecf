// Export and import of providers (the Providers screen's header buttons). Export downloads the
// engine's file (no keys in it); import sends a chosen file, then asks for each key the
// keychain is missing with the usual key dialog, one after the other.

import { h, button } from './dom.js';
import { t } from './i18n.js';
import { state, refreshConfig, refreshKeys } from './store.js';
import { api, plainMessage } from './api.js';
import { toast } from './toast.js';
import { confirmDialog } from './dialog.js';
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

async function importFile(file) {
  let text;
  try {
    text = await file.text();
  } catch (e) {
    toast(e.message, 'error');
    return;
  }
  const r = await confirmDialog({
    title: t('transfer.import_title', { file: file.name }),
    message: t('transfer.import_body'),
    confirmLabel: t('transfer.import_confirm'),
    checkbox: { label: t('transfer.import_replace'), checked: false },
  });
  if (!r.ok) return;
  let res;
  try {
    res = await api.importProviders(text, r.checked ? 'replace' : 'merge');
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
