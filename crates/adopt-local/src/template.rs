//! Chat templates. GGUF files carry a Jinja template; rather than run Jinja, the engine
//! recognises the families it supports (ChatML, Gemma) and renders them itself, and refuses the
//! rest loudly instead of guessing a prompt format the model was not trained on.

use adopt_trial::Message;

/// A prompt format the engine can render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatTemplate {
    /// `<|im_start|>role\ncontent<|im_end|>\n` per message, then `<|im_start|>assistant\n`
    /// (SmolLM2, Qwen, ...).
    ChatMl {
        /// System message the template inserts when the conversation has none (SmolLM2 does).
        default_system: Option<String>,
    },
    /// `<start_of_turn>user\ncontent<end_of_turn>\n`, the assistant's turns as `model`, the
    /// system message folded into the first user turn, then `<start_of_turn>model\n` (Gemma).
    Gemma,
}

impl ChatTemplate {
    /// The template named by a user override: "chatml" or "gemma".
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "chatml" => Ok(ChatTemplate::ChatMl {
                default_system: None,
            }),
            "gemma" => Ok(ChatTemplate::Gemma),
            other => Err(format!(
                "unknown chat template {other:?} (known: chatml, gemma)"
            )),
        }
    }

    /// Recognises the GGUF `tokenizer.chat_template` Jinja source. A file without one gets its
    /// family's format when the family has a single one (`architecture` "gemma3": Gemma).
    pub fn detect(jinja: Option<&str>, architecture: &str) -> Result<Self, String> {
        let Some(jinja) = jinja else {
            if architecture.starts_with("gemma") {
                return Ok(ChatTemplate::Gemma);
            }
            return Err("the model file has no tokenizer.chat_template; \
                        set chat-template = \"chatml\" if the model was trained on ChatML"
                .into());
        };
        if jinja.contains("<|im_start|>") && jinja.contains("<|im_end|>") {
            return Ok(ChatTemplate::ChatMl {
                default_system: chatml_default_system(jinja),
            });
        }
        if jinja.contains("<start_of_turn>") && jinja.contains("<end_of_turn>") {
            return Ok(ChatTemplate::Gemma);
        }
        let head: String = jinja.chars().take(80).collect();
        Err(format!(
            "unsupported template (ChatML and Gemma are rendered in-process): {head:?}...; \
             set chat-template = \"chatml\" only if the model was trained on ChatML"
        ))
    }

    /// The prompt text for `messages`, ending where the assistant's answer begins.
    pub fn render(&self, messages: &[Message]) -> String {
        match self {
            ChatTemplate::ChatMl { default_system } => {
                let mut out = String::new();
                if let Some(system) = default_system {
                    if messages.first().is_none_or(|m| m.role != "system") {
                        push_chatml(&mut out, "system", system);
                    }
                }
                for m in messages {
                    push_chatml(&mut out, &m.role, &m.content);
                }
                out.push_str("<|im_start|>assistant\n");
                out
            }
            ChatTemplate::Gemma => render_gemma(messages),
        }
    }

    /// Text that ends the assistant's turn, as a token of the vocabulary.
    pub fn end_of_turn(&self) -> &'static str {
        match self {
            ChatTemplate::ChatMl { .. } => "<|im_end|>",
            ChatTemplate::Gemma => "<end_of_turn>",
        }
    }
}

/// Gemma 3's template: `{{ bos_token }}` is the vocabulary's to add; contents are trimmed; a
/// system message prefixes the first user turn with its text and a blank line.
fn render_gemma(messages: &[Message]) -> String {
    let mut out = String::new();
    let (mut prefix, rest) = match messages.split_first() {
        Some((first, rest)) if first.role == "system" => (format!("{}\n\n", first.content), rest),
        _ => (String::new(), messages),
    };
    if rest.first().is_none_or(|m| m.role != "user") && !prefix.is_empty() {
        // The Jinja template would drop a system message no user turn follows: keep it.
        push_gemma(&mut out, "user", prefix.trim_end());
        prefix.clear();
    }
    for m in rest {
        let role = if m.role == "assistant" {
            "model"
        } else {
            &m.role
        };
        let content = format!("{prefix}{}", m.content.trim());
        prefix.clear();
        push_gemma(&mut out, role, &content);
    }
    out.push_str("<start_of_turn>model\n");
    out
}

