//! What the tray shows, as plain data: [`tray_model`] turns the engine's status into labels,
//! check marks and an icon state. No Tauri here, so every state is unit-tested; `tray.rs`
//! only copies a model onto the real menu.

use chrono::{DateTime, FixedOffset, Utc};
use switchyard_core::config::Config;
use switchyard_core::Status;

use crate::i18n::{t, tf, Lang, Text};

pub use switchyard_core::routing::ProviderState;

/// One provider in a [`Snapshot`].
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderRow {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Routing state.
    pub state: ProviderState,
    /// End of the cooldown, when cooling down.
    pub cooldown_until: Option<DateTime<Utc>>,
}

pub use switchyard_core::Health;

/// The part of the engine's [`Status`] the tray depends on (plain data, easy to build in tests).
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Overall health.
    pub health: Health,
    /// Where the next request goes.
    pub current: Option<String>,
    /// The pinned provider.
    pub pinned: Option<String>,
    /// Every provider, in priority order.
    pub providers: Vec<ProviderRow>,
}

impl Snapshot {
    /// From the engine's status.
    pub fn from_status(s: &Status) -> Snapshot {
        Snapshot {
            health: s.status,
            current: s.current_provider.clone(),
            pinned: s.pinned.clone(),
            providers: s
                .providers
                .iter()
                .map(|p| ProviderRow {
                    id: p.status.id.clone(),
                    name: p.status.name.clone(),
                    state: if p.status.enabled {
                        p.status.state
                    } else {
                        ProviderState::Disabled
                    },
                    cooldown_until: p.status.cooldown_until,
                })
                .collect(),
        }
    }
}

/// Which tray icon to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconState {
    /// All is well.
    Normal,
    /// A backup serves.
    OnBackup,
    /// Nothing can serve (or the engine is not running).
    AllDown,
}

/// A check item: label and mark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// Label.
    pub label: String,
    /// Checked.
    pub checked: bool,
    /// Can be clicked.
    pub enabled: bool,
}

/// An app Switchyard can set up from the tray (the engine's one implementation each, through
/// [`switchyard_core::Handle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    /// Claude Code (`settings.json`).
    ClaudeCode,
    /// Codex CLI (`config.toml`).
    Codex,
    /// Gemini CLI (`~/.gemini/.env` and `settings.json`).
    GeminiCli,
}

impl Client {
    /// Every client, in menu order.
    pub const ALL: [Client; 3] = [Client::ClaudeCode, Client::Codex, Client::GeminiCli];

    /// Stable id (the menu item id).
    pub fn id(self) -> &'static str {
        match self {
            Client::ClaudeCode => "claude-code",
            Client::Codex => "codex",
            Client::GeminiCli => "gemini-cli",
        }
    }

    /// The client with this id.
    pub fn from_id(id: &str) -> Option<Client> {
        Client::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The app's name (a proper name: the same in every language).
    pub fn name(self) -> &'static str {
        match self {
            Client::ClaudeCode => "Claude Code",
            Client::Codex => "Codex CLI",
            Client::GeminiCli => "Gemini CLI",
        }
    }

    fn configured(self, prefs: Prefs) -> bool {
        match self {
            Client::ClaudeCode => prefs.claude_code_configured,
            Client::Codex => prefs.codex_configured,
            Client::GeminiCli => prefs.gemini_cli_configured,
        }
    }
}

/// A "Configure <app>" entry of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientItem {
    /// Which app.
    pub client: Client,
    /// Label; checked = Switchyard's setup is in the app's files (choosing it again undoes it).
    pub item: Check,
}

/// A provider entry of the menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderItem {
    /// Provider id (the menu item id is derived from it).
    pub id: String,
    /// Label and marks.
    pub item: Check,
}

/// Everything the tray menu shows, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayModel {
    /// Icon.
    pub icon: IconState,
    /// The first, disabled line.
    pub status_line: String,
    /// Providers, checked when pinned; the serving one (when not pinned) says "serving".
    pub providers: Vec<ProviderItem>,
    /// Checked when nothing is pinned.
    pub automatic: Check,
    /// "Open Switchyard".
    pub open: String,
    /// "Copy endpoint URL" (disabled when the engine is not running).
    pub copy: Check,
    /// "Configure Claude Code", "Configure Codex CLI", "Configure Gemini CLI", in
    /// [`Client::ALL`] order.
    pub clients: Vec<ClientItem>,
    /// "Start at login".
    pub start_at_login: Check,
    /// "Notify on failover".
    pub notify_failover: Check,
    /// "Quit".
    pub quit: String,
}

