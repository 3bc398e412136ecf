// The apps first-run setup can connect to Switchyard, as data: setup's first step lists them,
// its last step connects the chosen ones. An app is connected either automatically — the
// engine edits the app's own settings, merged and never clobbered, with an undo — or by hand:
// setup shows what to paste where.
//
// To add an app (Codex CLI and Gemini CLI come next, once the engine has an integration for
// each like Claude Code's `/api/integrations/claude-code`), add one entry here, its strings
// to ui/i18n/*.json, and nothing else: both steps and the browser test go through this list.

import { t } from './i18n.js';
import { api } from './api.js';

/**
 * @typedef {object} SetupClient
 * @property {string} id            stable id (also used in element ids: `setup-client-<id>`)
 * @property {string} name          the app's name (a proper name, not translated)
 * @property {() => string} about   one line: what Switchyard does for it
 * @property {object} [auto]        automatic setup: status(), configure(), undo() — each
 *                                  resolving to {configured, settings_path}
 * @property {(base: string) => {label: string, value: string, help: string}} [manual]
 *                                  setup by hand: what to paste, and where
 */

/** @type {SetupClient[]} */
export const CLIENTS = [
  {
    id: 'claude-code',
    name: 'Claude Code',
    about: () => t('setup.client_claude_code'),
    auto: {
      status: () => api.claudeCode(),
      configure: () => api.setupClaudeCode(false),
      undo: () => api.setupClaudeCode(true),
    },
  },
  {
    id: 'sillytavern',
    name: 'SillyTavern',
    about: () => t('setup.client_sillytavern'),
    manual: (base) => ({
      label: t('setup.sillytavern_label'),
      value: `${base}/v1`,
      help: t('setup.sillytavern_help'),
    }),
  },
  // Codex CLI and Gemini CLI: here, once their integrations exist in the engine.
];

/** The clients chosen by default: the one most people come for. */
export const DEFAULT_CLIENTS = ['claude-code'];

export function clientById(id) {
  return CLIENTS.find((c) => c.id === id);
}
