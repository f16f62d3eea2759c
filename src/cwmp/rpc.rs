//! The RPCs: Inform, Download, DownloadResponse, TransferComplete and Fault fully typed; every
//! other method kept by name with its argument values.

/// `DeviceIdStruct`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceId {
    /// `Manufacturer`.
    pub manufacturer: String,
    /// `OUI` (should be 6 hex digits).
    pub oui: String,
    /// `ProductClass`.
    pub product_class: String,
    /// `SerialNumber`.
    pub serial_number: String,
}

/// `EventStruct`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// `EventCode`, e.g. `1 BOOT` or `M Download`.
    pub code: String,
    /// `CommandKey` (empty when absent).
    pub command_key: String,
}

/// `ParameterValueStruct`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterValue {
    /// `Name`, the full parameter path.
    pub name: String,
    /// `Value`, as text.
    pub value: String,
    /// The `xsi:type` attribute, if any.
    pub xsi_type: Option<String>,
}

/// The `Inform` request (CPE to ACS).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inform {
    /// `DeviceId`.
    pub device_id: DeviceId,
    /// `Event`: the EventStructs in order.
    pub events: Vec<Event>,
    /// `MaxEnvelopes` (None when absent or not a number).
    pub max_envelopes: Option<u32>,
    /// `CurrentTime`, raw text.
    pub current_time: Option<String>,
    /// `RetryCount` (None when absent or not a number).
    pub retry_count: Option<u32>,
    /// `ParameterList`, in order.
    pub parameters: Vec<ParameterValue>,
}

/// The `Download` request (ACS to CPE). Absent text fields are empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Download {
    /// `CommandKey`.
    pub command_key: String,
    /// `FileType`, e.g. `3 Vendor Configuration File`.
    pub file_type: String,
    /// `URL` of the file.
    pub url: String,
    /// `Username` for the file server.
    pub username: String,
    /// `Password` for the file server.
    pub password: String,
    /// `FileSize` in bytes (None when absent or not a number).
    pub file_size: Option<u64>,
    /// `TargetFileName`.
    pub target_file_name: String,
    /// `DelaySeconds` (None when absent or not a number).
    pub delay_seconds: Option<u32>,
    /// `SuccessURL`.
    pub success_url: String,
    /// `FailureURL`.
    pub failure_url: String,
}

/// The `DownloadResponse` (CPE to ACS).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DownloadResponse {
    /// 0 = completed and applied, 1 = will be reported by TransferComplete.
    pub status: Option<u32>,
    /// Raw text (may be empty or the Unknown Time `0001-01-01T00:00:00Z`).
    pub start_time: String,
    /// Raw text, like `start_time`.
    pub complete_time: String,
}

/// `FaultStruct` (as in TransferComplete) or the cwmp:Fault of a SOAP Fault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultStruct {
    /// `FaultCode` (0 = success in TransferComplete; None when absent or not a number).
    pub code: Option<u32>,
    /// `FaultString`.
    pub string: String,
}

/// The `TransferComplete` request (CPE to ACS); its elements may come in any order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferComplete {
    /// `CommandKey` of the Download it reports.
    pub command_key: String,
    /// `FaultStruct`.
    pub fault: FaultStruct,
    /// `StartTime`, raw text.
    pub start_time: String,
    /// `CompleteTime`, raw text.
    pub complete_time: String,
}

/// One `SetParameterValuesFault` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParameterFault {
    /// `ParameterName`.
    pub parameter_name: String,
    /// `FaultCode` and `FaultString` of this parameter.
    pub fault: FaultStruct,
}

/// A SOAP Fault with its cwmp detail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fault {
    /// SOAP `faultcode` (`Client` or `Server`, possibly prefixed).
    pub soap_faultcode: String,
    /// SOAP `faultstring`.
    pub soap_faultstring: String,
    /// `detail/cwmp:Fault` `FaultCode` and `FaultString`.
    pub cwmp: FaultStruct,
    /// `detail/cwmp:Fault/SetParameterValuesFault` entries, in order.
    pub parameter_faults: Vec<ParameterFault>,
}

