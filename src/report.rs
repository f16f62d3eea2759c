//! The report model (the JSON contract of report.md) and its construction from sessions.
