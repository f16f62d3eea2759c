//! CWMP scenario builders: the HTTP/SOAP bytes and TCP connection scripts of CWMP
//! conversations, from a struct of options with realistic defaults.
//!
//! [`reference_flow`] assembles the configuration-update ladder (Inform → 401 → Inform with
//! credentials → InformResponse + Download → DownloadResponse → empty 200; file fetch with its
//! own challenge; TRANSFER COMPLETE session) and its accepted variants (MaxEnvelopes 1, cookie
//! across connections, firmware image, DownloadResponse Status 0, Connection Request first,
//! Basic or no authentication). The pieces ([`FlowBuilder`]'s methods) can be called one by one
//! to assemble other flows, and every returned [`Connection`] can still be edited (stretch a
//! delay, change the end) before rendering.

use super::conversation::{At, Connection, End, MS, SECOND};
use super::http::{AuthScheme, Authenticator, Credentials, HttpMessage};
use super::rng::SplitMix64;
use super::soap::{self, DeviceId, DownloadArgs, InformArgs, SoapHeader, SoapStyle, UNKNOWN_TIME};
use crate::types::{Nanos, format_ts};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Content type of CWMP requests and responses.
const SOAP_CONTENT_TYPE: &str = "text/xml; charset=\"utf-8\"";
/// 2026-11-27T10:00:00Z, the default start of generated flows.
pub const DEFAULT_START: Nanos = 1_795_773_600 * SECOND;

/// Delays of a flow. Every gap between two messages is one of these, so a variant can stretch
/// exactly one kind of gap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// Round-trip time of every connection.
    pub rtt: Nanos,
    /// CPE processing time before each request it sends.
    pub cpe_think: Nanos,
    /// ACS processing time before each response.
    pub acs_think: Nanos,
    /// File-server processing time before each response.
    pub file_server_think: Nanos,
    /// Delay between the last message and the FIN.
    pub close_delay: Nanos,
    /// From the end of the Download session to the file GET's connection.
    pub file_fetch_delay: Nanos,
    /// From the file's arrival to the TRANSFER COMPLETE session (applying, maybe rebooting).
    pub apply_delay: Nanos,
    /// From the Connection Request's end to the CPE's session.
    pub connection_request_to_inform: Nanos,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            rtt: 10 * MS,
            cpe_think: 5 * MS,
            acs_think: 8 * MS,
            file_server_think: 3 * MS,
            close_delay: 2 * MS,
            file_fetch_delay: SECOND,
            apply_delay: 4 * SECOND,
            connection_request_to_inform: 300 * MS,
        }
    }
}

/// What the Download transfers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `3 Vendor Configuration File`: the configuration version changes, no reboot.
    Config,
    /// `1 Firmware Upgrade Image`: the CPE reboots (`1 BOOT`), SoftwareVersion changes.
    Firmware,
}

impl FileKind {
    /// The Download FileType string.
    pub fn file_type(self) -> &'static str {
        match self {
            FileKind::Config => "3 Vendor Configuration File",
            FileKind::Firmware => "1 Firmware Upgrade Image",
        }
    }
}

/// Everything a reference flow depends on. [`Default`] is the plain reference ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CwmpOptions {
    /// Seed of nonces, cookies, digest responses and file content.
    pub seed: u64,
    /// Time of the first packet.
    pub start: Nanos,
    /// CPE identity.
    pub device: DeviceId,
    /// CPE address.
    pub cpe_ip: IpAddr,
    /// First ephemeral port the CPE uses (then +1 per connection).
    pub cpe_first_port: u16,
    /// ACS address.
    pub acs: SocketAddr,
    /// ACS URL path.
    pub acs_path: String,
    /// How the ACS authenticates the CPE.
    pub acs_auth: AuthScheme,
    /// ACS realm.
    pub acs_realm: String,
    /// CPE credentials for the ACS.
    pub acs_credentials: Credentials,
    /// File server address.
    pub file_server: SocketAddr,
    /// Path of the file on the file server.
    pub file_path: String,
    /// How the file server authenticates.
    pub file_auth: AuthScheme,
    /// File-server realm.
    pub file_realm: String,
    /// Credentials carried by the Download and used for the file.
    pub file_credentials: Credentials,
    /// Download CommandKey.
    pub command_key: String,
    /// Configuration file or firmware image.
    pub file_kind: FileKind,
    /// File size in bytes (also the Download's FileSize).
    pub file_size: u64,
    /// MaxEnvelopes announced by the CPE: 2 or more puts the Download in the same HTTP body as
    /// the InformResponse; 1 sends it in answer to an empty POST.
    pub max_envelopes: u32,
    /// The ACS sets a cookie and the CPE continues the session on a new TCP connection.
    pub cookie_across_connections: bool,
    /// DownloadResponse Status: 1 (TransferComplete later) or 0 (fetched and applied during
    /// the session; no TRANSFER COMPLETE session follows).
    pub download_status: u8,
    /// The ACS first sends a Connection Request; the session's Inform then carries
    /// `6 CONNECTION REQUEST` instead of `2 PERIODIC`.
    pub connection_request: bool,
    /// Port of the CPE's Connection Request server.
    pub connection_request_port: u16,
    /// Path of the Connection Request URL.
    pub connection_request_path: String,
    /// Credentials the ACS uses for the Connection Request.
    pub connection_request_credentials: Credentials,
    /// Status of the ACS's empty response that ends a session (200 as in the reference
    /// ladder, or 204).
    pub empty_response_status: u16,
    /// SoftwareVersion before and after the transfer.
    pub software_version: (String, String),
    /// `VendorConfigFile.1.Version` before and after the transfer.
    pub config_version: (String, String),
    /// Namespace and prefixes of the envelopes.
    pub soap: SoapStyle,
    /// Delays.
    pub timing: Timing,
    /// Responses carry their request's `cwmp:ID`, as TR-069 requires. Off by default (every
    /// envelope gets a fresh ID), which keeps the captures of existing seeds byte-identical.
    pub echo_request_ids: bool,
    /// Misbehaviours and rarer variations of the CPE, ACS and file server (all off by default).
    pub quirks: Quirks,
}

