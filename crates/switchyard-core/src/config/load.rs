//! Reading and validating a config, with errors that name the file, line and field.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use super::schema::{looks_like_key, Config};

/// A config that was read, and where from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The validated config.
    pub config: Config,
    /// The file it came from; `None` for the embedded default.
    pub path: Option<PathBuf>,
}

/// A config that cannot be used, located as precisely as we can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// The file, when there is one.
    pub file: Option<PathBuf>,
    /// 1-based line and column.
    pub line: Option<(usize, usize)>,
    /// Dotted field path, e.g. `providers[1].base_url`.
    pub field: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line) {
            (Some(p), Some((l, c))) => write!(f, "{}:{l}:{c}: ", p.display())?,
            (Some(p), None) => write!(f, "{}: ", p.display())?,
            (None, Some((l, c))) => write!(f, "line {l}:{c}: ")?,
            (None, None) => {}
        }
        if let Some(field) = &self.field {
            write!(f, "`{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The default config path: `$SWITCHYARD_CONFIG`, else `<platform config dir>/switchyard/config.toml`.
pub fn default_config_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SWITCHYARD_CONFIG") {
        return Some(PathBuf::from(p));
    }
    dirs::config_dir().map(|d| d.join("switchyard").join("config.toml"))
}

/// Read and validate a config file.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: Some(path.to_path_buf()),
        line: None,
        field: None,
        message: format!("cannot read the config file: {e}"),
    })?;
    parse_str(&text, Some(path))
}

/// One step of a path into the document.
#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
}

fn path_string(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(k);
            }
            Seg::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
    (line, col)
}

/// Find the byte span of the key (or value) a path names.
fn locate(doc: &toml_edit::Document<&str>, path: &[Seg]) -> Option<usize> {
    let mut item = doc.as_item();
    let mut best = None;
    for seg in path {
        match seg {
            Seg::Key(k) => {
                let table = item.as_table_like()?;
                let (key, next) = table.get_key_value(k)?;
                best = key.span().or_else(|| next.span()).map(|r| r.start).or(best);
                item = next;
            }
            Seg::Index(i) => {
                let next = item.get(*i)?;
                best = next
                    .span()
                    .or_else(|| next.as_table().and_then(|t| t.span()))
                    .map(|r| r.start)
                    .or(best);
                item = next;
            }
        }
    }
    best
}

struct Ctx<'a> {
    text: &'a str,
    file: Option<&'a Path>,
    doc: Option<toml_edit::Document<&'a str>>,
}

impl Ctx<'_> {
    fn error(&self, path: &[Seg], message: impl Into<String>) -> ConfigError {
        let line = self
            .doc
            .as_ref()
            .and_then(|d| locate(d, path))
            .map(|off| line_col(self.text, off));
        ConfigError {
            file: self.file.map(Path::to_path_buf),
            line,
            field: (!path.is_empty()).then(|| path_string(path)),
            message: message.into(),
        }
    }
}

/// Parse and validate config text. `file` is only used to name it in errors.
pub fn parse_str(text: &str, file: Option<&Path>) -> Result<Config, ConfigError> {
    let doc = toml_edit::Document::parse(text).map_err(|e| ConfigError {
        file: file.map(Path::to_path_buf),
        line: e.span().map(|s| line_col(text, s.start)),
        field: None,
        message: format!("not valid TOML: {}", e.message().trim()),
    })?;
    let cx = Ctx {
        text,
        file,
        doc: Some(doc),
    };
    refuse_literal_keys(&cx)?;
    let config: Config = toml::from_str(text).map_err(|e| ConfigError {
        file: file.map(Path::to_path_buf),
        line: e.span().map(|s| line_col(text, s.start)),
        field: None,
        message: e.message().trim().to_string(),
    })?;
    validate_in(&config, &cx)?;
    Ok(config)
}

/// Largest key pool a provider may have.
pub const MAX_KEYS: u32 = 16;

