//! The text of the message screen, laid out once per message: where and when it went, its
//! RPCs, then its HTTP head and its SOAP body as indented, coloured XML; or its raw bytes
//! (text, or a hex dump). Secrets are redacted unless shown. Pure: a message in, lines out.

use super::draw::Palette;
use crate::cwmp::BodyText;
use crate::report::{
    EnvelopeReport, MessageReport, REDACTED, ReportOptions, RpcArgs, is_secret_name, redact_header,
    redact_url,
};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use std::ops::Range;

/// What a message's lines were laid out for: another key, another layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    pub session: usize,
    pub message: usize,
    pub raw: bool,
    pub color: bool,
    pub width: usize,
}

/// How a message is laid out.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// The bytes as received instead of the layout.
    pub raw: bool,
    /// Secrets as they are instead of [`REDACTED`].
    pub show_secrets: bool,
    pub palette: Palette,
    /// Columns a line may take: longer ones go on as indented lines (0: no limit).
    pub width: usize,
}

/// The title bar of a message.
pub fn title(m: &MessageReport, raw: bool) -> String {
    format!(" message · {}{}", m.http, if raw { " · raw" } else { "" })
}

/// The lines of a message: where it went and its RPCs, then its head and body (indented XML,
/// or the raw bytes), cut to the view's width.
pub fn message_lines(m: &MessageReport, view: View) -> Vec<Line<'static>> {
    let lines = unwrapped_lines(m, view);
    if view.width == 0 {
        return lines;
    }
    lines
        .into_iter()
        .flat_map(|l| wrapped(l, view.width))
        .collect()
}

/// A line cut into lines of at most `width` characters (after a space when one is near the
/// end; that space may be one past the width), the later ones indented as the first and two
/// more.
fn wrapped(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    let chars: Vec<char> = line.spans.iter().flat_map(|s| s.content.chars()).collect();
    if chars.len() <= width {
        return vec![line];
    }
    let lead = chars.iter().take_while(|c| **c == ' ').count();
    let margin = (lead + 2).min(width / 2);
    // Where each line of the cut ends, in characters.
    let mut ends = Vec::new();
    let mut start = 0;
    let mut room = width;
    while chars.len() - start > room {
        // After the last space that fits (one just past the width too: it is not seen).
        let end = start + room;
        let end = (start + room / 2 + 1..=end + 1)
            .rev()
            .find(|&b| b < chars.len() && chars[b - 1] == ' ' && chars[b] != ' ')
            .unwrap_or(end);
        ends.push(end);
        start = end;
        room = width - margin;
    }
    ends.push(chars.len());
    let mut out = Vec::new();
    let mut current: Vec<Span<'static>> = Vec::new();
    let mut at = 0;
    let mut next = ends.iter().copied().peekable();
    for span in line.spans {
        let mut rest: &str = &span.content;
        while !rest.is_empty() {
            let end = next.peek().copied().unwrap_or(usize::MAX);
            if at == end {
                out.push(Line::from(std::mem::take(&mut current)).style(line.style));
                current.push(Span::raw(" ".repeat(margin)));
                next.next();
                continue;
            }
            let take = end - at;
            let cut = rest.char_indices().nth(take).map_or(rest.len(), |(i, _)| i);
            let (head, tail) = rest.split_at(cut);
            at += head.chars().count();
            current.push(Span::styled(head.to_owned(), span.style));
            rest = tail;
        }
    }
    if !current.is_empty() {
        out.push(Line::from(current).style(line.style));
    }
    out
}

