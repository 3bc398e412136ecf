// Formatting of times, durations, latencies, tokens and failover paths, in the current language.

import { t, num, language } from './i18n.js';

export function clock(iso) {
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(language(), { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d);
}

export function dateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeStyle: 'short' }).format(d);
}

/** "4h 12m", "3m 05s", "29s". */
export function duration(secs) {
  const s = Math.max(0, Math.round(secs));
  if (s >= 3600) return t('dur.hm', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) });
  if (s >= 60) return t('dur.ms', { m: Math.floor(s / 60), s: String(s % 60).padStart(2, '0') });
  return t('dur.s', { s });
}

/** Seconds until an ISO time (0 when past or missing). */
export function secondsUntil(iso) {
  if (!iso) return 0;
  return Math.max(0, (new Date(iso).getTime() - Date.now()) / 1000);
}

export function latency(ms) {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return t('unit.ms', { n: num(Math.round(ms)) });
  return t('unit.s', { n: num(ms / 1000, { maximumFractionDigits: ms < 10000 ? 2 : 1 }) });
}

export function tokens(n) {
  if (!n) return '0';
  if (n < 10000) return num(n);
  return num(n, { notation: 'compact', maximumFractionDigits: 1 });
}

// The engine's words for failure reasons (FailoverReason::describe) -> our translation keys.
const REASONS = {
  'rate limited': 'rate_limited', 'usage limit reached': 'usage_limit', 'out of credit': 'out_of_credit',
  'overloaded or failing': 'overloaded', 'key rejected': 'key_rejected', 'no key set': 'key_missing',
  unreachable: 'unreachable', 'timed out': 'timeout', 'error in stream': 'in_band_error',
  'empty answer': 'empty_answer', 'malformed answer': 'malformed',
  'cannot take this request': 'unsupported', 'answer too large': 'too_large',
  'no content in time': 'no_content',
  'conversation too long': 'context_overflow',
};

/** A reason code (`rate_limited`) in words. */
export function reason(code) {
  return code ? t(`reason.${code}`) : '';
}

/** An attempt's failure text ("rate limited: slow down") -> {code, detail}. */
export function splitFailure(text) {
  if (!text) return { code: null, detail: '' };
  const i = text.indexOf(':');
  const head = i < 0 ? text : text.slice(0, i);
  const code = REASONS[head.trim()] || null;
  return { code, detail: code ? text.slice(i + 1).trim() : text };
}

/**
 * The providers a request went through: [{provider, ok, mark}], e.g.
 * anthropic ✕429 → deepseek ✓.
 */
export function attemptPath(rec) {
  const out = (rec.attempts || []).map((a) => {
    const ok = !a.failure && (a.status ?? 200) < 400;
    return { provider: a.provider, ok, status: a.status, failure: a.failure };
  });
  return out;
}

/** Plain-text failover path for copy, titles and tests: "anthropic ✕429 → deepseek ✓". */
export function pathText(rec) {
  return attemptPath(rec)
    .map((a) => `${a.provider} ${a.ok ? '✓' : `✕${a.status ?? ''}`}`)
    .join(' → ');
}

/** The engine's key hint is "…1234": keep the characters, our texts draw the dots. */
export function last4(hint) {
  return String(hint || '').replace(/^[…. ]+/, '');
}
