//! The client's tools as hub (Anthropic) tools, and the way back: which hub tool name is which
//! client tool, of which type, in which namespace.
//!
//! - `function` tools become tools with the same schema;
//! - `custom` (freeform) tools, such as Codex CLI's `apply_patch`, become tools taking one
//!   string, `{"input": "..."}`; their grammar or format goes into the description, so the
//!   model knows what to write;
//! - the tools of a `namespace` (Codex's sub-agent tools) become `<namespace>__<name>`, except
//!   in Codex's default namespace `functions`, whose tools keep their names;
//! - `tool_search` run by the client (`execution: "client"`, how Codex defers MCP tools)
//!   becomes a tool like any other, and the tools its results load become callable;
//! - tools that run on OpenAI's servers (`web_search`, `file_search`, `image_generation`,
//!   `code_interpreter`, `computer_use_preview`, `mcp`, a server-run `tool_search`, ...) have
//!   no counterpart behind Switchyard: they are left out (with a note in the log) rather than
//!   refused, because Codex CLI sends `web_search` with every request. Forcing one with
//!   `tool_choice` is refused.
//!
//! Hub names must match `^[a-zA-Z0-9_-]{1,64}$`: a name that does not is cleaned and suffixed
//! with a short hash (`translate::openai`'s rule), and the map gives the client's name back.

use serde_json::{json, Value};

use super::request::{invalid, unsupported};
use crate::translate::inbound_openai::InboundError;
use crate::translate::openai::sanitize_tool_name;

/// What kind of client tool a hub tool stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// `function`: calls are `function_call` items with JSON `arguments`.
    Function,
    /// `custom` (freeform): calls are `custom_tool_call` items with a string `input`.
    Custom,
    /// Client-run `tool_search`: calls are `tool_search_call` items with object `arguments`.
    ToolSearch,
}

/// One client tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolEntry {
    /// The hub's name for it.
    pub hub: String,
    /// Its kind.
    pub kind: ToolKind,
    /// Its namespace, for a tool inside a `namespace` tool.
    pub namespace: Option<String>,
    /// The client's name.
    pub name: String,
}

/// The client's tools, by hub name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolMap {
    entries: Vec<ToolEntry>,
    /// Tools left out, for the log.
    pub(super) notes: Vec<String>,
}

/// Tool types that run on OpenAI's servers.
const HOSTED: [&str; 12] = [
    "web_search",
    "web_search_preview",
    "web_search_2025_08_26",
    "web_search_preview_2025_03_11",
    "file_search",
    "image_generation",
    "code_interpreter",
    "computer_use_preview",
    "computer",
    "mcp",
    "local_shell",
    "shell",
];

/// The schema of a freeform tool's one argument.
fn custom_schema() -> Value {
    json!({
        "type": "object",
        "properties": {"input": {"type": "string", "description": "The tool's whole input, as free text in the format the description gives."}},
        "required": ["input"],
    })
}

/// Parameters of a client-run `tool_search` when the client gives none.
fn tool_search_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What the tools you need should do."},
            "limit": {"type": "integer", "description": "How many tools to load at most."},
        },
        "required": ["query"],
    })
}

impl ToolMap {
    /// The entry of a hub tool name.
    pub fn get(&self, hub: &str) -> Option<&ToolEntry> {
        self.entries.iter().find(|e| e.hub == hub)
    }

    /// The hub name of a client tool, when it is among the client's tools.
    pub fn hub_name(&self, kind: ToolKind, namespace: Option<&str>, name: &str) -> Option<String> {
        self.entries
            .iter()
            .find(|e| e.kind == kind && e.namespace.as_deref() == namespace && e.name == name)
            .map(|e| e.hub.clone())
    }

    /// The hub name for a client tool seen in history: its entry's, else the name it would get.
    pub(super) fn hub_name_or_new(
        &mut self,
        kind: ToolKind,
        namespace: Option<&str>,
        name: &str,
    ) -> String {
        match self.hub_name(kind, namespace, name) {
            Some(h) => h,
            None => self.add(kind, namespace, name),
        }
    }

