//! The streaming SOAP reader: one pass of `quick_xml` events over the decoded body, one small
//! state machine per envelope. No tree is built; only the values kept in the result allocate.
//!
//! Element roles are decided by depth and namespace URI: depth 1 is `Envelope` (SOAP 1.1
//! namespace), depth 2 `Header`/`Body`, depth 3 a header entry or the RPC element (the first
//! element child of Body), deeper ones the RPC's arguments, named by their dotted path below the
//! RPC element. Entities declared in a DTD are never expanded: a reference to one is kept
//! literally (`&name;`).

use quick_xml::XmlVersion;
use quick_xml::events::{BytesRef, BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use super::rpc::{
    Download, DownloadResponse, Event as InformEvent, Fault, FaultStruct, Inform, ParameterFault,
    ParameterValue, Rpc, TransferComplete,
};
use super::{CwmpNs, DecodeLimits, Envelope, Header};
use crate::limits::{Limit, LimitSet};

/// The SOAP 1.1 envelope namespace.
const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// Marker appended to a value cut at `max_value_len` (and to a path cut at
/// `MAX_STORED_PATH_LEN`).
const CUT_MARKER: &str = "…";
/// Longest argument path stored in `Rpc::Other` (real ones are well under 100 bytes).
const MAX_STORED_PATH_LEN: usize = 256;

/// A decoding failure, with its offset in the decoded text.
#[derive(Debug)]
pub(crate) struct TextError {
    pub(crate) offset: u64,
    pub(crate) reason: String,
}

/// Decodes every envelope of `text`; the limits reached on the way go to `hit`.
pub(crate) fn decode_text(
    text: &str,
    limits: &DecodeLimits,
    hit: &mut LimitSet,
) -> Result<Vec<Envelope>, TextError> {
    let mut reader = NsReader::from_str(text);
    let mut state = State::new(limits, hit);
    loop {
        let event_start = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(err) => {
                return Err(TextError {
                    offset: reader.error_position(),
                    reason: err.to_string(),
                });
            }
        };
        let fail = |reason: String| TextError {
            offset: event_start,
            reason,
        };
        match event {
            Event::Start(start) => state.start_read(&reader, &start).map_err(fail)?,
            Event::Empty(start) => {
                state.start_read(&reader, &start).map_err(fail)?;
                state.end();
            }
            Event::End(_) => state.end(),
            Event::Text(text) => state.text(&text.xml10_content()).map_err(fail)?,
            Event::CData(cdata) => state.text(&cdata.xml10_content()).map_err(fail)?,
            Event::GeneralRef(reference) => state.reference(&reference).map_err(fail)?,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
            Event::Eof => break,
        }
    }
    state.finish(reader.buffer_position())
}

/// What an open element is to the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Envelope,
    Header,
    HeaderEntry(HeaderField),
    Body,
    Rpc,
    /// An element below the RPC element; its path is in `State::path`.
    Argument,
    /// Anything else (unknown header blocks, extra Body children, …): skipped with its subtree.
    Skipped,
}

/// The header entries CWMP defines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum HeaderField {
    Id,
    HoldRequests,
    NoMoreRequests,
    SessionTimeout,
    SupportedCwmpVersions,
    UseCwmpVersion,
    Unknown,
}

impl HeaderField {
    fn from_local_name(name: &str) -> HeaderField {
        match name {
            "ID" => HeaderField::Id,
            "HoldRequests" => HeaderField::HoldRequests,
            "NoMoreRequests" => HeaderField::NoMoreRequests,
            "SessionTimeout" => HeaderField::SessionTimeout,
            "SupportedCWMPVersions" => HeaderField::SupportedCwmpVersions,
            "UseCWMPVersion" => HeaderField::UseCwmpVersion,
            _ => HeaderField::Unknown,
        }
    }
}

/// One open element.
#[derive(Debug)]
struct Frame {
    role: Role,
    /// Whether an element child was seen (then the element has no value of its own).
    has_children: bool,
    /// Length of `State::path` before this element's name was appended.
    path_len: usize,
}

/// The envelope being read.
#[derive(Debug, Default)]
struct EnvelopeBuilder {
    /// The first cwmp namespace an element was in.
    used_ns: Option<CwmpNs>,
    /// A cwmp namespace declared on the Envelope element (used if no element is in one).
    declared_ns: Option<CwmpNs>,
    header: Header,
    rpc: Option<RpcBuilder>,
    /// Whether Body already had its first element child.
    body_seen_rpc: bool,
}

