//! One module per subcommand.

pub mod clean;
pub mod collect;
pub mod kb;
pub mod label;
pub mod models;
pub mod report;
pub mod run;
pub mod serve;
pub mod trial;

use std::path::Path;

use anyhow::Context;

/// Reads one stage's settings from a pipeline file's `[name]` table, or from a file that holds
/// only that stage's settings.
pub fn load_section<T: serde::de::DeserializeOwned>(path: &Path, name: &str) -> anyhow::Result<T> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let value: toml::Table =
        toml::from_str(&text).with_context(|| format!("{}: not valid TOML", path.display()))?;
    let section = match value.get(name) {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => anyhow::bail!("{}: [{name}] must be a table", path.display()),
        None => value,
    };
    section
        .try_into()
        .with_context(|| format!("{}: invalid {name} settings", path.display()))
}