fn unwrapped_lines(m: &MessageReport, view: View) -> Vec<Line<'static>> {
    let st = Styles::of(view.palette);
    let mut out = vec![Line::raw(format!(
        " frame {} · {} → {} · {} · {} bytes{}",
        m.frame,
        m.from,
        m.to,
        m.ts,
        m.body_bytes,
        if m.complete { "" } else { " · incomplete" }
    ))];
    let Some(raw) = &m.raw else {
        out.extend(decoded_lines(m).into_iter().map(Line::raw));
        out.push(Line::raw(""));
        out.push(Line::styled(
            " (the message's bytes were not kept)",
            st.note,
        ));
        return out;
    };
    let secrets = Secrets {
        show: view.show_secrets,
    };
    for e in &m.envelopes {
        out.push(envelope_line(e, secrets));
    }
    if let Some(bad) = &m.malformed {
        out.push(Line::styled(
            format!(
                " not well-formed SOAP at byte {}: {}",
                bad.offset, bad.reason
            ),
            st.error,
        ));
    }
    let bytes = raw.bytes();
    let (head, body) = bytes.split_at(raw.head_len.min(bytes.len()));
    let head = String::from_utf8_lossy(head);
    let field = |name: &str| {
        head.split("\r\n")
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_owned())
    };
    let content_type = field("content-type");
    let mut notes = Vec::new();
    let chunked =
        field("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let encoded = field("content-encoding").is_some_and(|v| !v.eq_ignore_ascii_case("identity"));
    if view.raw && (chunked || encoded) {
        notes.push(format!(
            " the body as stored: {}",
            match (chunked, encoded) {
                (true, true) => "de-chunked and decoded (Content-Encoding)",
                (true, false) => "de-chunked",
                _ => "decoded (Content-Encoding)",
            }
        ));
    }
    if let Some(n) = raw.body_dropped {
        notes.push(format!(" body not kept: {n} bytes"));
    } else if raw.body_truncated {
        notes.push(format!(
            " body truncated by the HTTP stage's storage limit: {} of {} bytes kept",
            raw.body_len, raw.wire_body_len
        ));
    } else if body.is_empty() && raw.wire_body_len > 0 {
        notes.push(format!(
            " body not stored ({} bytes on the wire)",
            raw.wire_body_len
        ));
    }
    out.push(Line::raw(""));
    if view.raw {
        out.push(Line::styled(
            format!(
                " raw: head {} + body {} bytes{}",
                head.len(),
                body.len(),
                if secrets.show {
                    ""
                } else {
                    " · secrets redacted"
                }
            ),
            st.note,
        ));
        out.extend(notes.into_iter().map(|n| Line::styled(n, st.note)));
        out.push(Line::raw(""));
        out.extend(raw_lines(
            &head,
            body,
            content_type.as_deref(),
            secrets,
            &st,
        ));
        return out;
    }
    out.extend(head_lines(&head, secrets, &st));
    out.extend(notes.into_iter().map(|n| Line::styled(n, st.note)));
    if !body.is_empty() {
        let text = BodyText::new(body, content_type.as_deref());
        if text.text().trim_start().starts_with('<') {
            out.extend(xml_lines(text.text(), secrets, &st, |o| {
                text.body_offset(o)
            }));
        } else {
            out.push(Line::styled(" (not XML)", st.note));
            out.extend(
                text.text()
                    .lines()
                    .map(|l| Line::raw(format!(" {}", printable(l)))),
            );
        }
    }
    out
}

/// The colours of the XML and the head.
struct Styles {
    punct: Style,
    element: Style,
    attr_name: Style,
    attr_value: Style,
    text: Style,
    markup: Style,
    redacted: Style,
    error: Style,
    header: Style,
    start: Style,
    note: Style,
}

impl Styles {
    fn of(palette: Palette) -> Styles {
        let fg = |c: Color| {
            if palette.color {
                Style::new().fg(c)
            } else {
                Style::new()
            }
        };
        Styles {
            punct: fg(Color::DarkGray),
            element: fg(Color::Cyan),
            attr_name: fg(Color::Magenta),
            attr_value: fg(Color::Green),
            text: fg(Color::Yellow),
            markup: fg(Color::DarkGray),
            redacted: fg(Color::Red).add_modifier(Modifier::ITALIC),
            error: fg(Color::Red).add_modifier(Modifier::BOLD),
            header: fg(Color::Cyan),
            start: Style::new().add_modifier(Modifier::BOLD),
            note: fg(Color::DarkGray),
        }
    }
}

/// Whether secrets are shown, and what they are.
#[derive(Clone, Copy, Debug)]
struct Secrets {
    show: bool,
}

impl Secrets {
    fn opts(self) -> ReportOptions {
        ReportOptions {
            show_secrets: self.show,
            files: Vec::new(),
        }
    }