/// The RPC being read.
#[derive(Debug)]
enum RpcBuilder {
    Inform(Inform),
    InformResponse(Option<u32>),
    Download(Download),
    DownloadResponse(DownloadResponse),
    TransferComplete(TransferComplete),
    Fault(Fault),
    Other {
        name: String,
        args: Vec<(String, String)>,
    },
}

impl RpcBuilder {
    fn for_element(local_name: &str) -> RpcBuilder {
        match local_name {
            "Inform" => RpcBuilder::Inform(Inform::default()),
            "InformResponse" => RpcBuilder::InformResponse(None),
            "Download" => RpcBuilder::Download(Download::default()),
            "DownloadResponse" => RpcBuilder::DownloadResponse(DownloadResponse::default()),
            "TransferComplete" => RpcBuilder::TransferComplete(TransferComplete::default()),
            "Fault" => RpcBuilder::Fault(Fault::default()),
            name => RpcBuilder::Other {
                name: name.to_owned(),
                args: Vec::new(),
            },
        }
    }

    fn build(self) -> Rpc {
        match self {
            RpcBuilder::Inform(inform) => Rpc::Inform(inform),
            RpcBuilder::InformResponse(max_envelopes) => Rpc::InformResponse { max_envelopes },
            RpcBuilder::Download(download) => Rpc::Download(download),
            RpcBuilder::DownloadResponse(response) => Rpc::DownloadResponse(response),
            RpcBuilder::TransferComplete(complete) => Rpc::TransferComplete(complete),
            RpcBuilder::Fault(fault) => Rpc::Fault(fault),
            RpcBuilder::Other { name, args } => Rpc::Other { name, args },
        }
    }

    /// An argument element opened at `path`; `xsi_type` reads its `xsi:type` when asked.
    /// Returns false when the element starts a list item (EventStruct, ParameterValueStruct,
    /// SetParameterValuesFault) that was dropped because the list is full.
    fn open(
        &mut self,
        path: &str,
        max_items: usize,
        xsi_type: impl FnOnce() -> Option<String>,
    ) -> bool {
        match self {
            RpcBuilder::Inform(inform) => match path {
                "Event.EventStruct" => {
                    let kept = inform.events.len() < max_items;
                    if kept {
                        inform.events.push(InformEvent {
                            code: String::new(),
                            command_key: String::new(),
                        });
                    }
                    kept
                }
                "ParameterList.ParameterValueStruct" => {
                    let kept = inform.parameters.len() < max_items;
                    if kept {
                        inform.parameters.push(ParameterValue {
                            name: String::new(),
                            value: String::new(),
                            xsi_type: None,
                        });
                    }
                    kept
                }
                "ParameterList.ParameterValueStruct.Value" => {
                    if let Some(parameter) = inform.parameters.last_mut() {
                        parameter.xsi_type = xsi_type();
                    }
                    true
                }
                _ => true,
            },
            RpcBuilder::Fault(fault) if path == "detail.Fault.SetParameterValuesFault" => {
                let kept = fault.parameter_faults.len() < max_items;
                if kept {
                    fault.parameter_faults.push(ParameterFault::default());
                }
                kept
            }
            _ => true,
        }
    }

    /// A leaf argument closed at `path` with `value`. Returns false when it was dropped
    /// because the RPC's arguments are full.
    fn leaf(&mut self, path: &str, value: &str, max_items: usize) -> bool {
        match self {
            RpcBuilder::Inform(inform) => inform_leaf(inform, path, value),
            RpcBuilder::InformResponse(max_envelopes) => {
                if path == "MaxEnvelopes" {
                    *max_envelopes = value.parse().ok();
                }
            }
            RpcBuilder::Download(download) => download_leaf(download, path, value),
            RpcBuilder::DownloadResponse(response) => match path {
                "Status" => response.status = value.parse().ok(),
                "StartTime" => response.start_time = value.to_owned(),
                "CompleteTime" => response.complete_time = value.to_owned(),
                _ => {}
            },
            RpcBuilder::TransferComplete(complete) => match path {
                "CommandKey" => complete.command_key = value.to_owned(),
                "FaultStruct.FaultCode" => complete.fault.code = value.parse().ok(),
                "FaultStruct.FaultString" => complete.fault.string = value.to_owned(),
                "StartTime" => complete.start_time = value.to_owned(),
                "CompleteTime" => complete.complete_time = value.to_owned(),
                _ => {}
            },
            RpcBuilder::Fault(fault) => fault_leaf(fault, path, value),
            RpcBuilder::Other { args, .. } => {
                if args.len() >= max_items {
                    return false;
                }
                args.push((bounded_path(path), value.to_owned()));
            }
        }
        true
    }
}

