//! The RPCs: Inform, Download, DownloadResponse, TransferComplete and Fault fully typed; every
//! other method kept by name with its argument values.

/// `DeviceIdStruct`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceId {
    pub manufacturer: String,
    pub oui: String,
    pub product_class: String,
    pub serial_number: String,
}

/// `EventStruct`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub code: String,
    pub command_key: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParameterValue {
    pub name: String,
    pub value: String,
    /// The `xsi:type` attribute, if any.
    pub xsi_type: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inform {
    pub device_id: DeviceId,
    pub events: Vec<Event>,
    pub max_envelopes: Option<u32>,
    pub current_time: Option<String>,
    pub retry_count: Option<u32>,
    pub parameters: Vec<ParameterValue>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Download {
    pub command_key: String,
    pub file_type: String,
    pub url: String,
    pub username: String,
    pub password: String,
    pub file_size: Option<u64>,
    pub target_file_name: String,
    pub delay_seconds: Option<u32>,
    pub success_url: String,
    pub failure_url: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DownloadResponse {
    /// 0 = completed and applied, 1 = will be reported by TransferComplete.
    pub status: Option<u32>,
    /// Raw text (may be empty or the Unknown Time `0001-01-01T00:00:00Z`).
    pub start_time: String,
    pub complete_time: String,
}

/// `FaultStruct` (as in TransferComplete) or the cwmp:Fault of a SOAP Fault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FaultStruct {
    pub code: Option<u32>,
    pub string: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransferComplete {
    pub command_key: String,
    pub fault: FaultStruct,
    pub start_time: String,
    pub complete_time: String,
}

/// One `SetParameterValuesFault` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParameterFault {
    pub parameter_name: String,
    pub fault: FaultStruct,
}

/// A SOAP Fault with its cwmp detail.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fault {
    pub soap_faultcode: String,
    pub soap_faultstring: String,
    pub cwmp: FaultStruct,
    pub parameter_faults: Vec<ParameterFault>,
}

/// One RPC (request or response), as found in an envelope body.
#[derive(Clone, Debug, PartialEq)]
pub enum Rpc {
    Inform(Inform),
    InformResponse {
        max_envelopes: Option<u32>,
    },
    Download(Download),
    DownloadResponse(DownloadResponse),
    TransferComplete(TransferComplete),
    Fault(Fault),
    /// Any other method: its element name and its leaf values as (path, value), the path made of
    /// element names below the method element joined by `.` (e.g. `ParameterList.ParameterValueStruct.Name`).
    Other {
        name: String,
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
