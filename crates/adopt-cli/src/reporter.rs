//! Progress on a terminal with indicatif; silence in pipes, CI, and with `--quiet`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use adopt_core::Reporter;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct TerminalReporter {
    bar: Mutex<Option<ProgressBar>>,
    enabled: bool,
    quiet: bool,
}

impl TerminalReporter {
    pub fn new(quiet: bool) -> Self {
        let enabled = !quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        TerminalReporter {
            bar: Mutex::new(None),
            enabled,
            quiet,
        }
    }
}

impl Reporter for TerminalReporter {
    fn start(&self, what: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let color = std::env::var_os("NO_COLOR").is_none();
        let template = if color {
            "{prefix:>10.cyan.bold} [{bar:30}] {pos}/{len} {wide_msg:.dim}"
        } else {
            "{prefix:>10} [{bar:30}] {pos}/{len} {wide_msg}"
        };
        bar.set_style(
            ProgressStyle::with_template(template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        *self.bar.lock().unwrap() = Some(bar);
    }

    fn advance(&self, item: &str) {
        if let Some(bar) = self.bar.lock().unwrap().as_ref() {
            bar.set_message(item.to_string());
            bar.inc(1);
        }
    }

    fn warn(&self, message: &str) {
        // Above the bar on a terminal; plain lines on stderr in pipes and CI.
        match self.bar.lock().unwrap().as_ref() {
            Some(bar) => bar.println(format!("warning: {message}")),
            None if !self.quiet => {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "warning: {message}");
            }
            None => {}
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.bar.lock().unwrap().take() {
            bar.finish_and_clear();
        }
    }
}