    /// A URL with any `user:password@` redacted.
    fn url(self, text: &str) -> String {
        if self.show || !text.contains("://") {
            return text.to_owned();
        }
        redact_url(text, &self.opts())
    }

    /// A header value as shown ([`redact_header`]).
    fn header(self, name: &str, value: &str) -> String {
        redact_header(name, value, &self.opts())
    }
}

/// One line per envelope: the RPC, its `cwmp:ID`, its key arguments.
fn envelope_line(e: &EnvelopeReport, secrets: Secrets) -> Line<'static> {
    let mut parts = vec![if e.rpc.is_empty() {
        "(empty Body)".to_owned()
    } else {
        e.rpc.clone()
    }];
    if let Some(id) = &e.id {
        parts.push(format!("cwmp:ID {id}"));
    }
    match &e.args {
        Some(RpcArgs::Inform {
            device_id, events, ..
        }) => {
            let events: Vec<&str> = events.iter().map(|e| e.code.as_str()).collect();
            parts.push(events.join(", "));
            parts.push(format!("serial {}", device_id.serial_number));
        }
        Some(RpcArgs::InformResponse {
            max_envelopes: Some(n),
        }) => parts.push(format!("MaxEnvelopes {n}")),
        Some(RpcArgs::Download {
            command_key,
            file_type,
            url,
            file_size,
            ..
        }) => {
            parts.push(format!("CommandKey {command_key}"));
            parts.push(file_type.clone());
            parts.push(secrets.url(url));
            if let Some(n) = file_size {
                parts.push(format!("{n} bytes"));
            }
        }
        Some(RpcArgs::DownloadResponse {
            status: Some(s), ..
        }) => parts.push(format!("Status {s}")),
        Some(RpcArgs::TransferComplete {
            command_key, fault, ..
        }) => {
            parts.push(format!("CommandKey {command_key}"));
            if let Some(code) = fault.code.filter(|c| *c != 0) {
                parts.push(format!("fault {code} {}", fault.meaning.unwrap_or("")));
            }
        }
        Some(RpcArgs::Fault { fault, .. }) => {
            if let Some(code) = fault.code {
                parts.push(format!("{code} {}", fault.meaning.unwrap_or(&fault.string)));
            }
        }
        Some(RpcArgs::Other(args)) if !args.is_empty() => {
            parts.push(format!("{} arguments", args.len()));
        }
        _ => {}
    }
    parts.retain(|p| !p.trim().is_empty());
    Line::from(vec![
        Span::styled(" ", Style::new()),
        Span::styled(parts.join(" · "), Style::new().add_modifier(Modifier::BOLD)),
    ])
}

/// The decoded content when the bytes were not kept: the HTTP line, credentials and
/// cookies, each envelope's arguments.
fn decoded_lines(m: &MessageReport) -> Vec<String> {
    let mut out = vec![String::new(), format!(" {}", m.http)];
    if let Some(a) = &m.auth {
        out.push(format!(
            " Authorization: {}",
            serde_json::to_string(a).unwrap_or_default()
        ));
    }
    for c in &m.challenges {
        out.push(format!(
            " WWW-Authenticate: {}",
            serde_json::to_string(c).unwrap_or_default()
        ));
    }
    for c in &m.cookies {
        out.push(format!(" Cookie: {}={}", c.name, c.value));
    }
    for c in &m.set_cookies {
        out.push(format!(" Set-Cookie: {}={}", c.name, c.value));
    }
    if let Some(bad) = &m.malformed {
        out.push(format!(
            " not well-formed SOAP at byte {}: {}",
            bad.offset, bad.reason
        ));
    }
    for e in &m.envelopes {
        out.push(String::new());
        let id =
            e.id.as_deref()
                .map(|i| format!(" · cwmp:ID {i}"))
                .unwrap_or_default();
        out.push(format!(" {}{id}", e.rpc));
        if let Some(args) = &e.args {
            let pretty = serde_json::to_string_pretty(args).unwrap_or_default();
            out.extend(pretty.lines().map(|l| format!("   {l}")));
        }
    }
    out
}

