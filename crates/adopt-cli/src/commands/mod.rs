//! One module per subcommand.

pub mod collect;