/// How the file server answers the fetch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FileServerReply {
    /// The file (after the challenge, when the server authenticates).
    #[default]
    File,
    /// This status (404, 403, 500, …) with a short text body instead of the file, after the
    /// challenge.
    Status(u16),
    /// 401 again to the GET that carried credentials; the CPE gives up.
    RejectsCredentials,
    /// The server challenges and the CPE closes without retrying with the Download's
    /// credentials.
    CredentialsUnused,
    /// The server never answers the CPE's SYN (sent three times): no request is made.
    Unanswered,
    /// The server refuses the CPE's SYN with a RST: no request is made.
    Refused,
}

/// Misbehaviours and rarer variations of the peers, each off by default. Each applies to the
/// pieces a [`FlowBuilder`] builds while it is set (`FlowBuilder::opts` can be changed between
/// pieces).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Quirks {
    /// From the second ACS authentication on, the CPE first sends credentials with the
    /// previous nonce; the ACS answers `401` with `stale=true` and a new nonce, and the CPE
    /// authenticates again.
    pub stale_nonce: bool,
    /// MaxEnvelopes written in the Informs, when it differs from what the ACS acts on
    /// ([`CwmpOptions::max_envelopes`]).
    pub inform_max_envelopes: Option<u32>,
    /// cwmp namespace of the ACS's envelopes, when it differs from the CPE's.
    pub acs_cwmp_ns: Option<String>,
    /// The CPE's clock is off by this much: added to every Inform's CurrentTime and to the
    /// transfer times the CPE reports.
    pub clock_offset: Nanos,
    /// RetryCount of the Informs.
    pub retry_count: u32,
    /// The ACS sets a session cookie in its first 200 (without the session changing
    /// connection).
    pub acs_sets_cookie: bool,
    /// The CPE does not return the cookie the ACS set.
    pub cookie_not_returned: bool,
    /// The CPE answers the Connection Request with 204 without challenging it.
    pub connection_request_unchallenged: bool,
    /// Events of the TRANSFER COMPLETE Inform, replacing the usual ones.
    pub transfer_complete_events: Option<Vec<(String, String)>>,
    /// CommandKey the CPE reports in TransferComplete and `M Download`, when it differs from
    /// the Download's.
    pub transfer_complete_key: Option<String>,
    /// FaultCode and FaultString of the TransferComplete (the Inform then lacks
    /// `4 VALUE CHANGE` and reports the old versions).
    pub transfer_fault: Option<(u32, String)>,
    /// StartTime and CompleteTime of the TransferComplete, replacing the observed ones.
    pub transfer_times: Option<(String, String)>,
    /// The ACS sets HoldRequests in the TRANSFER COMPLETE session's InformResponse, and the
    /// CPE sends its TransferComplete anyway.
    pub hold_requests_ignored: bool,
    /// In the TRANSFER COMPLETE session the CPE sends its empty POST right after the
    /// InformResponse; the ACS asks GetParameterValues, and the CPE sends its TransferComplete
    /// (answered by the ACS) before it answers the GetParameterValues.
    pub request_after_empty_post: bool,
    /// The CPE sends its empty POST before the TransferCompleteResponse arrived.
    pub pipelined_empty_post: bool,
    /// FileSize announced in the Download, when it differs from the file served.
    pub announced_file_size: Option<u64>,
    /// Path the CPE GETs, when it differs from the Download URL's.
    pub fetch_path: Option<String>,
    /// How the file server answers.
    pub file_server_reply: FileServerReply,
}

impl Default for CwmpOptions {
    fn default() -> Self {
        let acs = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)), 7547);
        let file_server = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)), 80);
        CwmpOptions {
            seed: 1,
            start: DEFAULT_START,
            device: DeviceId {
                manufacturer: "Thomson".to_string(),
                oui: "00147F".to_string(),
                product_class: "TG789vn".to_string(),
                serial: "CP0000000001".to_string(),
            },
            cpe_ip: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7)),
            cpe_first_port: 49_152,
            acs,
            acs_path: "/acs".to_string(),
            acs_auth: AuthScheme::Digest,
            acs_realm: "ACS".to_string(),
            acs_credentials: Credentials::new("cpe", "cpepass"),
            file_server,
            file_path: "/configs/CP0000000001.cfg".to_string(),
            file_auth: AuthScheme::Digest,
            file_realm: "Files".to_string(),
            file_credentials: Credentials::new("fsuser", "fspass"),
            command_key: "cfgupd-0001".to_string(),
            file_kind: FileKind::Config,
            file_size: 1025,
            max_envelopes: 2,
            cookie_across_connections: false,
            download_status: 1,
            connection_request: false,
            connection_request_port: 7547,
            connection_request_path: "/cr".to_string(),
            connection_request_credentials: Credentials::new("acs", "crpass"),
            empty_response_status: 200,
            software_version: ("8.6.9".to_string(), "8.6.9".to_string()),
            config_version: ("1.1.0".to_string(), "1.1.1".to_string()),
            soap: SoapStyle::default(),
            timing: Timing::default(),
            echo_request_ids: false,
            quirks: Quirks::default(),
        }
    }
}