impl TrayModel {
    /// The provider ids, in menu order: when these change, the menu is rebuilt.
    pub fn provider_ids(&self) -> Vec<&str> {
        self.providers.iter().map(|p| p.id.as_str()).collect()
    }
}

/// Facts that come from outside the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Prefs {
    /// The OS starts Switchyard at login.
    pub start_at_login: bool,
    /// Claude Code's settings point at Switchyard.
    pub claude_code_configured: bool,
    /// Codex CLI's config points at Switchyard.
    pub codex_configured: bool,
    /// Gemini CLI's files point at Switchyard.
    pub gemini_cli_configured: bool,
}

/// `HH:MM` in the user's time zone.
pub fn clock(at: DateTime<Utc>, tz: &FixedOffset) -> String {
    at.with_timezone(tz).format("%H:%M").to_string()
}

/// The "Configure <app>" entries: checked when set up, clickable only with a running engine.
fn clients(lang: Lang, prefs: Prefs, enabled: bool) -> Vec<ClientItem> {
    Client::ALL
        .into_iter()
        .map(|c| ClientItem {
            client: c,
            item: check(
                tf(lang, Text::ConfigureClient, &[("name", c.name())]),
                c.configured(prefs),
                enabled,
            ),
        })
        .collect()
}

fn check(label: String, checked: bool, enabled: bool) -> Check {
    Check {
        label,
        checked,
        enabled,
    }
}