fn inform_leaf(inform: &mut Inform, path: &str, value: &str) {
    match path {
        "DeviceId.Manufacturer" => inform.device_id.manufacturer = value.to_owned(),
        "DeviceId.OUI" => inform.device_id.oui = value.to_owned(),
        "DeviceId.ProductClass" => inform.device_id.product_class = value.to_owned(),
        "DeviceId.SerialNumber" => inform.device_id.serial_number = value.to_owned(),
        "MaxEnvelopes" => inform.max_envelopes = value.parse().ok(),
        "CurrentTime" => inform.current_time = Some(value.to_owned()),
        "RetryCount" => inform.retry_count = value.parse().ok(),
        "Event.EventStruct.EventCode" => {
            if let Some(event) = inform.events.last_mut() {
                event.code = value.to_owned();
            }
        }
        "Event.EventStruct.CommandKey" => {
            if let Some(event) = inform.events.last_mut() {
                event.command_key = value.to_owned();
            }
        }
        "ParameterList.ParameterValueStruct.Name" => {
            if let Some(parameter) = inform.parameters.last_mut() {
                parameter.name = value.to_owned();
            }
        }
        "ParameterList.ParameterValueStruct.Value" => {
            if let Some(parameter) = inform.parameters.last_mut() {
                parameter.value = value.to_owned();
            }
        }
        _ => {}
    }
}

fn download_leaf(download: &mut Download, path: &str, value: &str) {
    match path {
        "CommandKey" => download.command_key = value.to_owned(),
        "FileType" => download.file_type = value.to_owned(),
        "URL" => download.url = value.to_owned(),
        "Username" => download.username = value.to_owned(),
        "Password" => download.password = value.to_owned(),
        "FileSize" => download.file_size = value.parse().ok(),
        "TargetFileName" => download.target_file_name = value.to_owned(),
        "DelaySeconds" => download.delay_seconds = value.parse().ok(),
        "SuccessURL" => download.success_url = value.to_owned(),
        "FailureURL" => download.failure_url = value.to_owned(),
        _ => {}
    }
}

fn fault_leaf(fault: &mut Fault, path: &str, value: &str) {
    match path {
        "faultcode" => fault.soap_faultcode = value.to_owned(),
        "faultstring" => fault.soap_faultstring = value.to_owned(),
        "detail.Fault.FaultCode" => fault.cwmp.code = value.parse().ok(),
        "detail.Fault.FaultString" => fault.cwmp.string = value.to_owned(),
        "detail.Fault.SetParameterValuesFault.ParameterName" => {
            if let Some(entry) = fault.parameter_faults.last_mut() {
                entry.parameter_name = value.to_owned();
            }
        }
        "detail.Fault.SetParameterValuesFault.FaultCode" => {
            if let Some(entry) = fault.parameter_faults.last_mut() {
                entry.fault.code = value.parse().ok();
            }
        }
        "detail.Fault.SetParameterValuesFault.FaultString" => {
            if let Some(entry) = fault.parameter_faults.last_mut() {
                entry.fault = FaultStruct {
                    code: entry.fault.code,
                    string: value.to_owned(),
                };
            }
        }
        _ => {}
    }
}

/// A start tag as the decoder sees it, from whichever tokenizer read it.
pub(super) trait StartTag {
    /// The name as written, prefix included.
    fn qname(&self) -> &str;
    /// The first cwmp namespace declared on the tag (`xmlns` or `xmlns:*`).
    fn declared_cwmp_ns(&self) -> Option<CwmpNs>;
    /// The `xsi:type` attribute, trimmed (see [`xsi_type`]).
    fn xsi_type(&self) -> Option<String>;
}

/// A start tag read by quick-xml, with the reader that resolves its prefixes.
struct QuickXmlTag<'r, 'i, 's> {
    reader: &'r NsReader<&'i [u8]>,
    start: &'r BytesStart<'s>,
}

impl StartTag for QuickXmlTag<'_, '_, '_> {
    fn qname(&self) -> &str {
        self.start.name().0
    }

    fn declared_cwmp_ns(&self) -> Option<CwmpNs> {
        self.start
            .attributes()
            .flatten()
            .find_map(|attribute| cwmp_ns_declared_by(attribute.key.as_ref(), &attribute.value))
    }

    fn xsi_type(&self) -> Option<String> {
        xsi_type(self.reader, self.start)
    }
}