impl CwmpOptions {
    /// The firmware variant: FileType 1, a 300 kB image, a reboot (45 s) before the TRANSFER
    /// COMPLETE Inform (which adds `1 BOOT`), and a new SoftwareVersion.
    pub fn firmware() -> Self {
        let base = CwmpOptions::default();
        CwmpOptions {
            file_kind: FileKind::Firmware,
            file_size: 300_000,
            file_path: "/firmware/TG789vn-8.7.1.bin".to_string(),
            command_key: "fwupg-0001".to_string(),
            software_version: ("8.6.9".to_string(), "8.7.1".to_string()),
            config_version: (base.config_version.0.clone(), base.config_version.0.clone()),
            timing: Timing {
                apply_delay: 45 * SECOND,
                ..base.timing
            },
            ..base
        }
    }

    /// The Download URL.
    pub fn file_url(&self) -> String {
        format!("http://{}{}", self.file_server, self.file_path)
    }
}

/// Connections of a flow plus how many HTTP messages they carry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flow {
    /// Connections, ordered by start time.
    pub connections: Vec<Connection>,
    /// HTTP requests in the flow.
    pub http_requests: u32,
    /// HTTP responses in the flow.
    pub http_responses: u32,
}

impl Flow {
    /// Every application byte of the flow, in script order, as text (for tests and inspection).
    pub fn text(&self) -> String {
        self.connections
            .iter()
            .flat_map(|c| c.steps.iter())
            .map(|s| String::from_utf8_lossy(&s.bytes).into_owned())
            .collect()
    }

    /// Adds another flow's connections and counts (keeps the start-time order).
    pub fn merge(&mut self, other: Flow) {
        self.connections.extend(other.connections);
        self.connections.sort_by_key(|c| c.start);
        self.http_requests += other.http_requests;
        self.http_responses += other.http_responses;
    }

    /// Time of the last packet of the flow (retransmissions aside).
    pub fn end_time(&self) -> Nanos {
        self.connections
            .iter()
            .map(|c| c.schedule().last)
            .max()
            .unwrap_or_default()
    }
}

/// A CPE→ACS exchange in progress on one connection (which may be replaced mid-session).
#[derive(Clone, Debug)]
pub struct AcsSession {
    /// The connection currently carrying the session.
    pub connection: Connection,
    /// Cookie the ACS set, returned by the CPE from then on.
    pub cookie: Option<String>,
}

/// Times of a transfer, for the DownloadResponse / TransferComplete fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FetchTimes {
    /// When the first GET was sent.
    pub started: Nanos,
    /// When the file had fully arrived.
    pub completed: Nanos,
    /// When the file connection's last packet is.
    pub closed: Nanos,
}

/// Assembles CWMP flows piece by piece, keeping ports, message IDs, nonces and counts.
#[derive(Debug)]
pub struct FlowBuilder {
    /// The options every piece reads.
    pub opts: CwmpOptions,
    rng: SplitMix64,
    next_port: u16,
    next_id: u32,
    acs_auth: Authenticator,
    file_auth: Authenticator,
    nonce_uses: u32,
    last_id: String,
    flow: Flow,
}

impl FlowBuilder {
    /// A builder for `opts` (nothing is generated yet).
    pub fn new(opts: CwmpOptions) -> Self {
        let mut rng = SplitMix64::derive(opts.seed, 0xc);
        let acs_auth = Authenticator::new(opts.acs_auth, &opts.acs_realm, &mut rng);
        let file_auth = Authenticator::new(opts.file_auth, &opts.file_realm, &mut rng);
        FlowBuilder {
            next_port: opts.cpe_first_port,
            opts,
            rng,
            next_id: 1,
            acs_auth,
            file_auth,
            nonce_uses: 0,
            last_id: String::new(),
            flow: Flow::default(),
        }
    }

    /// The flow built so far, sorted by connection start.
    pub fn finish(mut self) -> Flow {
        self.flow.connections.sort_by_key(|c| c.start);
        self.flow
    }

    /// The flow built so far (in the order the pieces were added).
    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    /// Adds a finished connection to the flow and returns its last packet's time.
    pub fn add_connection(&mut self, connection: Connection) -> Nanos {
        let last = connection.schedule().last;
        self.flow.connections.push(connection);
        last
    }

    /// A new CPE-side address (next ephemeral port).
    pub fn cpe_endpoint(&mut self) -> SocketAddr {
        let port = self.next_port;
        self.next_port = self.next_port.checked_add(1).unwrap_or(49_152);
        SocketAddr::new(self.opts.cpe_ip, port)
    }

    fn new_connection(
        &mut self,
        client: SocketAddr,
        server: SocketAddr,
        start: Nanos,
    ) -> Connection {
        let mut c = Connection::new(client, server, start);
        c.rtt = self.opts.timing.rtt;
        c.ends(End::ClientFinFirst, At::After(self.opts.timing.close_delay));
        c
    }

    /// A fresh `cwmp:ID` (also remembered as [`FlowBuilder::last_id`]).
    pub fn next_message_id(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        self.last_id = id.to_string();
        self.last_id.clone()
    }

    /// The `cwmp:ID` most recently handed out.
    pub fn last_id(&self) -> &str {
        &self.last_id
    }

    /// The envelope style of the ACS's messages (the CPE's, unless
    /// [`Quirks::acs_cwmp_ns`] is set).
    pub fn acs_style(&self) -> SoapStyle {
        match &self.opts.quirks.acs_cwmp_ns {
            Some(ns) => SoapStyle {
                cwmp_ns: ns.clone(),
                ..self.opts.soap.clone()
            },
            None => self.opts.soap.clone(),
        }
    }

    /// An ACS envelope around `body` with a fresh ID.
    pub fn acs_envelope(&mut self, body: &str) -> String {
        let header = SoapHeader::id(&self.next_message_id());
        soap::envelope(&self.acs_style(), &header, body)
    }

    /// An envelope answering the request whose ID was `request_id`: it carries that ID when
    /// [`CwmpOptions::echo_request_ids`] is set, a fresh one otherwise. `from_acs` selects the
    /// ACS's style.
    pub fn response_envelope(&mut self, request_id: &str, body: &str, from_acs: bool) -> String {
        let id = if self.opts.echo_request_ids {
            request_id.to_string()
        } else {
            self.next_message_id()
        };
        let style = if from_acs {
            self.acs_style()
        } else {
            self.opts.soap.clone()
        };
        soap::envelope(&style, &SoapHeader::id(&id), body)
    }

