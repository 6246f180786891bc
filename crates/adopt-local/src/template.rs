//! Chat templates. GGUF files carry a Jinja template; rather than run Jinja, the engine
//! recognises the families it supports (ChatML) and renders them itself, and refuses the rest
//! loudly instead of guessing a prompt format the model was not trained on.

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
}

impl ChatTemplate {
    /// The template named by a user override: only "chatml" is known.
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "chatml" => Ok(ChatTemplate::ChatMl {
                default_system: None,
            }),
            other => Err(format!("unknown chat template {other:?} (known: chatml)")),
        }
    }

    /// Recognises the GGUF `tokenizer.chat_template` Jinja source.
    pub fn detect(jinja: Option<&str>) -> Result<Self, String> {
        let Some(jinja) = jinja else {
            return Err("the model file has no tokenizer.chat_template; \
                        set chat-template = \"chatml\" if the model was trained on ChatML"
                .into());
        };
        if jinja.contains("<|im_start|>") && jinja.contains("<|im_end|>") {
            return Ok(ChatTemplate::ChatMl {
                default_system: chatml_default_system(jinja),
            });
        }
        let head: String = jinja.chars().take(80).collect();
        Err(format!(
            "unsupported template (only ChatML is rendered in-process): {head:?}...; \
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
        }
    }

    /// Text that ends the assistant's turn, as a token of the vocabulary.
    pub fn end_of_turn(&self) -> &'static str {
        match self {
            ChatTemplate::ChatMl { .. } => "<|im_end|>",
        }
    }
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
        let t = ChatTemplate::detect(Some(SMOLLM2)).unwrap();
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
            ChatTemplate::detect(Some(jinja)).unwrap(),
            ChatTemplate::from_name("ChatML").unwrap()
        );
    }

    #[test]
    fn unknown_templates_are_refused() {
        let llama3 = "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>{% endfor %}";
        let err = ChatTemplate::detect(Some(llama3)).unwrap_err();
        assert!(err.contains("only ChatML"), "{err}");
        assert!(ChatTemplate::detect(None).is_err());
        assert!(ChatTemplate::from_name("llama3").is_err());
    }
}
