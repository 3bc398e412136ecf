// Short messages in a live region. Errors stay until dismissed; the rest fade after a while.

import { h, icon } from './dom.js';
import { t } from './i18n.js';

const ICON = { ok: 'check', error: 'alert', info: 'signal', warn: 'clock' };

export function toast(message, kind = 'info', { timeout = 6000 } = {}) {
  const region = document.getElementById('toasts');
  if (!region) return;
  const close = () => item.remove();
  const item = h('div', { class: ['toast', `toast-${kind}`], role: kind === 'error' ? 'alert' : 'status' },
    icon(ICON[kind] || 'signal'),
    h('p', { text: message }),
    h('button', { type: 'button', class: 'btn-icon', 'aria-label': t('action.dismiss'), title: t('action.dismiss'), onclick: close }, icon('x')));
  region.append(item);
  while (region.children.length > 4) region.firstElementChild.remove();
  if (kind !== 'error') setTimeout(close, timeout);
}
