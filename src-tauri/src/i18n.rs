//! Every string the tray and the notifications show, in English and Simplified Chinese.
//!
//! The web UI has its own tables (`ui/i18n/*.json`); the shell keeps this small one so that the
//! tray works before (and without) the UI. Templates use `{name}` placeholders, filled by
//! [`fill`].

use switchyard_core::FailoverReason;

/// A language the shell speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English (the fallback).
    En,
    /// Simplified Chinese.
    ZhCn,
}

impl Lang {
    /// A BCP-47-ish tag (`zh-CN`, `zh_CN.UTF-8`, `en-US`) to a language we have, if any.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let t = tag.trim().to_ascii_lowercase().replace('_', "-");
        if t.is_empty() || t == "c" || t == "posix" {
            return None;
        }
        if t.starts_with("zh") {
            return Some(Lang::ZhCn);
        }
        if t.starts_with("en") {
            return Some(Lang::En);
        }
        None
    }

    /// The configured language (`config.ui.language`), else the system's, else English.
    ///
    /// The system language comes from the POSIX locale variables; on macOS and Windows, where
    /// GUI apps rarely get them, the fallback is English unless the config says otherwise.
    pub fn resolve(configured: &str) -> Lang {
        if let Some(l) = Lang::from_tag(configured) {
            return l;
        }
        ["LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .and_then(|v| Lang::from_tag(v.split(':').next().unwrap_or_default()))
            .unwrap_or(Lang::En)
    }
}

/// A string the shell shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    /// `{name}`
    StatusActive,
    /// `{name}`
    StatusPinned,
    /// `{to}`, `{from}`, `{time}`
    StatusBackupCooling,
    /// `{to}`, `{from}`
    StatusBackupUnavailable,
    /// No placeholder.
    StatusAllDown,
    /// `{time}`
    StatusAllDownRetry,
    /// No placeholder.
    StatusNoProviders,
    /// `{error}`
    StatusNotRunning,
    /// `{name}`, `{time}`
    ProviderCooling,
    /// `{name}`
    ProviderUnavailable,
    /// `{name}`
    ProviderDisabled,
    /// `{name}`: the provider serving while nothing is pinned.
    ProviderServing,
    /// Menu item.
    Automatic,
    /// Menu item.
    Open,
    /// Menu item.
    CopyEndpoint,
    /// Menu item: `{name}` (an app Switchyard can set up).
    ConfigureClient,
    /// Menu item.
    StartAtLogin,
    /// Menu item.
    NotifyOnFailover,
    /// Menu item.
    Quit,
    /// Notification title: `{to}`
    FailoverTitle,
    /// Notification body: `{from}`, `{to}`, `{reason}`, `{time}`
    FailoverBody,
    /// Notification body without a retry time: `{from}`, `{to}`, `{reason}`
    FailoverBodyNoTime,
    /// Notification title: `{name}`
    RecoveredTitle,
    /// Notification body: `{name}`, `{from}`
    RecoveredBody,
    /// Notification body when nothing was replaced: `{name}`
    RecoveredBodyPlain,
    /// Notification title.
    AllDownTitle,
    /// Notification body: `{time}`
    AllDownBody,
    /// Notification body without a retry time.
    AllDownBodyNoTime,
    /// Notification title: `{name}`
    KeyProblemTitle,
    /// Notification body: `{name}`, `{reason}`
    KeyProblemBody,
    /// Notification title.
    NotStartedTitle,
    /// Notification title: `{name}` (an app Switchyard set up).
    ClientConfiguredTitle,
    /// Notification body: `{url}`, `{path}`
    ClaudeCodeConfiguredBody,
    /// Notification body: `{url}`, `{path}`, `{var}` (the variable Codex sends as its key)
    CodexConfiguredBody,
    /// Notification body: `{url}`, `{path}`
    GeminiCliConfiguredBody,
    /// Notification title: `{name}` (an app whose files were put back).
    ClientRestoredTitle,
    /// Notification body: `{path}`
    ClientRestoredBody,
    /// Notification title.
    ActionFailedTitle,
    /// Notification title: `{name}`
    BudgetDayTitle,
    /// Notification title: `{name}`
    BudgetMonthTitle,
    /// Notification body: `{name}`, `{spent}`, `{limit}`
    BudgetDayBody,
    /// Notification body: `{name}`, `{spent}`, `{limit}`
    BudgetMonthBody,
}

