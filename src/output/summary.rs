//! The summary (`--summary`): the text report's header lines, the campaign table
//! (transactions by product class, software version before the update, file server and fault
//! code, with outcomes and the top cause of failure) and the findings by code. Counts are
//! aggregated as items complete; no report object is kept, so memory does not grow with the
//! number of transactions (distinct values of a dimension are capped at [`MAX_VALUES`]).

use super::Sink;
use super::ladder::truncate;
use super::text::{self, Style};
use crate::catalogue::Code;
use crate::report::{
    CaptureSummary, FindingReport, SessionReport, Severity, Summary, TransactionReport,
};
use crate::transaction::Outcome;
use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};

/// Distinct values kept per dimension; transactions of further values are counted under
/// [`OTHER`].
pub const MAX_VALUES: usize = 1_000;
/// The row of the values beyond [`MAX_VALUES`].
pub const OTHER: &str = "(other values)";
/// Longest value shown in the table's first column; longer ones are cut with `…`.
pub const VALUE_WIDTH: usize = 40;
/// With a transaction selected: sessions kept until it shows which are its own.
const KEPT_SESSIONS: usize = 10_000;

/// The dimensions of the campaign table, in the order printed.
pub const DIMENSIONS: [&str; 4] = [
    "product class",
    "software before",
    "file server",
    "fault code",
];

/// The counts of one value of a dimension.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub transactions: u64,
    pub success: u64,
    pub failed: u64,
    pub incomplete: u64,
    /// Error and warning finding codes of the failed and incomplete transactions, with their
    /// severity: how many of them raised each code.
    pub causes: Vec<(&'static str, Severity, u64)>,
}

impl Tally {
    fn add(&mut self, outcome: Outcome, causes: &[(&'static str, Severity)]) {
        self.transactions += 1;
        match outcome {
            Outcome::Success => self.success += 1,
            Outcome::Failed => self.failed += 1,
            Outcome::Incomplete => self.incomplete += 1,
        }
        if outcome != Outcome::Success {
            for &(code, severity) in causes {
                match self.causes.iter_mut().find(|(c, _, _)| *c == code) {
                    Some((_, s, n)) => {
                        *s = (*s).max(severity);
                        *n += 1;
                    }
                    None => self.causes.push((code, severity, 1)),
                }
            }
        }
    }

    /// The most frequent cause (ties: the worse severity, then the first code by name).
    pub fn top_cause(&self) -> Option<(&'static str, u64)> {
        self.causes
            .iter()
            .copied()
            .min_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(b.0)))
            .map(|(code, _, n)| (code, n))
    }
}

/// One dimension: its values and their counts.
#[derive(Clone, Debug, Default)]
pub struct Dimension {
    values: HashMap<String, Tally>,
}

