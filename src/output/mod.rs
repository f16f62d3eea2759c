//! Printers: the text report (ladders and tables) and JSON/NDJSON. Each consumes the report
//! model of [`crate::report`], never the analysis state.

pub mod json;
pub mod ladder;
pub mod printer;
pub mod text;

/// Output format chosen on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Ndjson,
}