    /// The Inform parameter list; `after` selects the post-transfer versions.
    pub fn inform_parameters(&self, after: bool) -> Vec<(String, String)> {
        let o = &self.opts;
        let pick = |pair: &(String, String)| {
            if after {
                pair.1.clone()
            } else {
                pair.0.clone()
            }
        };
        let root = "InternetGatewayDevice";
        vec![
            (
                format!("{root}.DeviceSummary"),
                "InternetGatewayDevice:1.1[](Baseline:1)".to_string(),
            ),
            (
                format!("{root}.DeviceInfo.HardwareVersion"),
                "VANT-6".to_string(),
            ),
            (
                format!("{root}.DeviceInfo.SoftwareVersion"),
                pick(&o.software_version),
            ),
            (format!("{root}.DeviceInfo.ProvisioningCode"), String::new()),
            (
                format!("{root}.DeviceInfo.VendorConfigFile.1.Version"),
                pick(&o.config_version),
            ),
            (
                format!("{root}.ManagementServer.ConnectionRequestURL"),
                format!(
                    "http://{}{}",
                    SocketAddr::new(o.cpe_ip, o.connection_request_port),
                    o.connection_request_path
                ),
            ),
            (
                format!("{root}.ManagementServer.ParameterKey"),
                String::new(),
            ),
            (
                format!(
                    "{root}.WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress"
                ),
                o.cpe_ip.to_string(),
            ),
        ]
    }

    /// A complete Inform envelope sent at `at` with the given events.
    pub fn inform_envelope(&mut self, events: &[(&str, &str)], at: Nanos, after: bool) -> String {
        let args = InformArgs {
            device: self.opts.device.clone(),
            events: events
                .iter()
                .map(|(code, key)| (code.to_string(), key.to_string()))
                .collect(),
            max_envelopes: self
                .opts
                .quirks
                .inform_max_envelopes
                .unwrap_or(self.opts.max_envelopes),
            current_time: format_ts(at + self.opts.quirks.clock_offset),
            retry_count: self.opts.quirks.retry_count,
            parameters: self.inform_parameters(after),
        };
        let header = SoapHeader {
            id: Some(self.next_message_id()),
            no_more_requests: Some(true),
            hold_requests: None,
        };
        soap::envelope(
            &self.opts.soap,
            &header,
            &soap::inform(&args, &self.opts.soap),
        )
    }

    /// An envelope with a fresh ID around `body`.
    pub fn envelope(&mut self, body: &str) -> String {
        let header = SoapHeader::id(&self.next_message_id());
        soap::envelope(&self.opts.soap, &header, body)
    }

    /// Opens a CPE→ACS connection at `start`.
    pub fn open_acs_session(&mut self, start: Nanos) -> AcsSession {
        let client = self.cpe_endpoint();
        AcsSession {
            connection: self.new_connection(client, self.opts.acs, start),
            cookie: None,
        }
    }

    /// The CPE POSTs `body` (`None`: an empty POST) `cpe_think` after the previous message.
    pub fn cpe_post(
        &mut self,
        session: &mut AcsSession,
        body: Option<&str>,
        authorization: Option<String>,
    ) {
        let at = At::After(self.opts.timing.cpe_think);
        self.cpe_post_at(session, at, body, authorization);
    }

    /// The CPE POSTs `body` (`None`: an empty POST) at `at`.
    pub fn cpe_post_at(
        &mut self,
        session: &mut AcsSession,
        at: At,
        body: Option<&str>,
        authorization: Option<String>,
    ) {
        let host = self.opts.acs.to_string();
        let mut msg = HttpMessage::request("POST", &self.opts.acs_path, &host)
            .header("User-Agent", "cwmp-cpe/1.0")
            .header_opt("Authorization", authorization)
            .header_opt("Cookie", session.cookie.clone());
        if let Some(body) = body {
            msg = msg
                .header("SOAPAction", "\"\"")
                .body(SOAP_CONTENT_TYPE, body);
        }
        session
            .connection
            .push(crate::types::Dir::ToServer, at, msg.to_bytes());
        self.flow.http_requests += 1;
    }

    /// The ACS answers with `status` and `body` (`None`: empty), `acs_think` + RTT after the
    /// request; `set_cookie` makes it set the session cookie.
    pub fn acs_reply(
        &mut self,
        session: &mut AcsSession,
        status: u16,
        body: Option<&str>,
        set_cookie: bool,
    ) {
        let challenge = if status == 401 {
            self.acs_auth.challenge()
        } else {
            None
        };
        self.acs_reply_with(session, status, challenge, body, set_cookie);
    }

    /// Like [`FlowBuilder::acs_reply`] with an explicit `WWW-Authenticate` value (or none).
    pub fn acs_reply_with(
        &mut self,
        session: &mut AcsSession,
        status: u16,
        challenge: Option<String>,
        body: Option<&str>,
        set_cookie: bool,
    ) {
        let mut msg = HttpMessage::response(status).header_opt("WWW-Authenticate", challenge);
        if set_cookie {
            let cookie = format!("session={}", self.rng.hex(16));
            msg = msg.header("Set-Cookie", format!("{cookie}; Path=/"));
            session.cookie = Some(cookie);
        }
        if let Some(body) = body {
            msg = msg.body(SOAP_CONTENT_TYPE, body);
        }
        if self.opts.quirks.cookie_not_returned {
            session.cookie = None;
        }
        let delay = self.opts.timing.acs_think + self.opts.timing.rtt;
        session.connection.server_sends(delay, msg.to_bytes());
        self.flow.http_responses += 1;
    }