/// The cwmp namespace an attribute declares, when it is a namespace declaration (`xmlns` or
/// `xmlns:prefix`) of one.
pub(super) fn cwmp_ns_declared_by(key: &str, value: &str) -> Option<CwmpNs> {
    let is_declaration = key == "xmlns" || key.starts_with("xmlns:");
    is_declaration
        .then(|| CwmpNs::from_uri(value.trim()))
        .flatten()
}

/// The decoder state across the whole body.
pub(super) struct State<'l> {
    limits: &'l DecodeLimits,
    /// The limits reached so far.
    hit: &'l mut LimitSet,
    /// Elements opened so far.
    elements: usize,
    envelopes: Vec<Envelope>,
    current: Option<EnvelopeBuilder>,
    stack: Vec<Frame>,
    /// Dotted path of the open argument elements below the RPC element.
    path: String,
    /// Text of the innermost open element (leading whitespace dropped, cut at the limit).
    text: String,
    /// Whether `text` was cut.
    text_cut: bool,
    /// Set when a list item (EventStruct, …) was dropped because of `max_args`; leaves below it
    /// must then not land in the previous item.
    dropped_item_depth: Option<usize>,
}

impl<'l> State<'l> {
    pub(super) fn new(limits: &'l DecodeLimits, hit: &'l mut LimitSet) -> Self {
        State {
            limits,
            hit,
            elements: 0,
            envelopes: Vec::new(),
            current: None,
            stack: Vec::new(),
            path: String::new(),
            text: String::new(),
            text_cut: false,
            dropped_item_depth: None,
        }
    }

    /// A start tag read by quick-xml.
    fn start_read(
        &mut self,
        reader: &NsReader<&[u8]>,
        start: &BytesStart<'_>,
    ) -> Result<(), String> {
        let (resolved, local_name) = reader.resolver().resolve_element(start.name());
        let namespace = match resolved {
            ResolveResult::Bound(namespace) => Some(namespace.0),
            _ => None,
        };
        self.start(
            &QuickXmlTag { reader, start },
            namespace,
            local_name.as_ref(),
        )
    }

    /// An element opened: `namespace` is its resolved namespace URI (None when unbound or the
    /// prefix is unknown), `local_name` its name without the prefix.
    pub(super) fn start(
        &mut self,
        tag: &impl StartTag,
        namespace: Option<&str>,
        local_name: &str,
    ) -> Result<(), String> {
        let depth = self.stack.len();
        if depth >= self.limits.max_depth {
            self.hit.insert(Limit::XmlDepth);
            return Err(format!(
                "elements nested deeper than {} levels",
                self.limits.max_depth
            ));
        }
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            self.hit.insert(Limit::XmlElements);
            return Err(format!(
                "more than {} elements in one body",
                self.limits.max_elements
            ));
        }
        if let Some(parent) = self.stack.last_mut() {
            parent.has_children = true;
        }
        self.text.clear();
        self.text_cut = false;
        let path_len = self.path.len();

