//! The fast reader for the common body: a well-formed SOAP envelope of plain tags, attributes,
//! text and references, with XML declarations. It feeds the same decoder state (`soap::State`)
//! as the quick-xml reader, text and references as quick-xml's events carry them, but resolves
//! namespaces on borrowed slices and copies nothing it does not keep.
//!
//! It is stricter than quick-xml, never more lenient: on anything else (comments, CDATA,
//! DOCTYPE, processing instructions, names outside ASCII, unusual attribute syntax, reserved
//! prefixes, any error or limit) it gives up and the body is read again by quick-xml. Results,
//! limits and error reports therefore never depend on which reader ran; the `cwmp_xml` fuzz
//! target checks that both give the same answer.

use memchr::{memchr, memmem};

use quick_xml::events::{BytesRef, BytesText};

use super::soap::{StartTag, State, cwmp_ns_declared_by};
use super::{CwmpNs, DecodeLimits, Envelope};
use crate::limits::LimitSet;

/// Most attributes on one tag before giving up (real envelopes carry a handful).
const MAX_ATTRIBUTES: usize = 32;
/// Most namespace bindings in scope before giving up (quick-xml refuses more than 128).
const MAX_BINDINGS: usize = 64;
/// The namespaces that only the reserved prefixes may name.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// The reader gave up: the body must be read by quick-xml.
struct GiveUp;

/// Decodes every envelope of `text`, or None when the body needs the full reader. The limits
/// reached go to `hit` only when it succeeds.
pub(super) fn decode_text(
    text: &str,
    limits: &DecodeLimits,
    hit: &mut LimitSet,
) -> Option<Vec<Envelope>> {
    let mut reached = LimitSet::default();
    let state = State::new(limits, &mut reached);
    let envelopes = Scanner::new(text).run(state).ok()?;
    hit.extend(reached);
    Some(envelopes)
}

/// A namespace prefix in scope (`""` for the default namespace).
struct Binding<'t> {
    prefix: &'t str,
    uri: &'t str,
    /// Depth of the element that declared it (0 for the root).
    depth: usize,
}

/// A plain qualified name: `local` or `prefix:local`, ASCII, each part starting with a letter
/// or `_`.
#[derive(Clone, Copy)]
struct Name<'t> {
    qname: &'t str,
    /// Where the colon is, if there is a prefix.
    colon: Option<usize>,
}

impl<'t> Name<'t> {
    fn prefix(self) -> Option<&'t str> {
        self.colon.and_then(|colon| self.qname.get(..colon))
    }

    fn local(self) -> &'t str {
        match self.colon {
            Some(colon) => self.qname.get(colon + 1..).unwrap_or_default(),
            None => self.qname,
        }
    }

    /// Whether it declares a namespace (`xmlns` or `xmlns:prefix`), as quick-xml decides it.
    fn is_binding(self) -> bool {
        self.qname == "xmlns" || self.prefix() == Some("xmlns")
    }
}

/// One attribute of the tag being read; its value holds no reference, tab or line break, so
/// it equals its normalized value.
struct Attribute<'t> {
    name: Name<'t>,
    value: &'t str,
}

/// A start tag read by the scanner, with the bindings in scope for it.
struct LeanTag<'a, 't> {
    qname: &'t str,
    attributes: &'a [Attribute<'t>],
    bindings: &'a [Binding<'t>],
}

impl StartTag for LeanTag<'_, '_> {
    fn qname(&self) -> &str {
        self.qname
    }

    fn declared_cwmp_ns(&self) -> Option<CwmpNs> {
        self.attributes
            .iter()
            .find_map(|attribute| cwmp_ns_declared_by(attribute.name.qname, attribute.value))
    }

    fn xsi_type(&self) -> Option<String> {
        self.attributes.iter().find_map(|attribute| {
            let name = attribute.name;
            if name.is_binding() || name.local() != "type" {
                return None;
            }
            let prefix = name.prefix()?;
            let is_xsi = match resolve_prefix(self.bindings, prefix) {
                Some(uri) => uri.ends_with("/XMLSchema-instance"),
                None => prefix == "xsi",
            };
            is_xsi.then(|| attribute.value.trim().to_owned())
        })
    }
}

