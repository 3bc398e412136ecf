// The apps first-run setup can connect to Switchyard, as data: setup's first step lists them,
// its last step connects the chosen ones. An app is connected either automatically — the
// engine edits the app's own settings, merged and never clobbered, with an undo — or by hand:
// setup shows what to paste where.
//
// To add an app, add one entry here, its strings to ui/i18n/*.json, and nothing else: both
// steps and the browser test go through this list.

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
  {
    id: 'codex',
    name: 'Codex CLI',
    about: () => t('setup.client_codex'),
    auto: {
      // The engine names Codex's file `config_path`; setup shows `settings_path`.
      status: () => api.codex().then((r) => ({ ...r, settings_path: r.config_path })),
      configure: () => api.setupCodex(false).then((r) => ({ ...r, settings_path: r.config_path })),
      undo: () => api.setupCodex(true).then((r) => ({ ...r, settings_path: r.config_path })),
    },
  },
  {
    id: 'gemini-cli',
    name: 'Gemini CLI',
    about: () => t('setup.client_gemini_cli'),
    auto: {
      // Gemini CLI's files live in one directory (`.env` and `settings.json`): setup shows it.
      status: () => api.geminiCli().then((r) => ({ ...r, settings_path: r.dir })),
      configure: () => api.setupGeminiCli(false).then((r) => ({ ...r, settings_path: r.dir })),
      undo: () => api.setupGeminiCli(true).then((r) => ({ ...r, settings_path: r.dir })),
    },
  },
];

/** The clients chosen by default: the one most people come for. */
export const DEFAULT_CLIENTS = ['claude-code'];

export function clientById(id) {
  return CLIENTS.find((c) => c.id === id);
}