/// Names under which people paste keys into provider tables.
const KEY_FIELDS: &[&str] = &["api_key", "apikey", "key", "token", "secret", "auth_token"];

fn refuse_literal_keys(cx: &Ctx<'_>) -> Result<(), ConfigError> {
    let Some(doc) = &cx.doc else { return Ok(()) };
    let Some(providers) = doc.get("providers").and_then(|p| p.as_array_of_tables()) else {
        return Ok(());
    };
    for (i, table) in providers.iter().enumerate() {
        for field in KEY_FIELDS {
            if table.contains_key(field) {
                let id = table
                    .get("id")
                    .and_then(|v| v.as_str())
                    .unwrap_or("<provider-id>");
                return Err(cx.error(
                    &[Seg::Key("providers".into()), Seg::Index(i), Seg::Key((*field).into())],
                    format!(
                        "keys never go in the config file. Remove this line, store the key with \
                         `switchyard keys set {id}` (OS keychain) and set credential = \"keychain\" \
                         (or credential = \"env:VAR\")"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Provider ids that are names of Switchyard's own keychain entries (a provider's key is stored
/// under its id).
const RESERVED_IDS: &[&str] = &["access-token", "redis"];

/// Validate a config that did not come from a file (e.g. the admin API): everything `serve`
/// checks but reading the keychain and the environment.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    let cx = Ctx {
        text: "",
        file: None,
        doc: None,
    };
    validate_in(config, &cx)
}

fn validate_in(config: &Config, cx: &Ctx<'_>) -> Result<(), ConfigError> {
    let p = |i: usize, f: &str| {
        vec![
            Seg::Key("providers".into()),
            Seg::Index(i),
            Seg::Key(f.into()),
        ]
    };
    if config.providers.is_empty() {
        return Err(cx.error(
            &[Seg::Key("providers".into())],
            "no providers: add at least one [[providers]] table (see the config reference in the README)",
        ));
    }
    let mut names = HashSet::new();
    for (i, t) in config.security.tokens.iter().enumerate() {
        let at = [
            Seg::Key("security".into()),
            Seg::Key("tokens".into()),
            Seg::Index(i),
            Seg::Key("name".into()),
        ];
        if !super::schema::valid_token_name(&t.name) {
            let msg = format!(
                "token name {:?} must be 1-64 characters of a-z, 0-9, - and _",
                t.name
            );
            return Err(cx.error(&at, msg));
        }
        if !names.insert(t.name.as_str()) {
            return Err(cx.error(&at, format!("duplicate token name {:?}", t.name)));
        }
    }
    let mut seen = HashSet::new();
    for (i, prov) in config.providers.iter().enumerate() {
        let id_ok = !prov.id.is_empty()
            && prov.id.len() <= 64
            && prov
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(cx.error(
                &p(i, "id"),
                format!(
                    "provider id {:?} must be 1-64 characters of a-z, 0-9 and -",
                    prov.id
                ),
            ));
        }
        if prov.id == "auto" {
            return Err(cx.error(&p(i, "id"), "\"auto\" is reserved (it means: unpin)"));
        }
        if let Some(own) = RESERVED_IDS.iter().find(|r| **r == prov.id) {
            return Err(cx.error(
                &p(i, "id"),
                format!("{own:?} is the name of one of Switchyard's own secrets in the keychain: choose another id"),
            ));
        }
        if !seen.insert(prov.id.as_str()) {
            return Err(cx.error(&p(i, "id"), format!("duplicate provider id {:?}", prov.id)));
        }
        match reqwest::Url::parse(&prov.base_url) {
            // Never echo it: the URL holds a secret.
            Ok(u) if u.password().is_some() || !u.username().is_empty() => {
                return Err(cx.error(
                    &p(i, "base_url"),
                    format!(
                        "base_url must not carry a user name or password (they would be stored and shown in plain text): write {}://{}{} and keep the key in the keychain (credential = \"keychain\", then `switchyard keys set {}`)",
                        u.scheme(),
                        u.host_str().unwrap_or("host"),
                        u.port().map(|p| format!(":{p}")).unwrap_or_default(),
                        prov.id
                    ),
                ))
            }
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {
                if u.query().is_some() || u.fragment().is_some() {
                    return Err(cx.error(
                        &p(i, "base_url"),
                        "base_url must not have a query or fragment",
                    ));
                }
            }
            Ok(_) => {
                return Err(cx.error(
                    &p(i, "base_url"),
                    format!(
                        "base_url {:?} must be an http:// or https:// URL",
                        prov.base_url
                    ),
                ))
            }
            Err(e) => {
                return Err(cx.error(
                    &p(i, "base_url"),
                    format!("base_url {:?} is not a URL: {e}", prov.base_url),
                ))
            }
        }
        if let Some(name) = &prov.name {
            if looks_like_key(name) && name.starts_with("sk-") {
                return Err(cx.error(
                    &p(i, "name"),
                    "this looks like an API key; keys never go in the config file",
                ));
            }
        }
        if let Some(proxy) = &prov.proxy {
            if let Err(e) = super::proxy::parse(proxy, Some(&prov.id)) {
                return Err(cx.error(&p(i, "proxy"), e.to_string()));
            }
        }
        if prov.keys == 0 || prov.keys > MAX_KEYS {
            return Err(cx.error(
                &p(i, "keys"),
                format!("keys must be between 1 and {MAX_KEYS} (how many keys the provider's pool holds)"),
            ));
        }
        for (pat, target) in &prov.models.0 {
            if pat.is_empty() || target.trim().is_empty() {
                return Err(cx.error(
                    &p(i, "models"),
                    "model patterns and targets must not be empty",
                ));
            }
        }
        if prov
            .context_window
            .is_some_and(|w| !(1_000..=100_000_000).contains(&w))
        {
            return Err(cx.error(
                &p(i, "context_window"),
                "context_window is a token count between 1000 and 100000000",
            ));
        }
    }
    for (i, rule) in config.rules.iter().enumerate() {
        if let Some((field, message)) = rule.problem(config) {
            let at = [
                Seg::Key("rules".into()),
                Seg::Index(i),
                Seg::Key(field.into()),
            ];
            return Err(cx.error(&at, message));
        }
    }
    if let Some(proxy) = &config.network.proxy {
        if let Err(e) = super::proxy::parse(proxy, None) {
            return Err(cx.error(
                &[Seg::Key("network".into()), Seg::Key("proxy".into())],
                e.to_string(),
            ));
        }
    }
    let t = &config.timeouts;
    for (name, v) in [
        ("connect_ms", t.connect_ms),
        ("first_byte_ms", t.first_byte_ms),
        ("idle_ms", t.idle_ms),
        ("request_ms", t.request_ms),
    ] {
        if v == 0 {
            return Err(cx.error(
                &[Seg::Key("timeouts".into()), Seg::Key(name.into())],
                "must be greater than 0",
            ));
        }
    }
    if !config.listen.ip().is_loopback()
        && config.security.access_token.is_none()
        && config.security.tokens.is_empty()
    {
        return Err(cx.error(
            &[Seg::Key("listen".into())],
            format!(
                "{} is reachable from other machines, so clients must present an access token: \
                 create one with `switchyard tokens add <name>`, or set [security] access_token = \"keychain\" (then `switchyard keys set access-token`) \
                 or access_token = \"env:VAR\"; or listen on 127.0.0.1",
                config.listen
            ),
        ));
    }
    for (name, v, lo, hi) in config.limits.ranges() {
        if !(lo..=hi).contains(&v) {
            return Err(cx.error(
                &[Seg::Key("limits".into()), Seg::Key(name.into())],
                format!("must be between {lo} and {hi}"),
            ));
        }
    }
    if !matches!(config.ui.language.as_str(), "" | "en" | "zh-CN") {
        return Err(cx.error(
            &[Seg::Key("ui".into()), Seg::Key("language".into())],
            format!("unknown language {:?}: use \"en\" or \"zh-CN\" (or leave it out for the system language)", config.ui.language),
        ));
    }
    for (pat, price) in &config.prices {
        if pat.trim().is_empty() {
            return Err(cx.error(
                &[Seg::Key("prices".into())],
                "model patterns must not be empty",
            ));
        }
        if !price.is_valid() {
            return Err(cx.error(
                &[Seg::Key("prices".into()), Seg::Key(pat.clone())],
                "prices must be numbers >= 0 (USD per million tokens)",
            ));
        }
    }
    for (i, prov) in config.providers.iter().enumerate() {
        for (field, v) in [
            ("budget_daily_usd", prov.budget_daily_usd),
            ("budget_monthly_usd", prov.budget_monthly_usd),
        ] {
            if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                return Err(cx.error(
                    &p(i, field),
                    format!("{field} must be a number of USD greater than 0 (leave it out for no budget)"),
                ));
            }
        }
    }
    let c = &config.cache;
    if c.enabled && (c.ttl_secs == 0 || c.max_entries == 0 || c.max_bytes == 0) {
        return Err(cx.error(
            &[Seg::Key("cache".into())],
            "ttl_secs, max_entries and max_bytes must be greater than 0 when the cache is enabled",
        ));
    }
    if let Some(cluster) = &config.cluster {
        let at = |f: &str| [Seg::Key("cluster".into()), Seg::Key(f.into())];
        if let Err(e) = super::schema::parse_redis_url(&cluster.redis) {
            return Err(cx.error(&at("redis"), e.to_string()));
        }
        if let Some(node) = &cluster.node {
            if !super::schema::valid_cluster_name(node) {
                return Err(cx.error(
                    &at("node"),
                    format!("node {node:?} must be 1-64 characters of letters, digits, -, _ and ."),
                ));
            }
        }
        if !super::schema::valid_cluster_name(&cluster.prefix) {
            return Err(cx.error(
                &at("prefix"),
                "prefix must be 1-64 characters of letters, digits, -, _ and .",
            ));
        }
        if !(1..=10_000).contains(&cluster.timeout_ms) {
            return Err(cx.error(
                &at("timeout_ms"),
                "timeout_ms is between 1 and 10000 milliseconds",
            ));
        }
    }
    for origin in &config.security.allowed_origins {
        if origin == "*" {
            return Err(cx.error(
                &[
                    Seg::Key("security".into()),
                    Seg::Key("allowed_origins".into()),
                ],
                "\"*\" would let any web page spend your keys; list the exact origins instead",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> ConfigError {
        parse_str(text, Some(Path::new("/x/config.toml"))).expect_err("should be refused")
    }

    #[test]
    fn the_issue_example_parses() {
        let c = parse_str(
            r#"
listen = "127.0.0.1:4000"
[routing]
strategy = "failover"
[[providers]]
id = "deepseek"
name = "DeepSeek"
kind = "anthropic"
base_url = "https://api.deepseek.com/anthropic"
credential = "keychain"
enabled = true
[providers.models]
"*haiku*" = "deepseek-chat"
"*" = "deepseek-chat"
"#,
            None,
        )
        .expect("valid");
        assert_eq!(
            c.providers[0].models.map("claude-haiku-4-5"),
            Some("deepseek-chat")
        );
        assert_eq!(c.listen.port(), 4000);
    }

    #[test]
    fn literal_key_is_refused_with_line_and_advice() {
        let e =
            err("[[providers]]\nid = \"ds\"\nbase_url = \"https://x.y\"\napi_key = \"sk-123\"\n");
        assert_eq!(e.line, Some((4, 1)));
        assert!(
            e.to_string()
                .starts_with("/x/config.toml:4:1: `providers[0].api_key`"),
            "{e}"
        );
        assert!(e.message.contains("switchyard keys set ds"));
        let e = err("[[providers]]\nid = \"ds\"\nbase_url = \"https://x.y\"\ncredential = \"sk-ant-abc123\"\n");
        assert_eq!(e.line.map(|l| l.0), Some(4));
        assert!(e.message.contains("keychain"), "{e}");
    }

    #[test]
    fn a_config_without_providers_names_the_field() {
        // Found by fuzzing (fuzz target config_parser): this error had neither line nor field.
        let e = err("");
        assert_eq!(e.field.as_deref(), Some("providers"));
        assert!(e.to_string().contains("`providers`: no providers"), "{e}");
        let e = err("# nothing yet\nproviders = []\n");
        assert_eq!(e.line, Some((2, 1)));
    }

    #[test]
    fn semantic_errors_point_at_the_field() {
        let e = err("[[providers]]\nid = \"a\"\nbase_url = \"https://x.y\"\n\n[[providers]]\nid = \"a\"\nbase_url = \"https://z\"\n");
        assert_eq!(e.field.as_deref(), Some("providers[1].id"));
        assert_eq!(e.line, Some((6, 1)));
        let e = err("[[providers]]\nid = \"a\"\nbase_url = \"ftp://x\"\n");
        assert_eq!(e.line, Some((3, 1)));
        let e = err("[[providers]]\nid = \"Bad Id\"\nbase_url = \"https://x\"\n");
        assert!(e.message.contains("a-z"));
        let e =
            err("listen = \"0.0.0.0:1\"\n[[providers]]\nid = \"a\"\nbase_url = \"https://x\"\n");
        assert!(e.message.contains("access token"), "{e}");
        assert_eq!(e.line, Some((1, 1)));
    }

    #[test]
    fn syntax_and_type_errors_have_lines() {
        let e = err("listen = \n");
        assert_eq!(e.line.map(|l| l.0), Some(1));
        let e = err("[[providers]]\nid = \"a\"\nbase_url = \"https://x\"\nenabled = \"yes\"\n");
        assert_eq!(e.line.map(|l| l.0), Some(4), "{e}");
        let e = err("[[providers]]\nid = \"a\"\nbase_url = \"https://x\"\nbogus = 1\n");
        assert!(e.message.contains("bogus"), "{e}");
    }

    #[test]
    fn a_redis_password_is_refused_with_its_line() {
        let base = "[[providers]]\nid = \"a\"\nbase_url = \"https://x\"\n";
        let e = err(&format!(
            "{base}\n[cluster]\nnode = \"replica-a\"\nredis = \"redis://:s3cret@10.0.0.5:6379/0\"\n"
        ));
        assert_eq!(e.line, Some((7, 1)), "{e}");
        assert_eq!(e.field.as_deref(), Some("cluster.redis"));
        assert!(!e.to_string().contains("s3cret"), "{e}");
        assert!(e.message.contains("switchyard keys set redis"), "{e}");
        let e = err(&format!(
            "{base}[cluster]\nredis = \"redis://h\"\nnode = \"a b\"\n"
        ));
        assert_eq!(e.field.as_deref(), Some("cluster.node"));
        let ok = parse_str(
            &format!("{base}[cluster]\nredis = \"rediss://team@h:6380/1\"\nnode = \"replica-a\"\n"),
            None,
        )
        .expect("valid");
        let c = ok.cluster.expect("cluster");
        assert_eq!(
            (c.node.as_deref(), c.prefix.as_str(), c.timeout_ms),
            (Some("replica-a"), "switchyard", 50)
        );
    }

    #[test]
    fn default_config_is_valid() {
        validate(&Config::default()).expect("embedded default must validate");
    }
}