    /// Sends an Inform through the ACS's authentication: without credentials, 401, then again
    /// with credentials (just once when the ACS does not authenticate).
    pub fn authenticated_inform(&mut self, session: &mut AcsSession, inform: &str) {
        if self.opts.acs_auth == AuthScheme::None {
            self.cpe_post(session, Some(inform), None);
            return;
        }
        if self.opts.quirks.stale_nonce
            && self.nonce_uses > 0
            && self.opts.acs_auth == AuthScheme::Digest
        {
            // Credentials computed with the previous session's nonce, which has expired.
            let old = self.acs_authorization();
            self.cpe_post(session, Some(inform), old);
            let stale = self.acs_auth.stale_challenge(&mut self.rng);
            self.acs_reply_with(session, 401, stale, None, false);
            self.nonce_uses = 0;
        } else {
            self.cpe_post(session, Some(inform), None);
            self.acs_reply(session, 401, None, false);
        }
        let auth = self.acs_authorization();
        self.cpe_post(session, Some(inform), auth);
    }

    /// The CPE's `Authorization` value for its next ACS request (the nonce's next use).
    pub fn acs_authorization(&mut self) -> Option<String> {
        self.nonce_uses += 1;
        self.acs_auth.authorization(
            &self.opts.acs_credentials,
            &self.opts.acs_path,
            self.nonce_uses,
            &mut self.rng,
        )
    }

    /// Closes the current connection (CPE FIN) and continues the session on a new one,
    /// `cpe_think` later; the cookie travels along.
    pub fn switch_connection(&mut self, session: &mut AcsSession) {
        let start = session.connection.schedule().last + self.opts.timing.cpe_think;
        let next = self.open_acs_session(start);
        let old = std::mem::replace(&mut session.connection, next.connection);
        self.add_connection(old);
    }

    /// Ends the session's connection (CPE FIN) and returns the time of its last packet.
    pub fn close_session(&mut self, session: AcsSession) -> Nanos {
        self.add_connection(session.connection)
    }

    /// The ACS's Connection Request to the CPE at `start`: GET, 401 Digest from the CPE, GET
    /// with credentials, 204. Returns the time of the connection's last packet.
    pub fn connection_request(&mut self, start: Nanos) -> Nanos {
        let o = self.opts.clone();
        let client = SocketAddr::new(o.acs.ip(), 40_000 + (self.rng.below(20_000) as u16));
        let server = SocketAddr::new(o.cpe_ip, o.connection_request_port);
        let host = server.to_string();
        let cpe_auth = Authenticator::new(AuthScheme::Digest, "cwmp", &mut self.rng);
        let mut c = self.new_connection(client, server, start);
        let get = |auth: Option<String>| {
            HttpMessage::request("GET", &o.connection_request_path, &host)
                .header_opt("Authorization", auth)
                .to_bytes()
        };
        let think = o.timing.cpe_think + o.timing.rtt;
        c.client_sends(0, get(None));
        if o.quirks.connection_request_unchallenged {
            c.server_sends(think, HttpMessage::response(204).to_bytes());
            self.flow.http_requests += 1;
            self.flow.http_responses += 1;
            return self.add_connection(c);
        }
        c.server_sends(
            think,
            HttpMessage::response(401)
                .header_opt("WWW-Authenticate", cpe_auth.challenge())
                .to_bytes(),
        );
        let auth = cpe_auth.authorization(
            &o.connection_request_credentials,
            &o.connection_request_path,
            1,
            &mut self.rng,
        );
        c.client_sends(o.timing.acs_think, get(auth));
        c.server_sends(think, HttpMessage::response(204).to_bytes());
        self.flow.http_requests += 2;
        self.flow.http_responses += 2;
        self.add_connection(c)
    }

    /// The file body: a configuration script ending with the new version, or firmware bytes.
    pub fn file_content(&self) -> Vec<u8> {
        let size = usize::try_from(self.opts.file_size).unwrap_or(0);
        let mut rng = SplitMix64::derive(self.opts.seed, 0xf11e);
        match self.opts.file_kind {
            FileKind::Config => {
                let mut text = format!(
                    ":env set var=CONF_VERSION value={}\n",
                    self.opts.config_version.1
                )
                .into_bytes();
                let mut line = 0u32;
                while text.len() < size {
                    text.extend_from_slice(
                        format!(":config set key=option{line} value={}\n", rng.hex(8)).as_bytes(),
                    );
                    line += 1;
                }
                text.truncate(size);
                if let Some(last) = text.last_mut() {
                    *last = b'\n';
                }
                text
            }
            FileKind::Firmware => {
                let mut bytes = vec![0u8; size];
                rng.fill(&mut bytes);
                bytes
            }
        }
    }