/// Characters a terminal would act on, shown as `·`; tabs as spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' => "    ".to_owned(),
            c if c.is_control() => "·".to_owned(),
            c => c.to_string(),
        })
        .collect()
}

/// Spans of `text` in `style`, with each [`REDACTED`] in `redacted`.
fn marked(text: &str, style: Style, redacted: Style) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(REDACTED) {
        if at > 0 {
            spans.push(Span::styled(printable(&rest[..at]), style));
        }
        spans.push(Span::styled(REDACTED, redacted));
        rest = &rest[at + REDACTED.len()..];
    }
    if !rest.is_empty() || spans.is_empty() {
        spans.push(Span::styled(printable(rest), style));
    }
    spans
}

/// The start line and the header fields (with their secrets redacted), then a blank line.
fn head_lines(head: &str, secrets: Secrets, st: &Styles) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (i, line) in redacted_head(head, secrets).split("\r\n").enumerate() {
        if line.is_empty() {
            continue;
        }
        let mut spans = vec![Span::raw(" ")];
        if i == 0 {
            spans.extend(marked(line, st.start, st.redacted));
        } else if let Some((name, value)) = line.split_once(':') {
            spans.push(Span::styled(printable(name), st.header));
            spans.push(Span::styled(":", st.punct));
            spans.extend(marked(value, Style::new(), st.redacted));
        } else {
            spans.extend(marked(line, Style::new(), st.redacted));
        }
        out.push(Line::from(spans));
    }
    out.push(Line::raw(""));
    out
}

/// The head with the request target's credentials and the secrets of header fields redacted.
fn redacted_head(head: &str, secrets: Secrets) -> String {
    let mut out = String::with_capacity(head.len());
    for (i, line) in head.split_inclusive("\r\n").enumerate() {
        let (text, end) = match line.strip_suffix("\r\n") {
            Some(t) => (t, "\r\n"),
            None => (line, ""),
        };
        if i == 0 && !text.starts_with("HTTP/") {
            let parts: Vec<&str> = text.splitn(3, ' ').collect();
            if let [method, target, version] = parts[..] {
                out.push_str(&format!("{method} {} {version}", secrets.url(target)));
            } else {
                out.push_str(text);
            }
        } else if i > 0
            && let Some((name, value)) = text.split_once(':')
        {
            out.push_str(&format!("{name}:{}", secrets.header(name, value)));
        } else {
            out.push_str(text);
        }
        out.push_str(end);
    }
    out
}

/// A text of the body: where it is and whether it holds a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TextPiece {
    range: Range<usize>,
    secret: bool,
}

/// One piece of well-formed XML, in order.
#[derive(Clone, Debug)]
enum Node {
    Open {
        name: String,
        attributes: Vec<(String, String)>,
        empty: bool,
    },
    Close {
        name: String,
    },
    /// Character data (entity references included) or a CDATA section; `piece` indexes the
    /// texts.
    Text {
        piece: usize,
        cdata: bool,
    },
    /// A declaration, processing instruction, comment or DOCTYPE, as written.
    Markup(Range<usize>),
}