        let parent_role = self.stack.last().map(|frame| frame.role);
        let role = match parent_role {
            None => {
                self.open_envelope(tag, local_name, namespace)?;
                Role::Envelope
            }
            Some(Role::Envelope) => match (namespace, local_name) {
                (Some(SOAP_ENV_NS), "Header") => Role::Header,
                (Some(SOAP_ENV_NS), "Body") => Role::Body,
                _ => Role::Skipped,
            },
            Some(Role::Header) => {
                let is_cwmp = namespace.is_none_or(|ns| ns.starts_with(super::CWMP_NS_PREFIX));
                if is_cwmp {
                    Role::HeaderEntry(HeaderField::from_local_name(local_name))
                } else {
                    Role::Skipped
                }
            }
            Some(Role::Body) => match self.current.as_mut() {
                Some(envelope) if !envelope.body_seen_rpc => {
                    envelope.body_seen_rpc = true;
                    envelope.rpc = Some(RpcBuilder::for_element(local_name));
                    Role::Rpc
                }
                _ => Role::Skipped,
            },
            Some(Role::Rpc | Role::Argument) => {
                if !self.path.is_empty() {
                    self.path.push('.');
                }
                self.path.push_str(local_name);
                self.open_argument(tag, depth);
                Role::Argument
            }
            Some(Role::HeaderEntry(_) | Role::Skipped) => Role::Skipped,
        };
        if let (Some(envelope), Some(ns)) = (self.current.as_mut(), namespace)
            && envelope.used_ns.is_none()
            && role != Role::Skipped
        {
            envelope.used_ns = CwmpNs::from_uri(ns);
        }
        self.stack.push(Frame {
            role,
            has_children: false,
            path_len,
        });
        Ok(())
    }

    fn open_envelope(
        &mut self,
        tag: &impl StartTag,
        local_name: &str,
        namespace: Option<&str>,
    ) -> Result<(), String> {
        if local_name != "Envelope" || namespace != Some(SOAP_ENV_NS) {
            return Err(format!(
                "root element <{}> is not a SOAP 1.1 Envelope",
                tag.qname()
            ));
        }
        if self.envelopes.len() >= self.limits.max_envelopes {
            self.hit.insert(Limit::XmlEnvelopes);
            return Err(format!(
                "more than {} envelopes in one body",
                self.limits.max_envelopes
            ));
        }
        let declared_ns = tag.declared_cwmp_ns();
        self.current = Some(EnvelopeBuilder {
            declared_ns,
            ..EnvelopeBuilder::default()
        });
        Ok(())
    }

    fn open_argument(&mut self, tag: &impl StartTag, depth: usize) {
        if self.dropped_item_depth.is_some() {
            return;
        }
        let Some(rpc) = self.current.as_mut().and_then(|e| e.rpc.as_mut()) else {
            return;
        };
        if !rpc.open(&self.path, self.limits.max_args, || tag.xsi_type()) {
            self.dropped_item_depth = Some(depth);
            self.hit.insert(Limit::RpcArgs);
        }
    }

    /// The innermost open element closed.
    pub(super) fn end(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let depth = self.stack.len();
        match frame.role {
            Role::Envelope => {
                if let Some(envelope) = self.current.take() {
                    self.envelopes.push(Envelope {
                        ns: envelope.used_ns.or(envelope.declared_ns),
                        header: envelope.header,
                        rpc: envelope.rpc.map_or(Rpc::Empty, RpcBuilder::build),
                    });
                }
            }
            Role::HeaderEntry(field) if !frame.has_children => {
                let value = finish_value(&mut self.text, self.text_cut);
                if let Some(envelope) = self.current.as_mut() {
                    set_header_field(&mut envelope.header, field, value);
                }
            }
            Role::Argument => {
                if !frame.has_children && self.dropped_item_depth.is_none() {
                    let value = finish_value(&mut self.text, self.text_cut);
                    let max_args = self.limits.max_args;
                    if let Some(rpc) = self.current.as_mut().and_then(|e| e.rpc.as_mut())
                        && !rpc.leaf(&self.path, value, max_args)
                    {
                        self.hit.insert(Limit::RpcArgs);
                    }
                }
                if self.dropped_item_depth == Some(depth) {
                    self.dropped_item_depth = None;
                }
                self.path.truncate(frame.path_len);
            }
            _ => {}
        }
        self.text.clear();
        self.text_cut = false;
    }

    /// Whether the innermost open element may have a value worth keeping.
    fn wants_text(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                role: Role::HeaderEntry(_) | Role::Argument,
                has_children: false,
                ..
            })
        )
    }

    /// Text (EOL-normalized, references excluded) inside or between elements.
    pub(super) fn text(&mut self, piece: &str) -> Result<(), String> {
        if self.stack.is_empty() {
            if piece.trim_ascii().is_empty() {
                return Ok(());
            }
            return Err("text outside the Envelope".to_owned());
        }
        if self.wants_text() {
            self.push_text(piece);
        }
        Ok(())
    }

    /// A character or entity reference: the five predefined entities and character references
    /// are resolved, any other name is kept as written.
    pub(super) fn reference(&mut self, reference: &BytesRef<'_>) -> Result<(), String> {
        if self.stack.is_empty() {
            return Err("entity reference outside the Envelope".to_owned());
        }
        if !self.wants_text() {
            return Ok(());
        }
        let mut utf8 = [0u8; 4];
        match reference.resolve_char_ref() {
            Ok(Some(ch)) => self.push_text(ch.encode_utf8(&mut utf8)),
            Ok(None) => {
                let name: &str = &reference.xml10_content();
                match predefined_entity(name) {
                    Some(text) => self.push_text(text),
                    None => {
                        self.push_text("&");
                        self.push_text(name);
                        self.push_text(";");
                    }
                }
            }
            Err(err) => return Err(err.to_string()),
        }
        Ok(())
    }

    /// Appends to the current value, dropping leading whitespace and cutting at the limit.
    fn push_text(&mut self, piece: &str) {
        let piece = if self.text.is_empty() {
            piece.trim_start()
        } else {
            piece
        };
        if piece.is_empty() || self.text_cut {
            return;
        }
        let room = self.limits.max_value_len.saturating_sub(self.text.len());
        if piece.len() <= room {
            self.text.push_str(piece);
        } else {
            let mut cut = room;
            while !piece.is_char_boundary(cut) {
                cut -= 1;
            }
            self.text.push_str(piece.get(..cut).unwrap_or_default());
            self.text_cut = true;
            self.hit.insert(Limit::XmlValueBytes);
        }
    }

    /// The envelopes read, once the whole text was read (`end_offset` is its length).
    pub(super) fn finish(self, end_offset: u64) -> Result<Vec<Envelope>, TextError> {
        if let Some(frame) = self.stack.first() {
            let what = if frame.role == Role::Envelope {
                "Envelope"
            } else {
                "element"
            };
            return Err(TextError {
                offset: end_offset,
                reason: format!(
                    "input ends inside the {what} ({} element(s) not closed)",
                    self.stack.len()
                ),
            });
        }
        if self.envelopes.is_empty() {
            return Err(TextError {
                offset: end_offset,
                reason: "no SOAP Envelope element".to_owned(),
            });
        }
        Ok(self.envelopes)
    }
}

