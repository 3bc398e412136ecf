// Modal dialogs on the native <dialog> element: focus is trapped, Escape closes, the page
// behind is inert. One helper for forms, one for "are you sure?".

import { h } from './dom.js';
import { t } from './i18n.js';

let seq = 0;

/**
 * Open a modal. `body` is a node (or array); `onClose` runs once it is gone.
 * Returns {dialog, close, body}.
 */
export function openDialog({ title, body, wide = false, onClose }) {
  const id = `dlg-title-${++seq}`;
  const content = h('div', { class: 'dialog-body' }, body);
  const dialog = h('dialog', { class: ['dialog', wide && 'dialog-wide'], 'aria-labelledby': id },
    h('h2', { id, class: 'dialog-title', text: title }),
    content);
  const opener = document.activeElement;
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
    if (opener && document.contains(opener)) opener.focus();
  });
  // A click on the backdrop (the dialog box itself, outside its content) closes it.
  dialog.addEventListener('mousedown', (e) => {
    if (e.target === dialog) {
      const r = dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) dialog.close();
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  const first = dialog.querySelector('[autofocus], input:not([type=hidden]):not([disabled]), select, textarea, .dialog-body button');
  first?.focus();
  return { dialog, body: content, close: () => dialog.close() };
}

/**
 * Ask for confirmation. Resolves {ok, checked} (checked: the optional checkbox).
 */
export function confirmDialog({ title, message, confirmLabel, danger = false, checkbox = null }) {
  return new Promise((resolve) => {
    let result = { ok: false, checked: false };
    const box = checkbox
      ? h('input', { type: 'checkbox', id: `confirm-check-${seq + 1}`, checked: checkbox.checked })
      : null;
    const ok = h('button', { type: 'submit', class: ['btn', danger ? 'btn-danger' : 'btn-primary'], text: confirmLabel });
    const cancel = h('button', { type: 'button', class: 'btn', text: t('action.cancel') });
    const form = h('form', { method: 'dialog', class: 'stack' },
      h('p', { text: message }),
      box ? h('label', { class: 'check', for: box.id }, box, h('span', { text: checkbox.label })) : null,
      h('div', { class: 'dialog-actions' }, cancel, ok));
    const d = openDialog({ title, body: form, onClose: () => resolve(result) });
    cancel.addEventListener('click', () => d.close());
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      result = { ok: true, checked: box ? box.checked : false };
      d.close();
    });
    cancel.focus();
  });
}
