//! One module per subcommand.

pub mod clean;
pub mod collect;
pub mod run;