/// One RPC (request or response), as found in an envelope body.
#[derive(Clone, Debug, PartialEq)]
pub enum Rpc {
    /// `Inform`.
    Inform(Inform),
    /// `InformResponse`.
    InformResponse {
        /// `MaxEnvelopes` (None when absent or not a number).
        max_envelopes: Option<u32>,
    },
    /// `Download`.
    Download(Download),
    /// `DownloadResponse`.
    DownloadResponse(DownloadResponse),
    /// `TransferComplete`.
    TransferComplete(TransferComplete),
    /// A SOAP `Fault`.
    Fault(Fault),
    /// Any other method: its element name and its leaf values as (path, value), the path made of
    /// element names below the method element joined by `.` (e.g. `ParameterList.ParameterValueStruct.Name`).
    Other {
        /// The element's local name (no prefix).
        name: String,
        /// (path, value) of each leaf element, in document order.
        args: Vec<(String, String)>,
    },
    /// A body with no method element (an envelope with an empty Body).
    Empty,
}

impl Rpc {
    /// The method name as on the wire (`Inform`, `DownloadResponse`, `Fault`, …).
    pub fn name(&self) -> &str {
        match self {
            Rpc::Inform(_) => "Inform",
            Rpc::InformResponse { .. } => "InformResponse",
            Rpc::Download(_) => "Download",
            Rpc::DownloadResponse(_) => "DownloadResponse",
            Rpc::TransferComplete(_) => "TransferComplete",
            Rpc::Fault(_) => "Fault",
            Rpc::Other { name, .. } => name,
            Rpc::Empty => "",
        }
    }

    /// For [`Rpc::Other`], the value of the first argument at `path` (e.g. `CommandKey`);
    /// None for the typed variants or when there is no such argument.
    pub fn arg(&self, path: &str) -> Option<&str> {
        match self {
            Rpc::Other { args, .. } => args
                .iter()
                .find(|(arg_path, _)| arg_path == path)
                .map(|(_, value)| value.as_str()),
            _ => None,
        }
    }
}

/// The meaning of a CWMP fault code (protocol.md), or None when unknown.
pub fn fault_meaning(code: u32) -> Option<&'static str> {
    Some(match code {
        8000 => "Method not supported",
        8001 => "Request denied",
        8002 => "Internal error",
        8003 => "Invalid arguments",
        8004 => "Resources exceeded",
        8005 => "Retry request",
        8006 => "Version incompatible",
        8800..=8899 => "Vendor-defined ACS fault",
        9000 => "Method not supported",
        9001 => "Request denied",
        9002 => "Internal error",
        9003 => "Invalid arguments",
        9004 => "Resources exceeded",
        9005 => "Invalid parameter name",
        9006 => "Invalid parameter type",
        9007 => "Invalid parameter value",
        9008 => "Attempt to set a non-writable parameter",
        9009 => "Notification request rejected",
        9010 => "File transfer failure",
        9011 => "Upload failure",
        9012 => "File transfer server authentication failure",
        9013 => "Unsupported protocol for file transfer",
        9014 => "Unable to join multicast group",
        9015 => "Unable to contact file server",
        9016 => "Unable to access file",
        9017 => "Unable to complete download",
        9018 => "File corrupted",
        9019 => "File authentication failure",
        9020 => "Download not completed within time window",
        9021 => "Cancel not permitted",
        9022..=9032 => "Deployment unit fault",
        9800..=9899 => "Vendor-defined CPE fault",
        _ => return None,
    })
}

/// Parses a CWMP `dateTime` (RFC 3339, with or without a zone; no zone means UTC) into
/// nanoseconds since the epoch. The Unknown Time (`0001-01-01T00:00:00Z`) and empty text give
/// None.
pub fn parse_time(text: &str) -> Option<crate::types::Nanos> {
    let text = text.trim();
    if text.is_empty() || text.starts_with("0001-01-01") {
        return None;
    }
    let has_zone = text.ends_with('Z') || text.ends_with('z') || {
        let tail = text.get(19..).unwrap_or("");
        tail.contains('+') || tail.contains('-')
    };
    let owned;
    let full = if has_zone {
        text
    } else {
        owned = format!("{text}Z");
        &owned
    };
    let t =
        time::OffsetDateTime::parse(full, &time::format_description::well_known::Rfc3339).ok()?;
    i64::try_from(t.unix_timestamp_nanos()).ok()
}

#[cfg(test)]
mod time_tests {
    use super::parse_time;

    #[test]
    fn cwmp_times() {
        assert_eq!(parse_time("1970-01-01T00:00:01Z"), Some(1_000_000_000));
        assert_eq!(parse_time("1970-01-01T00:00:01"), Some(1_000_000_000));
        assert_eq!(
            parse_time("1970-01-01T01:00:01.5+01:00"),
            Some(1_500_000_000)
        );
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_time(""), None);
        assert_eq!(parse_time("yesterday"), None);
    }
}