    /// Register a client tool; returns its hub name (unique among the registered ones).
    fn add(&mut self, kind: ToolKind, namespace: Option<&str>, name: &str) -> String {
        let wanted = match namespace {
            // Codex's default namespace: its tools keep their own names when they are free.
            Some("functions") if !self.entries.iter().any(|e| e.hub == name) => name.to_string(),
            Some(ns) => format!("{ns}__{name}"),
            None => name.to_string(),
        };
        let mut hub = sanitize_tool_name(&wanted);
        let mut n = 1;
        while self.get(&hub).is_some() {
            n += 1;
            hub = sanitize_tool_name(&format!("{wanted}#{n}"));
        }
        self.entries.push(ToolEntry {
            hub: hub.clone(),
            kind,
            namespace: namespace.map(String::from),
            name: name.to_string(),
        });
        hub
    }

    /// The hub tools for the client's `tools`.
    pub(super) fn read(&mut self, tools: Option<&Value>) -> Result<Vec<Value>, InboundError> {
        let list = match tools {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(l)) => l,
            Some(_) => return Err(invalid("tools", "tools must be a list")),
        };
        let mut out = Vec::new();
        let mut left_out = Vec::new();
        for (i, t) in list.iter().enumerate() {
            self.tool(&format!("tools[{i}]"), t, None, &mut out, &mut left_out)?;
        }
        if !left_out.is_empty() {
            self.notes.push(format!(
                "left out tool(s) {} (they run on OpenAI's servers)",
                left_out.join(", ")
            ));
        }
        Ok(out)
    }

    /// One client tool (inside `namespace` when given) as hub tools.
    pub(super) fn tool(
        &mut self,
        param: &str,
        t: &Value,
        namespace: Option<&str>,
        out: &mut Vec<Value>,
        left_out: &mut Vec<String>,
    ) -> Result<(), InboundError> {
        let ty = t.get("type").and_then(Value::as_str).unwrap_or("function");
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty());
        let description = t.get("description").and_then(Value::as_str).unwrap_or("");
        match ty {
            "function" => {
                let name = name.ok_or_else(|| invalid(param, "a function tool needs a name"))?;
                let schema = match t.get("parameters") {
                    // Anthropic requires an object schema; clients sometimes leave `type` out.
                    Some(Value::Object(p)) => {
                        let mut p = p.clone();
                        p.entry("type").or_insert_with(|| json!("object"));
                        Value::Object(p)
                    }
                    _ => json!({"type": "object", "properties": {}}),
                };
                let hub = self.add(ToolKind::Function, namespace, name);
                out.push(hub_tool(&hub, description, schema));
            }
            "custom" => {
                let name = name.ok_or_else(|| invalid(param, "a custom tool needs a name"))?;
                let hub = self.add(ToolKind::Custom, namespace, name);
                let mut desc = description.to_string();
                if let Some(f) = t.get("format").filter(|f| f["type"] == "grammar") {
                    desc.push_str(&format!(
                        "\n\nThe input must follow this {} grammar:\n{}",
                        f["syntax"].as_str().unwrap_or("formal"),
                        f["definition"].as_str().unwrap_or("")
                    ));
                }
                out.push(hub_tool(&hub, desc.trim(), custom_schema()));
            }
            "namespace" => {
                let ns = name.ok_or_else(|| invalid(param, "a namespace tool needs a name"))?;
                let inner = t
                    .get("tools")
                    .and_then(Value::as_array)
                    .ok_or_else(|| invalid(param, "a namespace tool needs a list of tools"))?;
                for (j, it) in inner.iter().enumerate() {
                    self.tool(&format!("{param}.tools[{j}]"), it, Some(ns), out, left_out)?;
                }
            }
            "tool_search" if t.get("execution").and_then(Value::as_str) == Some("client") => {
                let schema = t
                    .get("parameters")
                    .filter(|p| p.is_object())
                    .cloned()
                    .unwrap_or_else(tool_search_schema);
                let hub = self.add(ToolKind::ToolSearch, None, "tool_search");
                let desc = if description.is_empty() {
                    "Search for more tools; the ones found can be called afterwards."
                } else {
                    description
                };
                out.push(hub_tool(&hub, desc, schema));
            }
            t if HOSTED.contains(&t) || t == "tool_search" || t.starts_with("web_search") => {
                left_out.push(t.to_string());
            }
            other => {
                return Err(unsupported(
                    format!("{param}.type"),
                    format!("tools of type {other:?} are not supported"),
                ))
            }
        }
        Ok(())
    }
}