fn push_gemma(out: &mut String, role: &str, content: &str) {
    out.push_str("<start_of_turn>");
    out.push_str(role);
    out.push('\n');
    out.push_str(content);
    out.push_str("<end_of_turn>\n");
}

fn push_chatml(out: &mut String, role: &str, content: &str) {
    out.push_str("<|im_start|>");
    out.push_str(role);
    out.push('\n');
    out.push_str(content);
    out.push_str("<|im_end|>\n");
}

/// The system message a ChatML template inserts when the first message is not a system one
/// (`{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n...' }}`).
fn chatml_default_system(jinja: &str) -> Option<String> {
    if !jinja.contains("!= 'system'") && !jinja.contains("!= \"system\"") {
        return None;
    }
    let start = jinja.find("<|im_start|>system")? + "<|im_start|>system".len();
    let rest = &jinja[start..];
    let rest = rest
        .strip_prefix("\\n")
        .or_else(|| rest.strip_prefix('\n'))?;
    let end = rest.find("<|im_end|>")?;
    let text = &rest[..end];
    // A literal, not an expression such as `' + message['content'] + '`.
    (!text.contains('\'') && !text.contains('{')).then(|| text.replace("\\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMOLLM2: &str = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn smollm2_template_is_chatml_with_its_default_system() {
        let t = ChatTemplate::detect(Some(SMOLLM2), "llama").unwrap();
        assert_eq!(
            t,
            ChatTemplate::ChatMl {
                default_system: Some(
                    "You are a helpful AI assistant named SmolLM, trained by Hugging Face".into()
                )
            }
        );
        assert_eq!(
            t.render(&[Message::user("Hi")]),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
             <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
        assert_eq!(
            t.render(&[Message::system("Be brief."), Message::user("Hi")]),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn plain_chatml_has_no_default_system() {
        let jinja = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}";
        assert_eq!(
            ChatTemplate::detect(Some(jinja), "qwen2").unwrap(),
            ChatTemplate::from_name("ChatML").unwrap()
        );
    }

    #[test]
    fn unknown_templates_are_refused() {
        let llama3 = "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>{% endfor %}";
        let err = ChatTemplate::detect(Some(llama3), "llama").unwrap_err();
        assert!(err.contains("ChatML and Gemma"), "{err}");
        assert!(ChatTemplate::detect(None, "llama").is_err());
        assert!(ChatTemplate::from_name("llama3").is_err());
    }

    #[test]
    fn gemma_folds_the_system_message_into_the_first_user_turn() {
        // The Jinja template of gemma-3-*-it, abridged to what decides detection.
        let jinja = "{{ bos_token }}{%- if messages[0]['role'] == 'system' -%}...{{ '<start_of_turn>' + role + '\\n' }}...{{ '<end_of_turn>\\n' }}";
        let t = ChatTemplate::detect(Some(jinja), "gemma3").unwrap();
        assert_eq!(t, ChatTemplate::Gemma);
        assert_eq!(ChatTemplate::detect(None, "gemma3").unwrap(), t);
        assert_eq!(ChatTemplate::from_name("Gemma").unwrap(), t);
        assert_eq!(t.end_of_turn(), "<end_of_turn>");
        assert_eq!(
            t.render(&[Message::user(" What is 2+2? \n")]),
            "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n"
        );
        assert_eq!(
            t.render(&[
                Message::system("Answer briefly."),
                Message::user("Hi"),
                Message {
                    role: "assistant".into(),
                    content: "Hello.".into(),
                },
                Message::user("Bye"),
            ]),
            "<start_of_turn>user\nAnswer briefly.\n\nHi<end_of_turn>\n\
             <start_of_turn>model\nHello.<end_of_turn>\n\
             <start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
        );
        assert_eq!(
            t.render(&[Message::system("Only a system message.")]),
            "<start_of_turn>user\nOnly a system message.<end_of_turn>\n<start_of_turn>model\n"
        );
    }
}