/// The template for `text` in `lang`.
pub fn t(lang: Lang, text: Text) -> &'static str {
    use Text::*;
    match lang {
        Lang::En => match text {
            StatusActive => "Active: {name}",
            StatusPinned => "Pinned: {name}",
            StatusBackupCooling => "On backup: {to} — {from} cooling down until {time}",
            StatusBackupUnavailable => "On backup: {to} — {from} unavailable",
            StatusAllDown => "All providers down",
            StatusAllDownRetry => "All providers down — next retry at {time}",
            StatusNoProviders => "No provider is enabled",
            StatusNotRunning => "Not running: {error}",
            ProviderCooling => "{name} (cooling down until {time})",
            ProviderUnavailable => "{name} (unavailable)",
            ProviderDisabled => "{name} (disabled)",
            ProviderServing => "{name} — serving",
            Automatic => "Automatic",
            Open => "Open Switchyard",
            CopyEndpoint => "Copy endpoint URL",
            ConfigureClient => "Configure {name}",
            StartAtLogin => "Start at login",
            NotifyOnFailover => "Notify on failover",
            Quit => "Quit",
            FailoverTitle => "Switched to {to}",
            FailoverBody => "{from} → {to}: {reason}, retry at {time}",
            FailoverBodyNoTime => "{from} → {to}: {reason}",
            RecoveredTitle => "Back on {name}",
            RecoveredBody => "{from} → {name}: {name} has recovered",
            RecoveredBodyPlain => "{name} has recovered",
            AllDownTitle => "All providers down",
            AllDownBody => "No provider can answer right now; the next retry is at {time}.",
            AllDownBodyNoTime => "No provider can answer right now.",
            KeyProblemTitle => "Key problem: {name}",
            KeyProblemBody => "{name}: {reason}. Open Switchyard to enter a key.",
            NotStartedTitle => "Switchyard could not start",
            ClientConfiguredTitle => "{name} now uses Switchyard",
            ClaudeCodeConfiguredBody => "ANTHROPIC_BASE_URL = {url} in {path}",
            CodexConfiguredBody => "Provider “switchyard” at {url} in {path}. Codex sends ${var} as its key; `switchyard codex` sets it for you.",
            GeminiCliConfiguredBody => "GOOGLE_GEMINI_BASE_URL = {url} in {path}",
            ClientRestoredTitle => "{name} settings restored",
            ClientRestoredBody => "{path} is back as it was",
            ActionFailedTitle => "Switchyard: that did not work",
            BudgetDayTitle => "{name} is over its daily budget",
            BudgetMonthTitle => "{name} is over its monthly budget",
            BudgetDayBody => "{name} cost about ${spent} today (budget ${limit}); it is skipped until 00:00 UTC.",
            BudgetMonthBody => "{name} cost about ${spent} this month (budget ${limit}); it is skipped until the 1st (UTC).",
        },
        Lang::ZhCn => match text {
            StatusActive => "当前：{name}",
            StatusPinned => "已固定：{name}",
            StatusBackupCooling => "使用备用：{to} — {from} 冷却中，{time} 恢复",
            StatusBackupUnavailable => "使用备用：{to} — {from} 不可用",
            StatusAllDown => "所有服务商均不可用",
            StatusAllDownRetry => "所有服务商均不可用 — {time} 重试",
            StatusNoProviders => "没有启用的服务商",
            StatusNotRunning => "未运行：{error}",
            ProviderCooling => "{name}（冷却中，{time} 恢复）",
            ProviderUnavailable => "{name}（不可用）",
            ProviderDisabled => "{name}（已停用）",
            ProviderServing => "{name} — 正在使用",
            Automatic => "自动",
            Open => "打开 Switchyard",
            CopyEndpoint => "复制接口地址",
            ConfigureClient => "配置 {name}",
            StartAtLogin => "登录时启动",
            NotifyOnFailover => "故障转移时通知",
            Quit => "退出",
            FailoverTitle => "已切换到 {to}",
            FailoverBody => "{from} → {to}：{reason}，{time} 重试",
            FailoverBodyNoTime => "{from} → {to}：{reason}",
            RecoveredTitle => "已恢复使用 {name}",
            RecoveredBody => "{from} → {name}：{name} 已恢复",
            RecoveredBodyPlain => "{name} 已恢复",
            AllDownTitle => "所有服务商均不可用",
            AllDownBody => "目前没有服务商可以应答，{time} 重试。",
            AllDownBodyNoTime => "目前没有服务商可以应答。",
            KeyProblemTitle => "密钥问题：{name}",
            KeyProblemBody => "{name}：{reason}。请打开 Switchyard 输入密钥。",
            NotStartedTitle => "Switchyard 无法启动",
            ClientConfiguredTitle => "{name} 已改用 Switchyard",
            ClaudeCodeConfiguredBody => "{path} 中 ANTHROPIC_BASE_URL = {url}",
            CodexConfiguredBody => "{path} 中的服务商 “switchyard” 指向 {url}。Codex 以 ${var} 作为密钥发送；`switchyard codex` 会替你设置。",
            GeminiCliConfiguredBody => "{path} 中 GOOGLE_GEMINI_BASE_URL = {url}",
            ClientRestoredTitle => "{name} 设置已还原",
            ClientRestoredBody => "{path} 已恢复原样",
            ActionFailedTitle => "Switchyard：操作失败",
            BudgetDayTitle => "{name} 已超出每日预算",
            BudgetMonthTitle => "{name} 已超出每月预算",
            BudgetDayBody => "{name} 今日费用约 ${spent}（预算 ${limit}），在 UTC 0 点前将被跳过。",
            BudgetMonthBody => "{name} 本月费用约 ${spent}（预算 ${limit}），在下月 1 日（UTC）前将被跳过。",
        },
    }
}

