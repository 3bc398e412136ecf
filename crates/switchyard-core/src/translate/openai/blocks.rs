//! Anthropic content blocks -> Chat Completions text and parts.

use serde_json::{json, Value};

use super::TranslateError;

pub(super) fn err(msg: impl Into<String>) -> TranslateError {
    TranslateError(msg.into())
}

pub(super) fn block_type(b: &Value) -> &str {
    b.get("type").and_then(Value::as_str).unwrap_or("")
}

pub(super) fn text_part(text: impl Into<String>) -> Value {
    json!({"type": "text", "text": text.into()})
}

/// Texts of a string or a list of text blocks, joined by blank lines (`cache_control` and
/// empty texts dropped).
pub(super) fn plain_text(v: &Value, what: &str) -> Result<String, TranslateError> {
    match v {
        Value::Null => Ok(String::new()),
        Value::String(s) => Ok(s.clone()),
        Value::Array(blocks) => {
            let mut texts = Vec::new();
            for b in blocks {
                match block_type(b) {
                    "text" => {
                        let t = b.get("text").and_then(Value::as_str).unwrap_or("");
                        if !t.is_empty() {
                            texts.push(t);
                        }
                    }
                    other => {
                        return Err(err(format!(
                            "{what} content blocks of type `{other}` cannot be sent to an \
                             OpenAI-compatible provider"
                        )))
                    }
                }
            }
            Ok(texts.join("\n\n"))
        }
        _ => Err(err(format!(
            "{what} must be a string or a list of text blocks"
        ))),
    }
}

pub(super) fn image_part(b: &Value) -> Result<Value, TranslateError> {
    let src = &b["source"];
    let url = match src.get("type").and_then(Value::as_str) {
        Some("base64") => {
            let mime = src["media_type"].as_str().unwrap_or("image/png");
            let data = src["data"].as_str().unwrap_or("");
            format!("data:{mime};base64,{data}")
        }
        Some("url") => src["url"].as_str().unwrap_or("").to_string(),
        other => {
            return Err(err(format!(
                "image source type `{}` cannot be sent to an OpenAI-compatible provider",
                other.unwrap_or("(none)")
            )))
        }
    };
    Ok(json!({"type": "image_url", "image_url": {"url": url}}))
}

/// A text `document` as text; PDFs and other binary documents are refused.
pub(super) fn document_text(b: &Value) -> Result<String, TranslateError> {
    let src = &b["source"];
    let body =
        match src.get("type").and_then(Value::as_str) {
            Some("text") => src["data"].as_str().unwrap_or("").to_string(),
            Some("content") => plain_text(&src["content"], "document")?,
            _ => return Err(err(
                "PDF and other binary `document` blocks cannot be sent to an OpenAI-compatible \
                 provider (Chat Completions has no portable file input); send the text, or use \
                 an Anthropic or Gemini provider",
            )),
        };
    Ok(match b.get("title").and_then(Value::as_str) {
        Some(title) if !title.is_empty() => format!("Document: {title}\n\n{body}"),
        _ => body,
    })
}

pub(super) fn search_result_text(b: &Value) -> Result<String, TranslateError> {
    let title = b["title"].as_str().unwrap_or("");
    let source = b["source"].as_str().unwrap_or("");
    let body = plain_text(&b["content"], "search_result")?;
    Ok(format!("Search result: {title} ({source})\n\n{body}"))
}

/// Parts as a message `content`: a plain string when all are text, else the parts array.
pub(super) fn content_value(parts: Vec<Value>) -> Value {
    if parts.iter().all(|p| p["type"] == "text") {
        let texts: Vec<&str> = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        Value::String(texts.join("\n\n"))
    } else {
        Value::Array(parts)
    }
}

/// The text and images of a `tool_result`'s content.
pub(super) fn tool_result_content(
    content: Option<&Value>,
) -> Result<(String, Vec<Value>), TranslateError> {
    match content {
        None | Some(Value::Null) => Ok((String::new(), Vec::new())),
        Some(Value::String(s)) => Ok((s.clone(), Vec::new())),
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            let mut images = Vec::new();
            for b in blocks {
                match block_type(b) {
                    "text" => texts.push(b["text"].as_str().unwrap_or("").to_string()),
                    "image" => images.push(image_part(b)?),
                    "document" => texts.push(document_text(b)?),
                    "search_result" => texts.push(search_result_text(b)?),
                    other => {
                        return Err(err(format!(
                            "tool_result content blocks of type `{other}` cannot be sent to an \
                             OpenAI-compatible provider"
                        )))
                    }
                }
            }
            texts.retain(|t| !t.is_empty());
            Ok((texts.join("\n"), images))
        }
        Some(_) => Err(err(
            "tool_result content must be a string or a list of blocks",
        )),
    }
}
