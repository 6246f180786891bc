//! One module per subcommand.

pub mod clean;
pub mod collect;
pub mod label;
pub mod report;
pub mod run;
pub mod trial;