/// The URI bound to `prefix` (`""` for the default namespace) in `bindings`, innermost first.
fn resolve_prefix<'t>(bindings: &[Binding<'t>], prefix: &str) -> Option<&'t str> {
    bindings
        .iter()
        .rev()
        .find(|binding| binding.prefix == prefix)
        .map(|binding| binding.uri)
}

/// What a byte can be in a plain name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NameByte {
    /// Ends the name.
    Other,
    /// A letter or `_`: may start a part.
    Start,
    /// A digit, `-` or `.`.
    More,
    Colon,
}

const NAME_BYTES: [NameByte; 256] = {
    let mut table = [NameByte::Other; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = if b.is_ascii_alphabetic() || b == b'_' {
            NameByte::Start
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            NameByte::More
        } else if b == b':' {
            NameByte::Colon
        } else {
            NameByte::Other
        };
        byte += 1;
    }
    table
};

fn name_byte(byte: u8) -> NameByte {
    NAME_BYTES[usize::from(byte)]
}

fn is_xml_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// The scanner over one body.
struct Scanner<'t> {
    text: &'t str,
    pos: usize,
    /// Qualified names of the open elements.
    open: Vec<&'t str>,
    bindings: Vec<Binding<'t>>,
    attributes: Vec<Attribute<'t>>,
}

impl<'t> Scanner<'t> {
    fn new(text: &'t str) -> Self {
        Scanner {
            text,
            pos: 0,
            open: Vec::new(),
            bindings: Vec::new(),
            attributes: Vec::new(),
        }
    }

    fn byte(&self, at: usize) -> Result<u8, GiveUp> {
        self.text.as_bytes().get(at).copied().ok_or(GiveUp)
    }