/// The tray for a running engine.
pub fn tray_model(
    snap: &Snapshot,
    cfg: &Config,
    lang: Lang,
    tz: &FixedOffset,
    prefs: Prefs,
) -> TrayModel {
    let name_of = |id: &str| {
        snap.providers
            .iter()
            .find(|p| p.id == id)
            .map(|p| p.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let enabled: Vec<&ProviderRow> = snap
        .providers
        .iter()
        .filter(|p| p.state != ProviderState::Disabled)
        .collect();
    let (icon, status_line) = match (&snap.current, snap.health) {
        _ if enabled.is_empty() => (IconState::AllDown, t(lang, Text::StatusNoProviders).into()),
        (None, _) | (_, Health::Down) => {
            let soonest = enabled.iter().filter_map(|p| p.cooldown_until).min();
            let line = match soonest {
                Some(at) => tf(lang, Text::StatusAllDownRetry, &[("time", &clock(at, tz))]),
                None => t(lang, Text::StatusAllDown).into(),
            };
            (IconState::AllDown, line)
        }
        (Some(cur), Health::Healthy) => {
            let text = if snap.pinned.as_deref() == Some(cur.as_str()) {
                Text::StatusPinned
            } else {
                Text::StatusActive
            };
            (
                IconState::Normal,
                tf(lang, text, &[("name", &name_of(cur))]),
            )
        }
        (Some(cur), Health::Degraded) => {
            // The provider that should be serving: the pinned one, else the first enabled.
            let wanted = snap
                .pinned
                .as_deref()
                .and_then(|id| enabled.iter().find(|p| p.id == id))
                .or_else(|| enabled.first())
                .copied();
            let to = name_of(cur);
            let line = match wanted {
                Some(w) if w.state == ProviderState::CoolingDown && w.cooldown_until.is_some() => {
                    let time = w.cooldown_until.map(|u| clock(u, tz)).unwrap_or_default();
                    tf(
                        lang,
                        Text::StatusBackupCooling,
                        &[("to", &to), ("from", &w.name), ("time", &time)],
                    )
                }
                Some(w) => tf(
                    lang,
                    Text::StatusBackupUnavailable,
                    &[("to", &to), ("from", &w.name)],
                ),
                None => tf(lang, Text::StatusActive, &[("name", &to)]),
            };
            (IconState::OnBackup, line)
        }
    };
    // The check mark means "pinned" (choosing an item pins it), so with Automatic on no provider
    // is checked; the one serving says so in its label instead.
    let pinned = snap.pinned.as_deref();
    let providers = snap
        .providers
        .iter()
        .map(|p| {
            let is_pinned = pinned == Some(p.id.as_str());
            let serving = snap.current.as_deref() == Some(p.id.as_str()) && !is_pinned;
            let label = match (p.state, p.cooldown_until) {
                (ProviderState::Available, _) if serving => {
                    tf(lang, Text::ProviderServing, &[("name", &p.name)])
                }
                (ProviderState::Available, _) => p.name.clone(),
                (ProviderState::CoolingDown, Some(u)) => tf(
                    lang,
                    Text::ProviderCooling,
                    &[("name", &p.name), ("time", &clock(u, tz))],
                ),
                (ProviderState::CoolingDown | ProviderState::Unhealthy, _) => {
                    tf(lang, Text::ProviderUnavailable, &[("name", &p.name)])
                }
                (ProviderState::Disabled, _) => {
                    tf(lang, Text::ProviderDisabled, &[("name", &p.name)])
                }
            };
            ProviderItem {
                id: p.id.clone(),
                item: check(label, is_pinned, p.state != ProviderState::Disabled),
            }
        })
        .collect();
    TrayModel {
        icon,
        status_line,
        providers,
        automatic: check(
            t(lang, Text::Automatic).into(),
            snap.pinned.is_none(),
            !enabled.is_empty(),
        ),
        open: t(lang, Text::Open).into(),
        copy: check(t(lang, Text::CopyEndpoint).into(), false, true),
        clients: clients(lang, prefs, true),
        start_at_login: check(
            t(lang, Text::StartAtLogin).into(),
            prefs.start_at_login,
            true,
        ),
        notify_failover: check(
            t(lang, Text::NotifyOnFailover).into(),
            cfg.notifications.failover,
            true,
        ),
        quit: t(lang, Text::Quit).into(),
    }
}

/// The tray when the engine did not start: the reason, "Open" (shows it in full) and "Quit".
pub fn not_running_model(error: &str, lang: Lang, prefs: Prefs) -> TrayModel {
    // A tray line has no room for a paragraph.
    let short: String = error.chars().take(90).collect();
    let short = if short.len() < error.len() {
        format!("{short}…")
    } else {
        short
    };
    TrayModel {
        icon: IconState::AllDown,
        status_line: tf(lang, Text::StatusNotRunning, &[("error", &short)]),
        providers: Vec::new(),
        automatic: check(t(lang, Text::Automatic).into(), true, false),
        open: t(lang, Text::Open).into(),
        copy: check(t(lang, Text::CopyEndpoint).into(), false, false),
        clients: clients(lang, prefs, false),
        start_at_login: check(
            t(lang, Text::StartAtLogin).into(),
            prefs.start_at_login,
            true,
        ),
        notify_failover: check(t(lang, Text::NotifyOnFailover).into(), false, false),
        quit: t(lang, Text::Quit).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn tz() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).expect("offset")
    }

    /// 14:05 in UTC+8.
    fn at_1405() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, 6, 5, 0)
            .single()
            .expect("time")
    }

    fn row(id: &str, name: &str, state: ProviderState) -> ProviderRow {
        ProviderRow {
            id: id.into(),
            name: name.into(),
            state,
            cooldown_until: (state == ProviderState::CoolingDown).then(at_1405),
        }
    }

    fn snap(health: Health, current: Option<&str>, rows: Vec<ProviderRow>) -> Snapshot {
        Snapshot {
            health,
            current: current.map(String::from),
            pinned: None,
            providers: rows,
        }
    }

    fn two(claude: ProviderState, deepseek: ProviderState) -> Vec<ProviderRow> {
        vec![
            row("claude", "Claude", claude),
            row("deepseek", "DeepSeek", deepseek),
        ]
    }

    fn checked(m: &TrayModel) -> Vec<&str> {
        m.providers
            .iter()
            .filter(|p| p.item.checked)
            .map(|p| p.id.as_str())
            .collect()
    }

    #[test]
    fn healthy() {
        let s = snap(
            Health::Healthy,
            Some("claude"),
            two(ProviderState::Available, ProviderState::Available),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.icon, IconState::Normal);
        assert_eq!(m.status_line, "Active: Claude");
        // Automatic: nothing looks pinned; the serving provider says so.
        assert!(checked(&m).is_empty());
        assert_eq!(m.providers[0].item.label, "Claude — serving");
        assert_eq!(m.providers[1].item.label, "DeepSeek");
        assert!(m.automatic.checked && m.automatic.enabled);
        assert!(m.notify_failover.checked, "the default config notifies");
        assert!(!m.start_at_login.checked);
        assert_eq!(m.provider_ids(), ["claude", "deepseek"]);
        assert_eq!(m.quit, "Quit");
    }

    #[test]
    fn on_backup_with_cooldown_time_in_both_languages() {
        let s = snap(
            Health::Degraded,
            Some("deepseek"),
            two(ProviderState::CoolingDown, ProviderState::Available),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.icon, IconState::OnBackup);
        assert_eq!(
            m.status_line,
            "On backup: DeepSeek — Claude cooling down until 14:05"
        );
        assert!(checked(&m).is_empty(), "a backup serving is not a pin");
        assert_eq!(m.providers[1].item.label, "DeepSeek — serving");
        assert_eq!(
            m.providers[0].item.label,
            "Claude (cooling down until 14:05)"
        );
        assert!(
            m.providers[0].item.enabled,
            "a cooling provider can be pinned"
        );

        let zh = tray_model(&s, &Config::default(), Lang::ZhCn, &tz(), Prefs::default());
        assert_eq!(
            zh.status_line,
            "使用备用：DeepSeek — Claude 冷却中，14:05 恢复"
        );
        assert_eq!(zh.automatic.label, "自动");
        assert_eq!(zh.providers[1].item.label, "DeepSeek — 正在使用");
        assert_eq!(zh.quit, "退出");
    }

    #[test]
    fn on_backup_without_a_known_end() {
        let s = snap(
            Health::Degraded,
            Some("deepseek"),
            two(ProviderState::Unhealthy, ProviderState::Available),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.status_line, "On backup: DeepSeek — Claude unavailable");
        assert_eq!(m.providers[0].item.label, "Claude (unavailable)");
    }

    #[test]
    fn all_down_with_and_without_retry_time() {
        let s = snap(
            Health::Down,
            None,
            two(ProviderState::CoolingDown, ProviderState::Unhealthy),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.icon, IconState::AllDown);
        assert_eq!(m.status_line, "All providers down — next retry at 14:05");
        assert!(checked(&m).is_empty());

        let s = snap(
            Health::Down,
            None,
            two(ProviderState::Unhealthy, ProviderState::Unhealthy),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.status_line, "All providers down");
    }

    #[test]
    fn pinned() {
        let mut s = snap(
            Health::Healthy,
            Some("deepseek"),
            two(ProviderState::Available, ProviderState::Available),
        );
        s.pinned = Some("deepseek".into());
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.icon, IconState::Normal);
        assert_eq!(m.status_line, "Pinned: DeepSeek");
        assert_eq!(checked(&m), ["deepseek"]);
        assert_eq!(
            m.providers[1].item.label, "DeepSeek",
            "the check already says it"
        );
        assert!(!m.automatic.checked);

        // The pinned provider cools down and the fallback serves.
        s.health = Health::Degraded;
        s.current = Some("claude".into());
        s.providers = two(ProviderState::Available, ProviderState::CoolingDown);
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(
            m.status_line,
            "On backup: Claude — DeepSeek cooling down until 14:05"
        );
        // Still pinned (checked) while another provider stands in for it.
        assert_eq!(checked(&m), ["deepseek"]);
        assert_eq!(m.providers[0].item.label, "Claude — serving");
    }

    #[test]
    fn disabled_providers_are_shown_but_not_clickable() {
        let s = snap(
            Health::Healthy,
            Some("deepseek"),
            two(ProviderState::Disabled, ProviderState::Available),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.status_line, "Active: DeepSeek");
        assert_eq!(m.providers[0].item.label, "Claude (disabled)");
        assert!(!m.providers[0].item.enabled);
        assert!(m.providers[1].item.enabled);

        let s = snap(
            Health::Down,
            None,
            two(ProviderState::Disabled, ProviderState::Disabled),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        assert_eq!(m.status_line, "No provider is enabled");
        assert_eq!(m.icon, IconState::AllDown);
        assert!(!m.automatic.enabled);
    }

    #[test]
    fn prefs_and_config_switches_show_as_checks() {
        let s = snap(
            Health::Healthy,
            Some("claude"),
            two(ProviderState::Available, ProviderState::Available),
        );
        let mut cfg = Config::default();
        cfg.notifications.failover = false;
        let prefs = Prefs {
            start_at_login: true,
            claude_code_configured: true,
            ..Prefs::default()
        };
        let m = tray_model(&s, &cfg, Lang::En, &tz(), prefs);
        assert!(!m.notify_failover.checked);
        assert!(m.start_at_login.checked);
        assert_eq!(configured(&m), [Client::ClaudeCode]);
    }

    fn configured(m: &TrayModel) -> Vec<Client> {
        m.clients
            .iter()
            .filter(|c| c.item.checked)
            .map(|c| c.client)
            .collect()
    }

    #[test]
    fn every_client_has_its_entry_checked_by_its_own_state() {
        let s = snap(
            Health::Healthy,
            Some("claude"),
            two(ProviderState::Available, ProviderState::Available),
        );
        let m = tray_model(&s, &Config::default(), Lang::En, &tz(), Prefs::default());
        let labels: Vec<&str> = m.clients.iter().map(|c| c.item.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Configure Claude Code",
                "Configure Codex CLI",
                "Configure Gemini CLI"
            ]
        );
        assert!(configured(&m).is_empty());
        assert!(m.clients.iter().all(|c| c.item.enabled));

        for (prefs, want) in [
            (
                Prefs {
                    codex_configured: true,
                    ..Prefs::default()
                },
                vec![Client::Codex],
            ),
            (
                Prefs {
                    gemini_cli_configured: true,
                    ..Prefs::default()
                },
                vec![Client::GeminiCli],
            ),
            (
                Prefs {
                    claude_code_configured: true,
                    codex_configured: true,
                    gemini_cli_configured: true,
                    start_at_login: false,
                },
                Client::ALL.to_vec(),
            ),
        ] {
            let m = tray_model(&s, &Config::default(), Lang::En, &tz(), prefs);
            assert_eq!(configured(&m), want, "{prefs:?}");
            assert!(!m.start_at_login.checked);
        }

        let zh = tray_model(&s, &Config::default(), Lang::ZhCn, &tz(), Prefs::default());
        let labels: Vec<&str> = zh.clients.iter().map(|c| c.item.label.as_str()).collect();
        assert_eq!(
            labels,
            ["配置 Claude Code", "配置 Codex CLI", "配置 Gemini CLI"]
        );
    }

    #[test]
    fn client_ids_round_trip() {
        for c in Client::ALL {
            assert_eq!(Client::from_id(c.id()), Some(c));
        }
        assert_eq!(Client::from_id("claude"), None);
    }

    #[test]
    fn not_running_shows_the_reason_short() {
        let long = "cannot listen on 127.0.0.1:3535: the port is already in use (is another Switchyard running? change `listen` in the config or pass --listen 127.0.0.1:PORT)";
        let m = not_running_model(long, Lang::En, Prefs::default());
        assert_eq!(m.icon, IconState::AllDown);
        assert!(m
            .status_line
            .starts_with("Not running: cannot listen on 127.0.0.1:3535"));
        assert!(m.status_line.ends_with('…'));
        assert!(m.providers.is_empty());
        assert!(!m.copy.enabled);
        assert!(
            m.clients.iter().all(|c| !c.item.enabled),
            "no engine: nothing to set up"
        );
        // The marks follow the prefs as given.
        let prefs = Prefs {
            gemini_cli_configured: true,
            ..Prefs::default()
        };
        let m = not_running_model("boom", Lang::En, prefs);
        assert_eq!(configured(&m), [Client::GeminiCli]);
    }
}