    /// The CPE fetches the file at `start`: GET, 401 (unless the server does not
    /// authenticate), GET with the Download's credentials, 200 with the file; CPE FIN. A
    /// server that never answers or refuses the SYN gets no request.
    pub fn file_fetch(&mut self, start: Nanos) -> FetchTimes {
        let o = self.opts.clone();
        let client = self.cpe_endpoint();
        let host = o.file_server.to_string();
        let mut c = self.new_connection(client, o.file_server, start);
        let path = o.quirks.fetch_path.as_deref().unwrap_or(&o.file_path);
        let get = |auth: Option<String>| {
            HttpMessage::request("GET", path, &host)
                .header("User-Agent", "cwmp-cpe/1.0")
                .header_opt("Authorization", auth)
                .to_bytes()
        };
        let think = o.timing.file_server_think + o.timing.rtt;
        let reply = o.quirks.file_server_reply;
        if let FileServerReply::Unanswered | FileServerReply::Refused = reply {
            c.ends(
                if reply == FileServerReply::Refused {
                    End::Refused
                } else {
                    End::Unanswered
                },
                At::After(0),
            );
            let closed = self.add_connection(c);
            return FetchTimes {
                started: start,
                completed: closed,
                closed,
            };
        }
        c.client_sends(0, get(None));
        self.flow.http_requests += 1;
        if o.file_auth != AuthScheme::None {
            let challenge = HttpMessage::response(401)
                .header_opt("WWW-Authenticate", self.file_auth.challenge())
                .to_bytes();
            c.server_sends(think, challenge.clone());
            self.flow.http_responses += 1;
            if reply != FileServerReply::CredentialsUnused {
                let auth =
                    self.file_auth
                        .authorization(&o.file_credentials, path, 1, &mut self.rng);
                c.client_sends(o.timing.cpe_think, get(auth));
                self.flow.http_requests += 1;
                if reply == FileServerReply::RejectsCredentials {
                    c.server_sends(think, challenge);
                    self.flow.http_responses += 1;
                }
            }
        }
        let answer = match reply {
            FileServerReply::File => Some(
                HttpMessage::response(200)
                    .body("application/octet-stream", self.file_content())
                    .to_bytes(),
            ),
            FileServerReply::Status(status) => Some(
                HttpMessage::response(status)
                    .body(
                        "text/plain",
                        format!("{status} {}\n", super::http::reason_phrase(status)),
                    )
                    .to_bytes(),
            ),
            // Without authentication these two replies have nothing to refuse: the file.
            FileServerReply::RejectsCredentials | FileServerReply::CredentialsUnused
                if o.file_auth == AuthScheme::None =>
            {
                Some(
                    HttpMessage::response(200)
                        .body("application/octet-stream", self.file_content())
                        .to_bytes(),
                )
            }
            FileServerReply::RejectsCredentials
            | FileServerReply::CredentialsUnused
            | FileServerReply::Unanswered
            | FileServerReply::Refused => None,
        };
        if let Some(answer) = answer {
            c.server_sends(think, answer);
            self.flow.http_responses += 1;
        }
        let schedule = c.schedule();
        let started = schedule.steps.first().copied().unwrap_or(start);
        let completed = schedule.data_done;
        let closed = self.add_connection(c);
        FetchTimes {
            started,
            completed,
            closed,
        }
    }

    /// Session 1: Inform (`first_event`, NoMoreRequests) through authentication,
    /// InformResponse and Download (together or, with MaxEnvelopes 1, the Download answering
    /// an empty POST), DownloadResponse, empty response, CPE FIN. With Status 0 the file is
    /// fetched during the session. Returns the session's last packet time and the fetch times
    /// when the file was fetched inside the session.
    pub fn download_session(
        &mut self,
        start: Nanos,
        first_event: &str,
    ) -> (Nanos, Option<FetchTimes>) {
        let o = self.opts.clone();
        let mut s = self.open_acs_session(start);
        let inform = self.inform_envelope(&[(first_event, "")], start, false);
        let inform_id = self.last_id.clone();
        self.authenticated_inform(&mut s, &inform);
        let download = DownloadArgs {
            command_key: o.command_key.clone(),
            file_type: o.file_kind.file_type().to_string(),
            url: o.file_url(),
            username: o.file_credentials.username.clone(),
            password: o.file_credentials.password.clone(),
            file_size: o.quirks.announced_file_size.unwrap_or(o.file_size),
            target_file_name: o
                .file_path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string(),
            delay_seconds: 0,
        };
        let inform_response =
            self.response_envelope(&inform_id, &soap::inform_response(1, &o.soap), true);
        let download_envelope = self.acs_envelope(&soap::download(&download, &o.soap));
        let download_id = self.last_id.clone();
        let set_cookie = o.cookie_across_connections || o.quirks.acs_sets_cookie;
        if o.max_envelopes >= 2 {
            let body = format!("{inform_response}{download_envelope}");
            self.acs_reply(&mut s, 200, Some(&body), set_cookie);
            if o.cookie_across_connections {
                self.switch_connection(&mut s);
            }
        } else {
            self.acs_reply(&mut s, 200, Some(&inform_response), set_cookie);
            if o.cookie_across_connections {
                self.switch_connection(&mut s);
            }
            self.cpe_post(&mut s, None, None);
            self.acs_reply(&mut s, 200, Some(&download_envelope), false);
        }
        let mut fetched = None;
        let mut post_at = At::After(o.timing.cpe_think);
        let response = if o.download_status == 0 {
            let received = s.connection.schedule().data_done;
            let times = self.file_fetch(received + o.timing.cpe_think);
            fetched = Some(times);
            // The DownloadResponse waits for the fetch to finish.
            post_at = At::FromStart(times.closed + o.timing.cpe_think - s.connection.start);
            soap::download_response(
                0,
                &format_ts(times.started + o.quirks.clock_offset),
                &format_ts(times.completed + o.quirks.clock_offset),
                &o.soap,
            )
        } else {
            soap::download_response(1, UNKNOWN_TIME, UNKNOWN_TIME, &o.soap)
        };
        let response = self.response_envelope(&download_id, &response, false);
        self.cpe_post_at(&mut s, post_at, Some(&response), None);
        self.acs_reply(&mut s, o.empty_response_status, None, false);
        (self.close_session(s), fetched)
    }