/// The value of the element just closed: `text` without trailing whitespace, with the cut
/// marker when it was cut.
fn finish_value(text: &mut String, cut: bool) -> &str {
    let kept = text.trim_end().len();
    text.truncate(kept);
    if cut {
        text.push_str(CUT_MARKER);
    }
    text
}

/// An argument path as stored: cut at `MAX_STORED_PATH_LEN` (with the cut marker) so that deep
/// nesting of long names cannot multiply memory by the number of leaves.
fn bounded_path(path: &str) -> String {
    if path.len() <= MAX_STORED_PATH_LEN {
        return path.to_owned();
    }
    let mut cut = MAX_STORED_PATH_LEN;
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut stored = path.get(..cut).unwrap_or_default().to_owned();
    stored.push_str(CUT_MARKER);
    stored
}

fn set_header_field(header: &mut Header, field: HeaderField, value: &str) {
    match field {
        HeaderField::Id => header.id = Some(value.to_owned()),
        HeaderField::HoldRequests => header.hold_requests = parse_bool(value),
        HeaderField::NoMoreRequests => header.no_more_requests = parse_bool(value),
        HeaderField::SessionTimeout => header.session_timeout = value.parse().ok(),
        HeaderField::SupportedCwmpVersions => {
            header.supported_cwmp_versions = Some(value.to_owned())
        }
        HeaderField::UseCwmpVersion => header.use_cwmp_version = Some(value.to_owned()),
        HeaderField::Unknown => {}
    }
}

/// XML Schema boolean (`0`, `1`, `true`, `false`), case-insensitive.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" => Some(true),
        "0" => Some(false),
        v if v.eq_ignore_ascii_case("true") => Some(true),
        v if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// The five entities XML predefines.
fn predefined_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "apos" => "'",
        "quot" => "\"",
        _ => return None,
    })
}

/// The `xsi:type` attribute of `start`: local name `type` in any XML Schema instance namespace
/// (1999, 2000/10 and 2001 are all seen), or under an undeclared `xsi` prefix.
fn xsi_type(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Option<String> {
    start.attributes().flatten().find_map(|attribute| {
        let (resolved, local_name) = reader.resolver().resolve_attribute(attribute.key);
        if local_name.as_ref() != "type" {
            return None;
        }
        let is_xsi = match resolved {
            ResolveResult::Bound(namespace) => namespace.0.ends_with("/XMLSchema-instance"),
            ResolveResult::Unknown(prefix) => prefix == "xsi",
            ResolveResult::Unbound => false,
        };
        if !is_xsi {
            return None;
        }
        let value = attribute
            .normalized_value(XmlVersion::Implicit1_0)
            .map_or_else(|_| attribute.value.to_string(), |v| v.into_owned());
        Some(value.trim().to_owned())
    })
}