/// A body read as XML: the nodes up to the first error, the texts (of the whole body, after
/// the error read leniently), and the error.
struct Parsed {
    nodes: Vec<Node>,
    texts: Vec<TextPiece>,
    /// Where the well-formed part ends, the error's offset in the text and why.
    error: Option<(usize, usize, String)>,
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn attributes(start: &BytesStart<'_>) -> Vec<(String, String)> {
    start
        .attributes()
        .with_checks(false)
        .flatten()
        .map(|a| (a.key.0.to_owned(), a.value.into_owned()))
        .collect()
}

/// Reads `text` as XML and marks the texts that hold secrets: the text of an element whose
/// name is a secret (`Password`, …) and the `Value` beside a `Name` that is one.
fn parse(text: &str) -> Parsed {
    let mut reader = Reader::from_str(text);
    let mut nodes = Vec::new();
    let mut texts: Vec<TextPiece> = Vec::new();
    let mut open: Vec<String> = Vec::new();
    let error = loop {
        let before = reader.buffer_position() as usize;
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => break Some((before, reader.error_position() as usize, e.to_string())),
        };
        let after = reader.buffer_position() as usize;
        match event {
            Event::Start(s) => {
                let name = s.name().0.to_owned();
                open.push(name.clone());
                nodes.push(Node::Open {
                    name,
                    attributes: attributes(&s),
                    empty: false,
                });
            }
            Event::Empty(s) => nodes.push(Node::Open {
                name: s.name().0.to_owned(),
                attributes: attributes(&s),
                empty: true,
            }),
            Event::End(e) => {
                open.pop();
                nodes.push(Node::Close {
                    name: e.name().0.to_owned(),
                });
            }
            Event::Text(_) | Event::GeneralRef(_) => {
                // Text and references one after the other make one text.
                if let Some(Node::Text {
                    piece,
                    cdata: false,
                }) = nodes.last()
                    && texts[*piece].range.end == before
                {
                    texts[*piece].range.end = after;
                } else {
                    nodes.push(Node::Text {
                        piece: texts.len(),
                        cdata: false,
                    });
                    texts.push(TextPiece {
                        range: before..after,
                        secret: false,
                    });
                }
            }
            Event::CData(_) => {
                nodes.push(Node::Text {
                    piece: texts.len(),
                    cdata: true,
                });
                texts.push(TextPiece {
                    range: before + "<![CDATA[".len()..after.saturating_sub("]]>".len()),
                    secret: false,
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {
                nodes.push(Node::Markup(before..after))
            }
            Event::Eof => {
                break open
                    .last()
                    .map(|name| (after, after, format!("the body ends inside <{name}>")));
            }
        }
    };
    mark_secrets(text, &nodes, &mut texts);
    if let Some((from, ..)) = &error {
        texts.extend(lenient_texts(text, *from));
    }
    Parsed {
        nodes,
        texts,
        error,
    }
}

/// Marks the secret texts among well-formed nodes.
fn mark_secrets(text: &str, nodes: &[Node], texts: &mut [TextPiece]) {
    struct Open {
        name: String,
        /// The texts directly inside.
        texts: Vec<usize>,
        /// A `Name` child names a secret.
        names_secret: bool,
        /// The texts of `Value` children.
        values: Vec<usize>,
    }
    let mut stack: Vec<Open> = Vec::new();
    for node in nodes {
        match node {
            Node::Open { name, empty, .. } => {
                if !empty {
                    stack.push(Open {
                        name: name.clone(),
                        texts: Vec::new(),
                        names_secret: false,
                        values: Vec::new(),
                    });
                }
            }
            Node::Text { piece, .. } => {
                if let Some(top) = stack.last_mut() {
                    top.texts.push(*piece);
                }
            }
            Node::Close { .. } => {
                let Some(done) = stack.pop() else { continue };
                let name = local(&done.name);
                if is_secret_name(name) {
                    for &p in &done.texts {
                        texts[p].secret = true;
                    }
                }
                if done.names_secret {
                    for &p in &done.values {
                        texts[p].secret = true;
                    }
                }
                if let Some(parent) = stack.last_mut() {
                    if name == "Name" {
                        let value: String = done
                            .texts
                            .iter()
                            .map(|&p| &text[texts[p].range.clone()])
                            .collect();
                        parent.names_secret |= is_secret_name(value.trim());
                    } else if name == "Value" {
                        parent.values.extend(done.texts);
                    }
                }
            }
            Node::Markup(_) => {}
        }
    }
}

/// The texts between tags from `from` on, read without checking the XML: the text of an
/// element whose name is a secret, and a `Value` after a `Name` that is one, are secret.
fn lenient_texts(text: &str, from: usize) -> Vec<TextPiece> {
    let mut out = Vec::new();
    let mut at = from;
    let mut element = String::new();
    let mut names_secret = false;
    while at < text.len() {
        let Some(lt) = text[at..].find('<').map(|i| at + i) else {
            out.push(piece(text, at..text.len(), &element, names_secret));
            break;
        };
        if lt > at {
            let p = piece(text, at..lt, &element, names_secret);
            if local(&element) == "Name" {
                names_secret = is_secret_name(text[at..lt].trim());
            }
            out.push(p);
        }
        let rest = &text[lt..];
        let close = if rest.starts_with("<!--") {
            rest.find("-->").map(|i| i + 3)
        } else {
            rest.find('>').map(|i| i + 1)
        };
        let Some(len) = close else { break };
        let tag = &rest[1..len - 1];
        if let Some(name) = tag.strip_prefix('/') {
            if local(name.trim()) == "ParameterValueStruct" {
                names_secret = false;
            }
            element.clear();
        } else if !tag.starts_with(['!', '?']) && !tag.ends_with('/') {
            element = tag
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or("")
                .to_owned();
        }
        at = lt + len;
    }
    out
}

fn piece(text: &str, range: Range<usize>, element: &str, names_secret: bool) -> TextPiece {
    let name = local(element);
    let secret = !text[range.clone()].trim().is_empty()
        && (is_secret_name(name) || (name == "Value" && names_secret));
    TextPiece { range, secret }
}

/// The replacements that redact `text`: secrets by [`REDACTED`], credentials in URLs.
fn redactions(text: &str, texts: &[TextPiece], secrets: Secrets) -> Vec<(Range<usize>, String)> {
    if secrets.show {
        return Vec::new();
    }
    let mut out = Vec::new();
    for p in texts {
        let raw = &text[p.range.clone()];
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            continue;
        }
        let start = p.range.start + (raw.len() - raw.trim_start().len());
        let range = start..start + trimmed.len();
        if p.secret {
            out.push((range, REDACTED.to_owned()));
        } else {
            let url = secrets.url(trimmed);
            if url != trimmed {
                out.push((range, url));
            }
        }
    }
    out
}

/// `text` with the `replacements` (in order, not overlapping) made.
fn replaced(text: &str, replacements: &[(Range<usize>, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (range, with) in replacements {
        if range.start < at || range.end > text.len() {
            continue;
        }
        out.push_str(&text[at..range.start]);
        out.push_str(with);
        at = range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Indentation of a depth (capped, so deep nesting stays on screen).
fn indent(depth: usize) -> String {
    format!(" {}", "  ".repeat(depth.min(32)))
}

/// Start tags longer than this put each attribute on a line of its own.
const LONG_TAG: usize = 80;

/// The spans of a start tag: one line, or the name and then one line per attribute.
fn start_tag(
    name: &str,
    attributes: &[(String, String)],
    end: &str,
    depth: usize,
    secrets: Secrets,
    st: &Styles,
) -> Vec<Vec<Span<'static>>> {
    let length: usize = name.len()
        + end.len()
        + 1
        + attributes
            .iter()
            .map(|(k, v)| k.len() + v.len() + 4)
            .sum::<usize>();
    let split = attributes.len() > 1 && depth * 2 + length > LONG_TAG;
    let mut lines = vec![vec![
        Span::raw(indent(depth)),
        Span::styled("<", st.punct),
        Span::styled(printable(name), st.element),
    ]];
    for (k, v) in attributes {
        let quote = if v.contains('"') { "'" } else { "\"" };
        let spans = vec![
            Span::styled(printable(k), st.attr_name),
            Span::styled(format!("={quote}"), st.punct),
            Span::styled(printable(&secrets.url(v)), st.attr_value),
            Span::styled(quote, st.punct),
        ];
        if split {
            let mut line = vec![Span::raw(format!("{}    ", indent(depth)))];
            line.extend(spans);
            lines.push(line);
        } else if let Some(last) = lines.last_mut() {
            last.push(Span::raw(" "));
            last.extend(spans);
        }
    }
    if let Some(last) = lines.last_mut() {
        last.push(Span::styled(end.to_owned(), st.punct));
    }
    lines
}

/// The spans of a text: the secret redacted, a URL's credentials redacted.
fn text_spans(raw: &str, secret: bool, secrets: Secrets, st: &Styles) -> Vec<Span<'static>> {
    let trimmed = raw.trim();
    if secret && !secrets.show {
        vec![Span::styled(REDACTED, st.redacted)]
    } else {
        marked(&secrets.url(trimmed), st.text, st.redacted)
    }
}

/// The body as indented XML: an element holding only a short text on one line, markup as
/// written; after an error, the error and the rest as plain text. `body_offset` maps a text
/// offset to the body's.
fn xml_lines(
    text: &str,
    secrets: Secrets,
    st: &Styles,
    body_offset: impl Fn(usize) -> usize,
) -> Vec<Line<'static>> {
    let parsed = parse(text);
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut depth = 0usize;
    let nodes = &parsed.nodes;
    let piece_text = |piece: usize| &text[parsed.texts[piece].range.clone()];
    let one_line = |piece: usize| !piece_text(piece).trim().contains('\n');
    let mut i = 0;
    while i < nodes.len() {
        match &nodes[i] {
            Node::Open {
                name,
                attributes,
                empty: true,
            } => {
                for spans in start_tag(name, attributes, "/>", depth, secrets, st) {
                    out.push(Line::from(spans));
                }
            }
            Node::Open {
                name, attributes, ..
            } => {
                let close = |j: usize| match nodes.get(j) {
                    Some(Node::Close { name }) => Some(name.clone()),
                    _ => None,
                };
                // `<a>text</a>` and `<a></a>` on one line.
                let inline = match nodes.get(i + 1) {
                    Some(Node::Text { piece, cdata }) if one_line(*piece) => {
                        close(i + 2).map(|end| (Some((*piece, *cdata)), end, 3))
                    }
                    _ => close(i + 1).map(|end| (None, end, 2)),
                };
                let mut lines = start_tag(name, attributes, ">", depth, secrets, st);
                match inline {
                    Some((content, end, skip)) => {
                        if let Some(last) = lines.last_mut() {
                            if let Some((piece, cdata)) = content {
                                let secret = parsed.texts[piece].secret;
                                if cdata {
                                    last.push(Span::styled("<![CDATA[", st.markup));
                                }
                                last.extend(text_spans(piece_text(piece), secret, secrets, st));
                                if cdata {
                                    last.push(Span::styled("]]>", st.markup));
                                }
                            }
                            last.push(Span::styled("</", st.punct));
                            last.push(Span::styled(printable(&end), st.element));
                            last.push(Span::styled(">", st.punct));
                        }
                        out.extend(lines.into_iter().map(Line::from));
                        i += skip;
                        continue;
                    }
                    None => {
                        out.extend(lines.into_iter().map(Line::from));
                        depth += 1;
                    }
                }
            }
            Node::Close { name } => {
                depth = depth.saturating_sub(1);
                out.push(Line::from(vec![
                    Span::raw(indent(depth)),
                    Span::styled("</", st.punct),
                    Span::styled(printable(name), st.element),
                    Span::styled(">", st.punct),
                ]));
            }
            Node::Text { piece, cdata } => {
                let raw = piece_text(*piece);
                let secret = parsed.texts[*piece].secret;
                if !raw.trim().is_empty() {
                    if secret && !secrets.show {
                        out.push(Line::from(vec![
                            Span::raw(indent(depth)),
                            Span::styled(REDACTED, st.redacted),
                        ]));
                    } else {
                        let style = if *cdata { st.markup } else { st.text };
                        for l in raw.trim().lines() {
                            let mut spans = vec![Span::raw(indent(depth))];
                            spans.extend(marked(&secrets.url(l.trim()), style, st.redacted));
                            out.push(Line::from(spans));
                        }
                    }
                }
            }
            Node::Markup(range) => {
                for l in text[range.clone()].lines() {
                    out.push(Line::from(vec![
                        Span::raw(indent(depth)),
                        Span::styled(printable(l), st.markup),
                    ]));
                }
            }
        }
        i += 1;
    }
    if let Some((from, at, reason)) = &parsed.error {
        out.push(Line::styled(
            format!(
                " ✗ not well-formed XML at byte {}: {reason}",
                body_offset(*at)
            ),
            st.error,
        ));
        let first = parsed
            .texts
            .iter()
            .position(|p| p.range.start >= *from)
            .unwrap_or(parsed.texts.len());
        let rest: Vec<TextPiece> = parsed.texts[first..]
            .iter()
            .map(|p| TextPiece {
                range: p.range.start - from..p.range.end - from,
                secret: p.secret,
            })
            .collect();
        let tail = &text[*from..];
        let shown = replaced(tail, &redactions(tail, &rest, secrets));
        for l in shown.lines() {
            let mut spans = vec![Span::raw(" ")];
            spans.extend(marked(l.trim_end_matches('\r'), Style::new(), st.redacted));
            out.push(Line::from(spans));
        }
    }
    out
}

/// Whether bytes read as text on a terminal: UTF-8 without control characters but line ends
/// and tabs.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    })
}

/// The head and body as received, secrets redacted: text when it is printable UTF-8, else a
/// hex dump.
fn raw_lines(
    head: &str,
    body: &[u8],
    content_type: Option<&str>,
    secrets: Secrets,
    st: &Styles,
) -> Vec<Line<'static>> {
    // Bytes that are not text are shown as a hex dump, whose offsets are those of the bytes
    // received: there a secret is masked byte for byte instead of replaced.
    let text_view = is_text(head.as_bytes()) && is_text(body);
    let mut bytes = if text_view {
        redacted_head(head, secrets).into_bytes()
    } else {
        masked_like(head, &redacted_head(head, secrets))
    };
    if secrets.show {
        bytes.extend_from_slice(body);
    } else {
        let text = BodyText::new(body, content_type);
        let parsed = parse(text.text());
        let mut replacements: Vec<(Range<usize>, String)> =
            redactions(text.text(), &parsed.texts, secrets)
                .into_iter()
                .map(|(r, with)| (text.body_offset(r.start)..text.body_offset(r.end), with))
                .collect();
        replacements.sort_by_key(|(r, _)| r.start);
        let mut at = 0;
        for (range, with) in replacements {
            if range.start < at || range.end > body.len() {
                continue;
            }
            bytes.extend_from_slice(&body[at..range.start]);
            if text_view {
                bytes.extend_from_slice(with.as_bytes());
            } else {
                bytes.extend(std::iter::repeat_n(MASK, range.len()));
            }
            at = range.end;
        }
        bytes.extend_from_slice(&body[at..]);
    }
    if is_text(&bytes) {
        let text = String::from_utf8_lossy(&bytes);
        return text
            .lines()
            .map(|l| {
                let mut spans = vec![Span::raw(" ")];
                spans.extend(marked(l, Style::new(), st.redacted));
                Line::from(spans)
            })
            .collect();
    }
    hex_dump(&bytes, st)
}

/// What a secret's bytes read in a hex dump.
const MASK: u8 = b'*';

/// `original`, line by line, with the part each redacted line changed masked byte for byte
/// (the same length, so offsets stay those of the bytes received).
fn masked_like(original: &str, redacted: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(original.len());
    let mut redacted_lines = redacted.split_inclusive("\r\n");
    for line in original.split_inclusive("\r\n") {
        let changed = redacted_lines.next().unwrap_or(line);
        let (a, b) = (line.as_bytes(), changed.as_bytes());
        let prefix = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let suffix = a[prefix..]
            .iter()
            .rev()
            .zip(b[prefix..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        out.extend_from_slice(&a[..prefix]);
        out.extend(std::iter::repeat_n(MASK, a.len() - prefix - suffix));
        out.extend_from_slice(&a[a.len() - suffix..]);
    }
    out
}

/// `offset  16 bytes in hex  the same as ASCII` lines.
fn hex_dump(bytes: &[u8], st: &Styles) -> Vec<Line<'static>> {
    bytes
        .chunks(16)
        .enumerate()
        .map(|(row, chunk)| {
            let mut hex = String::with_capacity(49);
            for (i, b) in chunk.iter().enumerate() {
                if i == 8 {
                    hex.push(' ');
                }
                hex.push_str(&format!("{b:02x} "));
            }
            let ascii: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        char::from(b)
                    } else {
                        '.'
                    }
                })
                .collect();
            Line::from(vec![
                Span::styled(format!(" {:08x}  ", row * 16), st.note),
                Span::raw(format!("{hex:<49} ")),
                Span::styled(ascii, st.text),
            ])
        })
        .collect()
}

#[cfg(test)]
mod tests;