    /// Session 2 at `start`: Inform with `7 TRANSFER COMPLETE`, `4 VALUE CHANGE`,
    /// `M Download` (and `1 BOOT` for firmware) through authentication, InformResponse,
    /// TransferComplete (FaultCode 0, NoMoreRequests), TransferCompleteResponse, empty POST,
    /// empty response, CPE FIN. Returns the last packet time. [`Quirks`] change the events,
    /// CommandKey, fault, times and the order of the session's messages.
    pub fn transfer_complete_session(&mut self, start: Nanos, fetch: FetchTimes) -> Nanos {
        let o = self.opts.clone();
        let q = &o.quirks;
        let key = q.transfer_complete_key.as_deref().unwrap_or(&o.command_key);
        let mut s = self.open_acs_session(start);
        let mut events: Vec<(&str, &str)> = Vec::new();
        match &q.transfer_complete_events {
            Some(list) => events.extend(list.iter().map(|(c, k)| (c.as_str(), k.as_str()))),
            None => {
                if o.file_kind == FileKind::Firmware {
                    events.push(("1 BOOT", ""));
                }
                events.push(("7 TRANSFER COMPLETE", ""));
                if q.transfer_fault.is_none() {
                    events.push(("4 VALUE CHANGE", ""));
                }
                events.push(("M Download", key));
            }
        }
        let inform = self.inform_envelope(&events, start, q.transfer_fault.is_none());
        let inform_id = self.last_id.clone();
        self.authenticated_inform(&mut s, &inform);
        let inform_response = if q.hold_requests_ignored {
            let header = SoapHeader {
                id: Some(if o.echo_request_ids {
                    inform_id
                } else {
                    self.next_message_id()
                }),
                no_more_requests: None,
                hold_requests: Some(true),
            };
            soap::envelope(
                &self.acs_style(),
                &header,
                &soap::inform_response(1, &o.soap),
            )
        } else {
            self.response_envelope(&inform_id, &soap::inform_response(1, &o.soap), true)
        };
        self.acs_reply(&mut s, 200, Some(&inform_response), false);
        let mut late_answer = None;
        if q.request_after_empty_post {
            self.cpe_post(&mut s, None, None);
            let names = ["InternetGatewayDevice.DeviceInfo.SoftwareVersion"];
            let gpv = self.acs_envelope(&soap::get_parameter_values(&names, &o.soap));
            let gpv_id = self.last_id.clone();
            self.acs_reply(&mut s, 200, Some(&gpv), false);
            let values = [(names[0].to_string(), o.software_version.1.clone())];
            let answer = soap::get_parameter_values_response(&values, &o.soap);
            late_answer = Some(self.response_envelope(&gpv_id, &answer, false));
        }
        let (fault_code, fault_string) = q.transfer_fault.clone().unwrap_or_default();
        let (start_time, complete_time) = q.transfer_times.clone().unwrap_or_else(|| {
            // The CPE reports the times by its own clock.
            (
                format_ts(fetch.started + q.clock_offset),
                format_ts(fetch.completed + q.clock_offset),
            )
        });
        let tc_body = soap::transfer_complete(
            key,
            fault_code,
            &fault_string,
            &start_time,
            &complete_time,
            &o.soap,
        );
        let header = SoapHeader {
            id: Some(self.next_message_id()),
            no_more_requests: Some(true),
            hold_requests: None,
        };
        let tc_id = self.last_id.clone();
        let tc = soap::envelope(&o.soap, &header, &tc_body);
        self.cpe_post(&mut s, Some(&tc), None);
        let tc_response =
            self.response_envelope(&tc_id, &soap::transfer_complete_response(&o.soap), true);
        if q.pipelined_empty_post {
            self.cpe_post(&mut s, None, None);
            self.acs_reply(&mut s, 200, Some(&tc_response), false);
        } else {
            self.acs_reply(&mut s, 200, Some(&tc_response), false);
            match &late_answer {
                // The CPE already sent its empty POST; it answers the GetParameterValues now.
                Some(answer) => self.cpe_post(&mut s, Some(answer), None),
                None => self.cpe_post(&mut s, None, None),
            }
        }
        self.acs_reply(&mut s, o.empty_response_status, None, false);
        self.close_session(s)
    }

    /// A session that only reports `events` at `start`: Inform through authentication,
    /// InformResponse, empty POST, empty response, CPE FIN. Returns the last packet time.
    pub fn inform_only_session(&mut self, start: Nanos, events: &[(&str, &str)]) -> Nanos {
        let o = self.opts.clone();
        let mut s = self.open_acs_session(start);
        let inform = self.inform_envelope(events, start, false);
        let inform_id = self.last_id.clone();
        self.authenticated_inform(&mut s, &inform);
        let inform_response =
            self.response_envelope(&inform_id, &soap::inform_response(1, &o.soap), true);
        self.acs_reply(&mut s, 200, Some(&inform_response), false);
        self.cpe_post(&mut s, None, None);
        self.acs_reply(&mut s, o.empty_response_status, None, false);
        self.close_session(s)
    }
}

/// The whole reference flow for `opts` (see the module documentation).
pub fn reference_flow(opts: &CwmpOptions) -> Flow {
    let mut b = FlowBuilder::new(opts.clone());
    let t = &opts.timing;
    let mut at = opts.start;
    let mut first_event = "2 PERIODIC";
    if opts.connection_request {
        at = b.connection_request(at) + t.connection_request_to_inform;
        first_event = "6 CONNECTION REQUEST";
    }
    let (session_end, fetched) = b.download_session(at, first_event);
    if fetched.is_none() {
        let fetch = b.file_fetch(session_end + t.file_fetch_delay);
        b.transfer_complete_session(fetch.closed + t.apply_delay, fetch);
    }
    b.finish()
}

