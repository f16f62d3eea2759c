//! Printers: the text report and JSON/NDJSON.