impl Dimension {
    fn add(&mut self, value: String, outcome: Outcome, causes: &[(&'static str, Severity)]) {
        let key = if self.values.contains_key(&value) || self.values.len() < MAX_VALUES {
            value
        } else {
            OTHER.to_owned()
        };
        self.values.entry(key).or_default().add(outcome, causes);
    }

    /// The rows, by transactions (most first), then value.
    pub fn rows(&self) -> Vec<(&str, &Tally)> {
        let mut rows: Vec<(&str, &Tally)> =
            self.values.iter().map(|(v, t)| (v.as_str(), t)).collect();
        rows.sort_by(|a, b| b.1.transactions.cmp(&a.1.transactions).then(a.0.cmp(b.0)));
        rows
    }
}

/// The campaign table: the transactions shown, by each of [`DIMENSIONS`].
#[derive(Clone, Debug, Default)]
pub struct Campaign {
    pub dimensions: [Dimension; 4],
}

impl Campaign {
    /// Counts one transaction under its value of each dimension.
    pub fn add(&mut self, t: &TransactionReport) {
        // Each code once per transaction, with its worst severity there.
        let mut causes: Vec<(&'static str, Severity)> = t
            .findings
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .map(|d| (d.code, d.severity))
            .collect();
        causes.sort_unstable_by(|a, b| a.0.cmp(b.0).then(b.1.cmp(&a.1)));
        causes.dedup_by_key(|c| c.0);
        for (dimension, value) in self.dimensions.iter_mut().zip(values(t)) {
            dimension.add(value, t.outcome, &causes);
        }
    }
}

/// A transaction's value of each of [`DIMENSIONS`].
pub fn values(t: &TransactionReport) -> [String; 4] {
    let product_class = t
        .cpe
        .product_class
        .clone()
        .unwrap_or_else(|| "?".to_owned());
    let before = t
        .versions
        .iter()
        .find(|v| {
            v.parameter == "DeviceInfo.SoftwareVersion"
                || v.parameter.ends_with(".DeviceInfo.SoftwareVersion")
        })
        .and_then(|v| v.before.clone())
        .unwrap_or_else(|| "?".to_owned());
    let server = match &t.file_server {
        Some(s) if s.host.contains(':') => format!("[{}]:{}", s.host, s.port),
        Some(s) => format!("{}:{}", s.host, s.port),
        None => "?".to_owned(),
    };
    let fault = match &t.fault {
        None => "none".to_owned(),
        Some(f) => match (f.code, f.meaning) {
            (Some(code), Some(meaning)) => format!("{code} {meaning}"),
            (Some(code), None) => code.to_string(),
            (None, _) => "fault without a code".to_owned(),
        },
    };
    [product_class, before, server, fault]
}

/// Writes the campaign table: one block per dimension.
pub fn write_campaign(w: &mut dyn Write, campaign: &Campaign) -> io::Result<()> {
    writeln!(w, "campaign")?;
    let head = [
        "transactions",
        "success",
        "failed",
        "incomplete",
        "rate",
        "top cause",
    ];
    let blocks: Vec<(&str, Vec<[String; 7]>)> = DIMENSIONS
        .iter()
        .zip(&campaign.dimensions)
        .map(|(name, dimension)| {
            let rows = dimension
                .rows()
                .into_iter()
                .map(|(value, t)| {
                    let rate = if t.transactions == 0 {
                        "-".to_owned()
                    } else {
                        format!("{:.1}%", t.success as f64 * 100.0 / t.transactions as f64)
                    };
                    let cause = t
                        .top_cause()
                        .map_or_else(|| "-".to_owned(), |(c, n)| format!("{c} ({n})"));
                    [
                        truncate(value, VALUE_WIDTH),
                        t.transactions.to_string(),
                        t.success.to_string(),
                        t.failed.to_string(),
                        t.incomplete.to_string(),
                        rate,
                        cause,
                    ]
                })
                .collect();
            (*name, rows)
        })
        .collect();
    if blocks.iter().all(|(_, rows)| rows.is_empty()) {
        return writeln!(w, "  no transactions");
    }
    // One set of widths for every block, so the blocks line up under each other.
    let mut widths = [0usize; 7];
    for (name, rows) in &blocks {
        widths[0] = widths[0].max(name.chars().count());
        for (i, h) in head.iter().enumerate() {
            widths[i + 1] = widths[i + 1].max(h.chars().count());
        }
        for row in rows {
            for (i, cell) in row.iter().enumerate() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let line = |cells: [&str; 7]| {
        let mut s = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = " ".repeat(widths[i] - cell.chars().count());
            s.push_str("  ");
            match i {
                0 => {
                    s.push_str(cell);
                    s.push_str(&pad);
                }
                6 => s.push_str(cell),
                _ => {
                    s.push_str(&pad);
                    s.push_str(cell);
                }
            }
        }
        s
    };
    for (i, (name, rows)) in blocks.iter().enumerate() {
        if i > 0 {
            writeln!(w)?;
        }
        writeln!(
            w,
            "{}",
            line([name, head[0], head[1], head[2], head[3], head[4], head[5]])
        )?;
        for row in rows {
            let cells: [&str; 7] = std::array::from_fn(|i| row[i].as_str());
            writeln!(w, "{}", line(cells))?;
        }
    }
    Ok(())
}

/// Findings counted by code and severity (a rule may raise a code above its catalogue
/// severity, so a code can show on two lines).
#[derive(Clone, Debug, Default)]
pub struct CodeCounts(pub Vec<(&'static str, Severity, u64)>);

impl CodeCounts {
    pub fn add(&mut self, findings: &[FindingReport]) {
        for d in findings {
            match self
                .0
                .iter_mut()
                .find(|(c, s, _)| *c == d.code && *s == d.severity)
            {
                Some((_, _, n)) => *n += 1,
                None => self.0.push((d.code, d.severity, 1)),
            }
        }
    }

    /// Worst severity first, then most frequent, then code.
    pub fn sorted(&self) -> Vec<(&'static str, Severity, u64)> {
        let mut all = self.0.clone();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(b.0)));
        all
    }
}

/// Writes the findings by code: count, severity, code and what it means.
pub fn write_codes(w: &mut dyn Write, codes: &CodeCounts, style: Style) -> io::Result<()> {
    writeln!(w, "findings by code")?;
    let all = codes.sorted();
    if all.is_empty() {
        return writeln!(w, "  none");
    }
    let count_width = all.iter().map(|c| c.2.to_string().len()).max().unwrap_or(1);
    let code_width = all.iter().map(|c| c.0.len()).max().unwrap_or(0);
    for (code, severity, n) in all {
        let meaning = Code::from_id(code).map_or("", Code::meaning);
        let pad = " ".repeat("warning".len() - severity.as_str().len());
        let line = format!(
            "  {n:>count_width$}  {}{pad}  {code:<code_width$}  {meaning}",
            style.severity(severity)
        );
        writeln!(w, "{}", line.trim_end())?;
    }
    Ok(())
}

/// The `--summary` printer.
pub struct SummarySink {
    /// Counts of what is shown (as the text report's header counts them).
    summary: Summary,
    campaign: Campaign,
    codes: CodeCounts,
    /// With a transaction selected: it, its sessions once it is shown, and the sessions
    /// seen before it (their findings only).
    transaction: Option<String>,
    selected_sessions: Vec<String>,
    pending: VecDeque<(String, Vec<FindingReport>)>,
    style: Style,
}

impl SummarySink {
    pub fn new(transaction: Option<String>, style: Style) -> SummarySink {
        SummarySink {
            summary: Summary::default(),
            campaign: Campaign::default(),
            codes: CodeCounts::default(),
            transaction,
            selected_sessions: Vec::new(),
            pending: VecDeque::new(),
            style,
        }
    }

    fn count_session(&mut self, findings: &[FindingReport]) {
        self.summary.sessions += 1;
        self.summary.add_findings(findings);
        self.codes.add(findings);
    }
}

impl Sink for SummarySink {
    fn session(&mut self, session: SessionReport, _out: &mut dyn Write) -> io::Result<()> {
        if self.transaction.is_none() || self.selected_sessions.contains(&session.id) {
            self.count_session(&session.findings);
        } else {
            // Its transaction may come later: keep what the counts need.
            if self.pending.len() >= KEPT_SESSIONS {
                self.pending.pop_front();
            }
            self.pending.push_back((session.id, session.findings));
        }
        Ok(())
    }

    fn transaction(
        &mut self,
        transaction: TransactionReport,
        _out: &mut dyn Write,
    ) -> io::Result<()> {
        self.summary.add_transaction(&transaction);
        self.codes.add(&transaction.findings);
        self.campaign.add(&transaction);
        if self.transaction.is_some() {
            for id in &transaction.sessions {
                if let Some(i) = self.pending.iter().position(|(s, _)| s == id) {
                    let (_, findings) = self.pending.remove(i).unwrap_or_default();
                    self.count_session(&findings);
                }
            }
            self.selected_sessions
                .extend(transaction.sessions.iter().cloned());
        }
        Ok(())
    }

    fn finding(&mut self, finding: FindingReport, _out: &mut dyn Write) -> io::Result<()> {
        let one = std::slice::from_ref(&finding);
        self.summary.add_findings(one);
        self.codes.add(one);
        Ok(())
    }

    fn finish(
        self: Box<Self>,
        capture: CaptureSummary,
        _summary: &Summary,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        text::write_header_parts(out, &capture, &self.summary)?;
        writeln!(out)?;
        write_campaign(out, &self.campaign)?;
        writeln!(out)?;
        write_codes(out, &self.codes, self.style)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(success: u64, failed: u64, incomplete: u64) -> Tally {
        Tally {
            transactions: success + failed + incomplete,
            success,
            failed,
            incomplete,
            causes: Vec::new(),
        }
    }

    /// Rows by transactions then value; one set of widths for all blocks; a long value cut at
    /// [`VALUE_WIDTH`]; the top cause is the most frequent, not the most severe.
    const EXPECTED: &str = "\
campaign
  product class                             transactions  success  failed  incomplete    rate  top cause
  AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA…            12        0       0          12    0.0%  -
  HG8245H                                             12       10       1           1   83.3%  transfer-timeout (2)
  AB                                                   1        1       0           0  100.0%  -

  software before                           transactions  success  failed  incomplete    rate  top cause
  ?                                                   25       11       1          13   44.0%  -

  file server                               transactions  success  failed  incomplete    rate  top cause
  [2001:db8::1]:80                                    25       11       1          13   44.0%  -

  fault code                                transactions  success  failed  incomplete    rate  top cause
  none                                                24       11       0          13   45.8%  -
  9001 Request denied                                  1        0       1           0    0.0%  transfer-fault (1)
";

    fn render(campaign: &Campaign) -> String {
        let mut out = Vec::new();
        write_campaign(&mut out, campaign).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_campaign_table_is_aligned_sorted_and_capped() {
        let mut campaign = Campaign::default();
        let classes = &mut campaign.dimensions[0].values;
        let mut hg = tally(10, 1, 1);
        hg.causes = vec![
            ("transfer-fault", Severity::Error, 1),
            ("transfer-timeout", Severity::Warning, 2),
        ];
        classes.insert("HG8245H".into(), hg);
        classes.insert("A".repeat(60), tally(0, 0, 12));
        classes.insert("AB".into(), tally(1, 0, 0));
        campaign.dimensions[1]
            .values
            .insert("?".into(), tally(11, 1, 13));
        campaign.dimensions[2]
            .values
            .insert("[2001:db8::1]:80".into(), tally(11, 1, 13));
        let mut denied = tally(0, 1, 0);
        denied.causes = vec![
            ("transfer-contradicts-capture", Severity::Warning, 1),
            ("transfer-fault", Severity::Error, 1),
        ];
        let faults = &mut campaign.dimensions[3].values;
        faults.insert("none".into(), tally(11, 0, 13));
        faults.insert("9001 Request denied".into(), denied);
        let got = render(&campaign);
        assert_eq!(got, EXPECTED, "\n{got}");
        let ends = |line: &str| -> Vec<usize> {
            // Character columns where a run of non-spaces ends, right of the first column.
            let chars: Vec<char> = line.chars().collect();
            (1..chars.len())
                .filter(|&i| chars[i - 1] != ' ' && chars[i] == ' ')
                .filter(|&i| i > 2 + VALUE_WIDTH)
                .take(5)
                .collect()
        };
        let header_ends = ends(got.lines().nth(1).unwrap());
        assert_eq!(header_ends.len(), 5, "{got}");
        for line in got.lines().filter(|l| l.starts_with("  ")) {
            let mut line_ends = ends(&format!("{line} "));
            line_ends.truncate(5);
            assert_eq!(line_ends, header_ends, "misaligned: {line:?}\n{got}");
        }
    }

    #[test]
    fn no_transactions_is_one_line() {
        assert_eq!(
            render(&Campaign::default()),
            "campaign\n  no transactions\n"
        );
    }

    #[test]
    fn codes_are_worst_first_then_most_frequent_with_their_meaning() {
        let mut codes = CodeCounts::default();
        let finding = |code, severity| FindingReport {
            code,
            severity,
            message: String::new(),
            frames: Vec::new(),
            cpe: None,
        };
        let mut all = vec![finding("auth-stale-nonce", Severity::Info); 12];
        all.push(finding("transfer-fault", Severity::Error));
        all.extend(vec![finding("basic-auth-cleartext", Severity::Error); 3]);
        all.push(finding("transfer-contradicts-capture", Severity::Warning));
        codes.add(&all);
        let mut out = Vec::new();
        write_codes(&mut out, &codes, Style::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let meaning = |id| Code::from_id(id).unwrap().meaning();
        let expected = format!(
            "findings by code
   3  error    basic-auth-cleartext          {}
   1  error    transfer-fault                {}
   1  warning  transfer-contradicts-capture  {}
  12  info     auth-stale-nonce              {}
",
            meaning("basic-auth-cleartext"),
            meaning("transfer-fault"),
            meaning("transfer-contradicts-capture"),
            meaning("auth-stale-nonce"),
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn values_beyond_the_cap_are_counted_as_other() {
        let mut d = Dimension::default();
        for i in 0..MAX_VALUES + 5 {
            d.add(format!("v{i}"), Outcome::Success, &[]);
        }
        d.add(
            "v0".into(),
            Outcome::Failed,
            &[("transfer-fault", Severity::Error)],
        );
        assert_eq!(d.values.len(), MAX_VALUES + 1);
        let rows = d.rows();
        assert_eq!(rows[0].0, OTHER);
        assert_eq!(rows[0].1.transactions, 5);
        assert_eq!(rows[1].0, "v0");
        assert_eq!(rows[1].1.top_cause(), Some(("transfer-fault", 1)));
    }
}