/// `cpes` CPEs each running the reference flow of `base`, merged into one flow. CPE `i` (from 0)
/// uses seed `base.seed + i`; when there are several, it also gets serial `CP<i+1>` (ten
/// digits), CommandKey `<key>-<i+1>`, address 10.77.x.y (x.y = i+1) and a start 137 ms × i
/// later than `base.start`. `cpes` is at most 65,535 (the addresses).
pub fn fleet_flow(base: &CwmpOptions, cpes: u32) -> Flow {
    let mut flow = Flow::default();
    for i in 0..cpes {
        let mut o = base.clone();
        o.seed = base.seed.wrapping_add(u64::from(i));
        if cpes > 1 {
            o.device.serial = format!("CP{:010}", i + 1);
            o.command_key = format!("{}-{}", o.command_key, i + 1);
            let [a, b] = ((i + 1) as u16).to_be_bytes();
            o.cpe_ip = IpAddr::V4(Ipv4Addr::new(10, 77, a, b));
            o.start += i64::from(i) * 137 * SECOND / 1000;
        }
        flow.merge(reference_flow(&o));
    }
    flow
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_flow_has_the_ladder_of_the_spec() {
        let flow = reference_flow(&CwmpOptions::default());
        assert_eq!(flow.connections.len(), 3);
        assert_eq!((flow.http_requests, flow.http_responses), (9, 9));
        let text = flow.text();
        for needle in [
            "<EventCode>2 PERIODIC</EventCode>",
            "<cwmp:NoMoreRequests>1</cwmp:NoMoreRequests>",
            "WWW-Authenticate: Digest realm=\"ACS\"",
            "Authorization: Digest username=\"cpe\"",
            "<cwmp:InformResponse>",
            "<FileType>3 Vendor Configuration File</FileType>",
            "<CommandKey>cfgupd-0001</CommandKey>",
            "<Status>1</Status>",
            "GET /configs/CP0000000001.cfg HTTP/1.1",
            "Authorization: Digest username=\"fsuser\"",
            "<EventCode>7 TRANSFER COMPLETE</EventCode>",
            "<EventCode>4 VALUE CHANGE</EventCode>",
            "<EventCode>M Download</EventCode>\n<CommandKey>cfgupd-0001</CommandKey>",
            "<cwmp:TransferComplete>",
            "<FaultCode>0</FaultCode>",
            "<cwmp:TransferCompleteResponse/>",
            "VendorConfigFile.1.Version</Name>\n<Value xsi:type=\"xsd:string\">1.1.0<",
            "VendorConfigFile.1.Version</Name>\n<Value xsi:type=\"xsd:string\">1.1.1<",
            "ManagementServer.ConnectionRequestURL",
        ] {
            assert!(text.contains(needle), "missing {needle:?}");
        }
        // InformResponse and Download travel in one HTTP body.
        let s1 = &flow.connections[0];
        let both = s1
            .steps
            .iter()
            .find(|s| String::from_utf8_lossy(&s.bytes).contains("<cwmp:Download>"))
            .unwrap();
        assert!(String::from_utf8_lossy(&both.bytes).contains("<cwmp:InformResponse>"));
        // Sessions are seconds apart, in order.
        let starts: Vec<Nanos> = flow.connections.iter().map(|c| c.start).collect();
        assert!(starts[1] - starts[0] > SECOND && starts[2] - starts[1] > SECOND);
    }

    #[test]
    fn file_has_the_announced_size() {
        for opts in [CwmpOptions::default(), CwmpOptions::firmware()] {
            let b = FlowBuilder::new(opts.clone());
            assert_eq!(b.file_content().len() as u64, opts.file_size);
        }
        let text = reference_flow(&CwmpOptions::default()).text();
        assert!(text.contains("Content-Length: 1025\r\n"));
    }

    #[test]
    fn variants_change_the_ladder_as_documented() {
        let one = reference_flow(&CwmpOptions {
            max_envelopes: 1,
            ..CwmpOptions::default()
        });
        assert_eq!((one.http_requests, one.http_responses), (10, 10));

        let cookie = reference_flow(&CwmpOptions {
            cookie_across_connections: true,
            ..CwmpOptions::default()
        });
        assert_eq!(cookie.connections.len(), 4);
        let second = String::from_utf8_lossy(&cookie.connections[1].steps[0].bytes).into_owned();
        assert!(second.contains("Cookie: session="), "{second}");
        assert!(cookie.text().contains("Set-Cookie: session="));

        let fw = reference_flow(&CwmpOptions::firmware());
        let text = fw.text();
        assert!(text.contains("<EventCode>1 BOOT</EventCode>"));
        assert!(text.contains("1 Firmware Upgrade Image"));
        assert!(text.contains(">8.7.1<") && text.contains(">8.6.9<"));

        let status0 = reference_flow(&CwmpOptions {
            download_status: 0,
            ..CwmpOptions::default()
        });
        assert_eq!(status0.connections.len(), 2, "no TRANSFER COMPLETE session");
        assert!(status0.text().contains("<Status>0</Status>"));
        let file_conn = &status0.connections[1];
        let session = &status0.connections[0];
        assert!(file_conn.schedule().last < *session.schedule().steps.last().unwrap());

        let cr = reference_flow(&CwmpOptions {
            connection_request: true,
            ..CwmpOptions::default()
        });
        assert_eq!(cr.connections[0].server.port(), 7547);
        assert_eq!(
            cr.connections[0].client.ip(),
            CwmpOptions::default().acs.ip()
        );
        let text = cr.text();
        assert!(text.contains("GET /cr HTTP/1.1") && text.contains("HTTP/1.1 204 No Content"));
        assert!(text.contains("6 CONNECTION REQUEST") && !text.contains("2 PERIODIC"));

        let basic = reference_flow(&CwmpOptions {
            acs_auth: AuthScheme::Basic,
            file_auth: AuthScheme::None,
            ..CwmpOptions::default()
        });
        let text = basic.text();
        assert!(text.contains("Authorization: Basic Y3BlOmNwZXBhc3M="));
        assert_eq!((basic.http_requests, basic.http_responses), (8, 8));
    }

    #[test]
    fn same_seed_same_bytes() {
        let a = reference_flow(&CwmpOptions::default());
        let b = reference_flow(&CwmpOptions::default());
        let c = reference_flow(&CwmpOptions {
            seed: 2,
            ..CwmpOptions::default()
        });
        assert_eq!(a, b);
        assert_ne!(a.text(), c.text());
    }
}
