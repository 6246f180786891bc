//! `adopt report`.

use std::io::Write;
use std::process::ExitCode;

use adopt_pipeline::ReportSettings;

use crate::Cli;

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// Organisation named in the report's title.
    #[arg(long, value_name = "NAME")]
    organisation: Option<String>,
}

pub fn run(cli: &Cli, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let run_dir = cli.run_dir(None);
    let settings = ReportSettings {
        organisation: args.organisation.clone(),
    };
    let readiness = adopt_pipeline::report_run_dir(&run_dir, &settings)?;
    let dir = run_dir.report_dir();
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}: {}", readiness.overall.label(), readiness.headline)?;
    for s in &readiness.sections {
        writeln!(
            out,
            "  {:<16} {:<16} {}",
            s.title,
            s.verdict.label(),
            s.summary
        )?;
    }
    writeln!(out, "report: {}", dir.join("index.html").display())?;
    Ok(ExitCode::SUCCESS)
}