    fn slice(&self, from: usize, to: usize) -> Result<&'t str, GiveUp> {
        self.text.get(from..to).ok_or(GiveUp)
    }

    fn run(mut self, mut state: State<'_>) -> Result<Vec<Envelope>, GiveUp> {
        let bytes = self.text.as_bytes();
        loop {
            let rest = bytes.get(self.pos..).unwrap_or_default();
            let markup = memchr(b'<', rest).map_or(bytes.len(), |at| self.pos + at);
            if markup > self.pos {
                let run = self.slice(self.pos, markup)?;
                self.text_run(&mut state, run)?;
            }
            if markup == bytes.len() {
                break;
            }
            self.pos = markup;
            match self.byte(markup + 1)? {
                b'/' => self.end_tag(&mut state)?,
                b'?' => self.skip_declaration()?,
                b'!' => return Err(GiveUp),
                _ => self.start_tag(&mut state)?,
            }
        }
        if !self.open.is_empty() {
            return Err(GiveUp);
        }
        state.finish(bytes.len() as u64).map_err(|_| GiveUp)
    }

    /// Skips `<?xml …?>` at `self.pos`, up to the first `?>` as quick-xml does; the decoder
    /// ignores quick-xml's `Decl` events (one per envelope where bodies hold several).
    fn skip_declaration(&mut self) -> Result<(), GiveUp> {
        let rest = self.text.as_bytes().get(self.pos..).ok_or(GiveUp)?;
        if !rest.starts_with(b"<?xml") || !rest.get(5).is_some_and(|&b| is_xml_space(b)) {
            return Err(GiveUp);
        }
        let end = memmem::find(rest.get(5..).unwrap_or_default(), b"?>").ok_or(GiveUp)?;
        self.pos += 5 + end + 2;
        Ok(())
    }

    /// Text up to the next markup: plain pieces and references, as quick-xml's `Text` and
    /// `GeneralRef` events give them.
    fn text_run(&mut self, state: &mut State<'_>, run: &'t str) -> Result<(), GiveUp> {
        let mut rest = run;
        while let Some(amp) = memchr(b'&', rest.as_bytes()) {
            let (before, after) = (rest.get(..amp), rest.get(amp + 1..));
            let (Some(before), Some(after)) = (before, after) else {
                return Err(GiveUp);
            };
            self.plain_text(state, before)?;
            let semicolon = memchr(b';', after.as_bytes()).ok_or(GiveUp)?;
            let name = after.get(..semicolon).ok_or(GiveUp)?;
            if name.contains('&') {
                // quick-xml's "unclosed reference".
                return Err(GiveUp);
            }
            state.reference(&BytesRef::new(name)).map_err(|_| GiveUp)?;
            rest = after.get(semicolon + 1..).ok_or(GiveUp)?;
        }
        self.plain_text(state, rest)
    }

    /// Text without references, its line breaks normalized as quick-xml's `Text` events give
    /// it.
    fn plain_text(&self, state: &mut State<'_>, piece: &str) -> Result<(), GiveUp> {
        let text = BytesText::from_escaped(piece);
        state.text(&text.xml10_content()).map_err(|_| GiveUp)
    }

    /// `<name attributes>` or `<name attributes/>` at `self.pos`.
    fn start_tag(&mut self, state: &mut State<'_>) -> Result<(), GiveUp> {
        let name = self.name_at(self.pos + 1)?;
        let mut at = self.pos + 1 + name.qname.len();
        self.attributes.clear();
        let empty = loop {
            match self.byte(at)? {
                b'>' => {
                    at += 1;
                    break false;
                }
                b'/' if self.byte(at + 1)? == b'>' => {
                    at += 2;
                    break true;
                }
                b if is_xml_space(b) => {
                    while is_xml_space(self.byte(at)?) {
                        at += 1;
                    }
                    if !matches!(self.byte(at)?, b'>' | b'/') {
                        at = self.attribute_at(at)?;
                    }
                }
                _ => return Err(GiveUp),
            }
        };
        self.pos = at;

        let depth = self.open.len();
        for attribute in &self.attributes {
            if !attribute.name.is_binding() {
                continue;
            }
            let prefix = attribute.name.colon.map_or("", |_| attribute.name.local());
            let reserved = matches!(prefix, "xml" | "xmlns")
                || matches!(attribute.value, "" | XML_NS | XMLNS_NS);
            if reserved || self.bindings.len() >= MAX_BINDINGS {
                return Err(GiveUp);
            }
            self.bindings.push(Binding {
                prefix,
                uri: attribute.value,
                depth,
            });
        }
        let prefix = name.prefix();
        if matches!(prefix, Some("xml" | "xmlns")) {
            return Err(GiveUp);
        }
        let namespace = resolve_prefix(&self.bindings, prefix.unwrap_or(""));
        let tag = LeanTag {
            qname: name.qname,
            attributes: &self.attributes,
            bindings: &self.bindings,
        };
        state
            .start(&tag, namespace, name.local())
            .map_err(|_| GiveUp)?;
        if empty {
            state.end();
            self.pop_bindings(depth);
        } else {
            self.open.push(name.qname);
        }
        Ok(())
    }

    /// `</name>` at `self.pos`, closing the innermost open element.
    fn end_tag(&mut self, state: &mut State<'_>) -> Result<(), GiveUp> {
        let qname = self.name_at(self.pos + 2)?.qname;
        let close = self.pos + 2 + qname.len();
        if self.byte(close)? != b'>' || self.open.pop() != Some(qname) {
            return Err(GiveUp);
        }
        self.pos = close + 1;
        state.end();
        self.pop_bindings(self.open.len());
        Ok(())
    }

    /// Drops the bindings declared at `depth` or deeper.
    fn pop_bindings(&mut self, depth: usize) {
        while self.bindings.last().is_some_and(|b| b.depth >= depth) {
            self.bindings.pop();
        }
    }

    /// The plain qualified name starting at `at` (something must follow it).
    fn name_at(&self, at: usize) -> Result<Name<'t>, GiveUp> {
        if name_byte(self.byte(at)?) != NameByte::Start {
            return Err(GiveUp);
        }
        let mut end = at + 1;
        let mut colon = None;
        loop {
            match name_byte(self.byte(end)?) {
                NameByte::Start | NameByte::More => end += 1,
                NameByte::Colon => {
                    if colon.is_some() || name_byte(self.byte(end + 1)?) != NameByte::Start {
                        return Err(GiveUp);
                    }
                    colon = Some(end - at);
                    end += 2;
                }
                NameByte::Other => break,
            }
        }
        Ok(Name {
            qname: self.slice(at, end)?,
            colon,
        })
    }

    /// `name = "value"` (or `'value'`) at `at`; returns where it ends.
    fn attribute_at(&mut self, mut at: usize) -> Result<usize, GiveUp> {
        let name = self.name_at(at)?;
        at += name.qname.len();
        while is_xml_space(self.byte(at)?) {
            at += 1;
        }
        if self.byte(at)? != b'=' {
            return Err(GiveUp);
        }
        at += 1;
        while is_xml_space(self.byte(at)?) {
            at += 1;
        }
        let quote = self.byte(at)?;
        if quote != b'"' && quote != b'\'' {
            return Err(GiveUp);
        }
        let value_start = at + 1;
        let rest = self.text.as_bytes().get(value_start..).ok_or(GiveUp)?;
        let value_end = value_start + memchr(quote, rest).ok_or(GiveUp)?;
        let value = self.slice(value_start, value_end)?;
        let plain = value
            .bytes()
            .all(|b| !matches!(b, b'<' | b'&' | b'\t' | b'\n' | b'\r'));
        let duplicate = self.attributes.iter().any(|a| a.name.qname == name.qname);
        if !plain || duplicate || self.attributes.len() >= MAX_ATTRIBUTES {
            return Err(GiveUp);
        }
        self.attributes.push(Attribute { name, value });
        Ok(value_end + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lean(text: &str) -> Option<Vec<Envelope>> {
        decode_text(text, &DecodeLimits::default(), &mut LimitSet::default())
    }

    #[test]
    fn plain_qualified_names_only() {
        let name = |text: &str| {
            let text = format!("{text}>");
            Scanner::new(&text)
                .name_at(0)
                .ok()
                .map(|name| (name.prefix().map(str::to_owned), name.local().to_owned()))
        };
        let some =
            |prefix: Option<&str>, local: &str| Some((prefix.map(str::to_owned), local.to_owned()));
        assert_eq!(name("a"), some(None, "a"));
        assert_eq!(name("cwmp:Inform"), some(Some("cwmp"), "Inform"));
        assert_eq!(name("soap-env:Body"), some(Some("soap-env"), "Body"));
        assert_eq!(name("_x.b-c_1"), some(None, "_x.b-c_1"));
        for refused in ["", "1a", ":a", "a:", "a:b:c", "-a", "a:1", "é"] {
            assert_eq!(name(refused), None, "{refused}");
        }
    }

    #[test]
    fn gives_up_on_what_it_does_not_model() {
        let body = |inner: &str| {
            format!(
                r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Body><cwmp:X>{inner}</cwmp:X></soap:Body></soap:Envelope>"#
            )
        };
        assert!(lean(&body("<A>1</A>")).is_some());
        // A name the body never declares is kept as written, as quick-xml's reader keeps it.
        assert!(lean(&body("<A>&nbsp;</A>")).is_some());
        for inner in [
            "<!-- comment -->",
            "<![CDATA[x]]>",
            "<?pi x?>",
            "<A>&a&b;</A>",
            "<A>&#0;</A>",
            "<A>&amp</A>",
            "<A b=\"1\" b=\"2\"/>",
            "<A b=\"x&amp;y\"/>",
            "<A b=1/>",
            "<A b=\"1\"c=\"2\"/>",
            "<A></B>",
            "<A ></A >",
            "<Ä/>",
            "<xml:A/>",
            "<A xmlns:p=\"\"/>",
            "<A xmlns=\"\"/>",
            "<A xmlns:xml=\"http://www.w3.org/XML/1998/namespace\"/>",
            "<A",
        ] {
            assert!(lean(&body(inner)).is_none(), "{inner}");
        }
        assert!(lean("<!DOCTYPE x><x/>").is_none());
        assert!(lean("\u{feff}<x/>").is_none());
        // Errors are left to quick-xml, so that their reason and offset are its own.
        assert!(lean("<x/>").is_none());
        assert!(lean(&body("<A>")).is_none());
    }
}
