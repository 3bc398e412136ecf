// Tabs with the WAI-ARIA pattern: arrow keys, Home and End move between tabs (roving
// tabindex), the URL hash remembers the screen (#providers), Back/Forward work.

const listeners = new Set();
let tabs = [];

export const TAB_IDS = ['status', 'providers', 'routing', 'requests', 'usage', 'integrations', 'settings'];

export function onTab(fn) {
  listeners.add(fn);
}

export function currentTab() {
  return tabs.find((b) => b.getAttribute('aria-selected') === 'true')?.dataset.tab || 'status';
}

/** Show a screen. `focus`: move the keyboard focus to its tab. */
export function selectTab(id, focus = false, updateHash = true) {
  if (!TAB_IDS.includes(id)) id = 'status';
  for (const b of tabs) {
    const on = b.dataset.tab === id;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
    const panel = document.getElementById(b.getAttribute('aria-controls'));
    if (panel) panel.hidden = !on;
    if (on && focus) b.focus();
    if (on) b.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  }
  if (updateHash && location.hash !== `#${id}`) history.pushState(null, '', `#${id}`);
  for (const fn of listeners) fn(id);
}

export function mountTabs(list) {
  tabs = [...list.querySelectorAll('[role=tab]')];
  for (const b of tabs) {
    b.addEventListener('click', () => selectTab(b.dataset.tab));
    b.addEventListener('keydown', (e) => {
      const i = tabs.indexOf(b);
      let next = null;
      if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = tabs[(i + 1) % tabs.length];
      else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = tabs[(i - 1 + tabs.length) % tabs.length];
      else if (e.key === 'Home') next = tabs[0];
      else if (e.key === 'End') next = tabs[tabs.length - 1];
      if (next) {
        e.preventDefault();
        selectTab(next.dataset.tab, true);
      }
    });
  }
  window.addEventListener('popstate', () => selectTab(location.hash.slice(1), false, false));
  selectTab(location.hash.slice(1) || 'status', false, false);
}
