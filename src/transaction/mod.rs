//! Configuration-update transactions: each file transfer the ACS orders (Download or Upload),
//! followed across sessions and hosts from the RPC through the file fetch to the
//! TransferComplete that reports it, with every message numbered against the reference ladder
//! (flow.md). This stage records facts; the findings stage after it judges them.
//!
//! Sessions and HTTP exchanges arrive in the order they finish. A transaction opens when the
//! session carrying its Download finishes, collects the file exchanges of that CPE (including
//! ones that finished earlier and were kept aside), closes on the TransferComplete with its
//! CommandKey (or at once for DownloadResponse Status 0 or a rejected Download), and is handed
//! on once its file connections have closed, or at the end of the capture.
//!
//! - [`model`]: the finished transaction, and the notes and evidence handed on with it;
//! - [`matching`]: which CPE a session is of, how an exchange fits an order's URL;
//! - [`tracker`]: the stage itself, with its bounded memory in `open`;
//! - `ladder`: step numbers of the reference ladder.

mod ladder;
pub mod matching;
pub mod model;
mod open;
pub mod tracker;

pub use model::{
    Cpe, Evidence, FetchSummary, FileConn, Kind, Note, Order, Outcome, Party, Step, Transaction,
};
pub use tracker::{Tracked, TransactionConfig, TransactionTracker};