/// Why a provider was left, in words for a person.
pub fn reason(lang: Lang, r: FailoverReason) -> &'static str {
    use FailoverReason::*;
    match lang {
        Lang::En => r.describe(),
        Lang::ZhCn => match r {
            RateLimited => "触发速率限制",
            UsageLimit => "已达用量上限",
            OutOfCredit => "余额不足",
            Overloaded => "过载或出错",
            KeyRejected => "密钥被拒绝",
            KeyMissing => "未设置密钥",
            Unreachable => "无法连接",
            Timeout => "超时",
            InBandError => "流中返回错误",
            EmptyAnswer => "空回答",
            Malformed => "回答格式错误",
            Unsupported => "无法处理此请求",
            TooLarge => "回答过大",
            NoContent => "未及时返回内容",
            ContextOverflow => "对话超出上下文窗口",
            Loop => "地址绕回了 Switchyard 自身",
            // A reason added to the engine after this table: English until translated.
            #[allow(unreachable_patterns)]
            other => other.describe(),
        },
    }
}

/// `template` with every `{key}` replaced by its value.
pub fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// [`t`] then [`fill`].
pub fn tf(lang: Lang, text: Text, args: &[(&str, &str)]) -> String {
    fill(t(lang, text), args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_resolve() {
        assert_eq!(Lang::from_tag("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_tag("zh_CN.UTF-8"), Some(Lang::ZhCn));
        assert_eq!(Lang::from_tag("en_US.UTF-8"), Some(Lang::En));
        assert_eq!(Lang::from_tag(""), None);
        assert_eq!(Lang::from_tag("C"), None);
        assert_eq!(Lang::from_tag("fr_FR"), None);
        assert_eq!(Lang::resolve("zh-CN"), Lang::ZhCn);
    }

    #[test]
    fn every_text_has_both_languages_and_placeholders_match() {
        use Text::*;
        let all = [
            StatusActive,
            StatusPinned,
            StatusBackupCooling,
            StatusBackupUnavailable,
            StatusAllDown,
            StatusAllDownRetry,
            StatusNoProviders,
            StatusNotRunning,
            ProviderCooling,
            ProviderUnavailable,
            ProviderDisabled,
            ProviderServing,
            Automatic,
            Open,
            CopyEndpoint,
            ConfigureClient,
            StartAtLogin,
            NotifyOnFailover,
            Quit,
            FailoverTitle,
            FailoverBody,
            FailoverBodyNoTime,
            RecoveredTitle,
            RecoveredBody,
            RecoveredBodyPlain,
            AllDownTitle,
            AllDownBody,
            AllDownBodyNoTime,
            KeyProblemTitle,
            KeyProblemBody,
            NotStartedTitle,
            ClientConfiguredTitle,
            ClaudeCodeConfiguredBody,
            CodexConfiguredBody,
            GeminiCliConfiguredBody,
            ClientRestoredTitle,
            ClientRestoredBody,
            ActionFailedTitle,
            BudgetDayTitle,
            BudgetMonthTitle,
            BudgetDayBody,
            BudgetMonthBody,
        ];
        let holes = |s: &str| {
            let mut v: Vec<String> = s
                .split('{')
                .skip(1)
                .filter_map(|p| p.split_once('}').map(|(k, _)| k.to_string()))
                .collect();
            v.sort();
            v.dedup();
            v
        };
        for text in all {
            let en = t(Lang::En, text);
            let zh = t(Lang::ZhCn, text);
            assert!(!en.is_empty() && !zh.is_empty(), "{text:?}");
            assert_eq!(holes(en), holes(zh), "{text:?}");
        }
    }

    #[test]
    fn fill_replaces_every_occurrence() {
        assert_eq!(
            tf(
                Lang::En,
                Text::RecoveredBody,
                &[("name", "A"), ("from", "B")]
            ),
            "B → A: A has recovered"
        );
    }
}