fn hub_tool(name: &str, description: &str, schema: Value) -> Value {
    let mut t = json!({"name": name, "input_schema": schema});
    if !description.is_empty() {
        t["description"] = json!(description);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codex_tools_become_hub_tools_and_map_back() {
        let tools = json!([
            {"type": "function", "name": "exec_command", "description": "Run", "strict": false,
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]}},
            {"type": "custom", "name": "apply_patch", "description": "Edit files",
             "format": {"type": "grammar", "syntax": "lark", "definition": "start: begin_patch"}},
            {"type": "namespace", "name": "multi_agent_v1", "description": "Agents",
             "tools": [{"type": "function", "name": "close_agent", "parameters": {"properties": {}}}]},
            {"type": "web_search", "external_web_access": false},
            {"type": "tool_search", "execution": "client", "description": "Find tools"},
            {"type": "tool_search"},
        ]);
        let mut m = ToolMap::default();
        let hub = m.read(Some(&tools)).expect("reads");
        let names: Vec<&str> = hub.iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(
            names,
            [
                "exec_command",
                "apply_patch",
                "multi_agent_v1__close_agent",
                "tool_search"
            ]
        );
        assert_eq!(hub[1]["input_schema"]["required"], json!(["input"]));
        assert!(hub[1]["description"]
            .as_str()
            .expect("desc")
            .contains("lark grammar:\nstart: begin_patch"));
        assert_eq!(hub[2]["input_schema"]["type"], "object", "type added");
        let e = m.get("multi_agent_v1__close_agent").expect("entry");
        assert_eq!(
            (e.kind, e.namespace.as_deref(), e.name.as_str()),
            (ToolKind::Function, Some("multi_agent_v1"), "close_agent")
        );
        assert_eq!(m.get("apply_patch").map(|e| e.kind), Some(ToolKind::Custom));
        assert_eq!(
            m.get("tool_search").map(|e| e.kind),
            Some(ToolKind::ToolSearch)
        );
        assert!(
            m.notes[0].contains("web_search, tool_search"),
            "{:?}",
            m.notes
        );
    }

    #[test]
    fn long_or_odd_names_stay_valid_and_distinct() {
        let tools = json!([
            {"type": "function", "name": "mcp.server/tool"},
            {"type": "namespace", "name": "n".repeat(40), "tools": [{"type": "function", "name": "x".repeat(40)}]},
            {"type": "function", "name": "same"},
            {"type": "custom", "name": "same"},
        ]);
        let mut m = ToolMap::default();
        let hub = m.read(Some(&tools)).expect("reads");
        for t in &hub {
            let n = t["name"].as_str().expect("name");
            assert!(
                n.len() <= 64
                    && n.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                "{n}"
            );
        }
        assert_ne!(hub[2]["name"], hub[3]["name"]);
        assert_eq!(
            m.get(hub[0]["name"].as_str().unwrap())
                .map(|e| e.name.as_str()),
            Some("mcp.server/tool")
        );
    }

    #[test]
    fn unknown_tool_types_are_refused() {
        let mut m = ToolMap::default();
        let e = m.read(Some(&json!([{"type": "teleport"}]))).unwrap_err();
        assert_eq!(e.param.as_deref(), Some("tools[0].type"));
        assert_eq!(e.code, "unsupported_parameter");
    }
}
