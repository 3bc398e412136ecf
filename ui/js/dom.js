// Small DOM helpers: build elements node by node (nothing from the network is ever parsed
// as HTML), keep focus across re-renders, and icons drawn as inline SVG.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * Create an element. `attrs` keys: `class`, `text`, `on<event>` (listener), `dataset` (object),
 * boolean attributes as true/false, anything else as an attribute. Children may be strings,
 * nodes, arrays or null.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** Same as `h` for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else if (k === 'checked' && 'checked' in el) el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * Re-render `container` with `render()` and put the focus back on the element with the same
 * `data-focus` key, so live updates never steal the keyboard user's place.
 */
export function rerender(container, render) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.focus : null;
  // Text the user typed and has not saved yet survives a live update (see markDirty).
  const typed = [...container.querySelectorAll('[data-focus][data-dirty]')].map((el) => [el.dataset.focus, el.value]);
  const caret = key && typeof active.selectionStart === 'number' ? [active.selectionStart, active.selectionEnd] : null;
  render();
  for (const [k, value] of typed) {
    const el = container.querySelector(`[data-focus="${CSS.escape(k)}"]`);
    if (el && 'value' in el) {
      el.value = value;
      el.dataset.dirty = '1';
      // A value set from script fires no `change` when the field loses focus, so what the user
      // typed before the update would never be saved: fire it ourselves.
      el.addEventListener('blur', () => {
        if (el.dataset.dirty) el.dispatchEvent(new Event('change', { bubbles: true }));
      }, { once: true });
    }
  }
  if (key) {
    const again = container.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again && !again.disabled) {
      again.focus({ preventScroll: true });
      if (caret) {
        try {
          again.setSelectionRange(caret[0], caret[1]);
        } catch { /* not a text field */ }
      }
    }
  }
}

/** Mark text fields the user edits as dirty until saved (`clean(el)`), so re-renders keep them. */
export function trackDirty(root = document) {
  root.addEventListener('input', (e) => {
    const el = e.target;
    if (el instanceof HTMLInputElement && !['checkbox', 'radio'].includes(el.type)) el.dataset.dirty = '1';
  });
}

export function clean(el) {
  if (el) delete el.dataset.dirty;
}

// Icon paths on a 24x24 grid, stroked (lucide-like geometry drawn for this project).
const ICONS = {
  check: ['M5 12.5l4.5 4.5L19 7.5'],
  x: ['M6 6l12 12', 'M18 6L6 18'],
  clock: ['M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z', 'M12 7v5l3 2'],
  alert: ['M12 3L2.5 20h19L12 3z', 'M12 10v4', 'M12 17.5v.01'],
  pause: ['M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18z', 'M10 9v6', 'M14 9v6'],
  pin: ['M9 3h6', 'M10 3v6l-3 4h10l-3-4V3', 'M12 13v8'],
  grip: ['M9 6h.01', 'M15 6h.01', 'M9 12h.01', 'M15 12h.01', 'M9 18h.01', 'M15 18h.01'],
  up: ['M12 19V5', 'M6 11l6-6l6 6'],
  down: ['M12 5v14', 'M6 13l6 6l6-6'],
  plus: ['M12 5v14', 'M5 12h14'],
  edit: ['M4 20h4L19 9l-4-4L4 16v4z', 'M13.5 6.5l4 4'],
  trash: ['M4 7h16', 'M9 7V4h6v3', 'M6 7l1 13h10l1-13'],
  key: ['M8 11a4 4 0 1 0 0 .01z', 'M11.5 10.5L20 10.5', 'M17 10.5v3', 'M20 10.5v3'],
  copy: ['M9 9h11v11H9z', 'M5 15H4V4h11v1'],
  play: ['M7 4.5v15l12-7.5z'],
  bolt: ['M13 2L4 14h7l-1 8l9-12h-7z'],
  arrow: ['M5 12h14', 'M13 6l6 6l-6 6'],
  signal: ['M5 12.5a10 10 0 0 1 14 0', 'M8.5 15.5a5 5 0 0 1 7 0', 'M12 19h.01'],
  terminal: ['M4 5h16v14H4z', 'M8 10l3 2.5L8 15', 'M13 15h3'],
  link: ['M10 14a4 4 0 0 0 5.5 0l3-3a4 4 0 0 0-5.5-5.5l-1 1', 'M14 10a4 4 0 0 0-5.5 0l-3 3a4 4 0 0 0 5.5 5.5l1-1'],
  undo: ['M9 14L4 9l5-5', 'M4 9h11a5 5 0 0 1 0 10h-3'],
  circle: ['M12 4a8 8 0 1 0 0 16a8 8 0 1 0 0-16z'],
};

/** An icon as inline SVG, hidden from assistive technology (the text next to it speaks). */
export function icon(name, cls = '') {
  const paths = ICONS[name] || ICONS.circle;
  return s('svg', {
    class: ['icon', cls], viewBox: '0 0 24 24', 'aria-hidden': 'true', focusable: 'false',
    fill: name === 'play' || name === 'bolt' ? 'currentColor' : 'none',
    stroke: 'currentColor', 'stroke-width': name === 'grip' ? '3.4' : '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round',
  }, paths.map((d) => s('path', { d })));
}

/** A button with an icon and a label (the label may be visually hidden). */
export function button(label, { icon: ic, cls = 'btn', hideLabel = false, ...attrs } = {}) {
  return h('button', { type: 'button', class: cls, ...(hideLabel ? { 'aria-label': label, title: label } : {}), ...attrs },
    ic ? icon(ic) : null,
    hideLabel ? null : h('span', { text: label }));
}

/** Say something to screen-reader users through the page's polite live region. */
export function announce(text) {
  const live = document.getElementById('sr-live');
  if (!live) return;
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 50);
}

/**
 * Wrap a render function so that bursts of updates (a request event per request under load)
 * draw once per frame; a hidden window draws nothing until it is shown again.
 */
export function perFrame(fn) {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      fn();
    });
  };
}
