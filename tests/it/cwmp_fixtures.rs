//! Decodes SOAP bodies recorded from real CWMP implementations (see
//! `tests/fixtures/cwmp/README.md`) and checks the values the captures' README names.

use cwmpscope::cwmp::{CwmpNs, DecodeLimits, Envelope, Rpc, decode};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/cwmp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn decode_one(name: &str) -> Envelope {
    let body = fixture(name);
    let mut envelopes = decode(
        &body,
        Some("text/xml; charset=utf-8"),
        &DecodeLimits::default(),
    )
    .unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(envelopes.len(), 1, "{name}");
    let envelope = envelopes.remove(0);
    assert_eq!(envelope.ns, Some(CwmpNs::V1(0)), "{name}");
    envelope
}

fn event_codes(envelope: &Envelope) -> Vec<(&str, &str)> {
    match &envelope.rpc {
        Rpc::Inform(inform) => inform
            .events
            .iter()
            .map(|e| (e.code.as_str(), e.command_key.as_str()))
            .collect(),
        other => panic!("not an Inform: {other:?}"),
    }
}

#[test]
fn cwmp_sim_boot_inform() {
    let envelope = decode_one("cwmp_sim_inform_boot.xml");
    assert_eq!(event_codes(&envelope), [("1 BOOT", "")]);
    let Rpc::Inform(inform) = &envelope.rpc else {
        unreachable!()
    };
    assert_eq!(inform.device_id.manufacturer, "Technicolor");
    assert_eq!(inform.device_id.oui, "00147F");
    assert_eq!(inform.device_id.product_class, "TG789vac");
    assert_eq!(inform.device_id.serial_number, "DV2301A0000");
    assert_eq!(inform.max_envelopes, Some(1));
    assert_eq!(inform.retry_count, Some(0));
    assert_eq!(inform.parameters.len(), 7);
    let version = inform
        .parameters
        .iter()
        .find(|p| p.name == "InternetGatewayDevice.DeviceInfo.SoftwareVersion")
        .expect("SoftwareVersion");
    assert_eq!(version.value, "1.0.0");
    assert_eq!(version.xsi_type.as_deref(), Some("xsd:string"));
    let provisioning = inform
        .parameters
        .iter()
        .find(|p| p.name == "InternetGatewayDevice.DeviceInfo.ProvisioningCode")
        .expect("ProvisioningCode");
    assert_eq!(provisioning.value, "");
    assert_eq!(provisioning.xsi_type.as_deref(), Some("xsd:string"));
    assert!(envelope.header.id.is_some());
}

#[test]
fn cwmp_sim_transfer_complete_inform_has_both_events() {
    let envelope = decode_one("cwmp_sim_inform_transfer_complete.xml");
    assert_eq!(
        event_codes(&envelope),
        [("7 TRANSFER COMPLETE", ""), ("M Download", "")]
    );
}

#[test]
fn cwmp_sim_and_genieacs_inform_responses() {
    for name in [
        "cwmp_sim_inform_response.xml",
        "genieacs_inform_response.xml",
        "netcwmp_inform_response.xml",
    ] {
        let envelope = decode_one(name);
        assert_eq!(
            envelope.rpc,
            Rpc::InformResponse {
                max_envelopes: Some(1)
            },
            "{name}"
        );
    }
    assert_eq!(
        decode_one("genieacs_inform_response.xml")
            .header
            .id
            .as_deref(),
        Some("oka5hkwm")
    );
}

#[test]
fn downloads_of_three_acs_setups() {
    let cases = [
        (
            "cwmp_sim_download.xml",
            "dev-cfgupd-DV2301A0000",
            "3 Vendor Configuration File",
            "http://127.0.0.20/configs/DV2301A0000.cfg",
            "fsuser",
            Some(0),
            "user.ini",
        ),
        (
            "netcwmp_download.xml",
            "dev-cfgupd-DV2301C0000",
            "3 Vendor Configuration File",
            "http://127.0.0.20/configs/DV2301C0000.cfg",
            "fsuser",
            Some(0),
            "user.ini",
        ),
        (
            "genieacs_download.xml",
            "1a21c7f82410000",
            "3 Vendor Configuration File",
            "http://127.0.0.11:7567/DV2301B0000.cfg",
            "",
            Some(1025),
            "DV2301B0000.cfg",
        ),
        (
            "cwmp_sim_download_firmware.xml",
            "dev-fwupg-DV2301E0000",
            "1 Firmware Upgrade Image",
            "http://127.0.0.20/firmware/DV2301E0000.bin",
            "fsuser",
            Some(204_800),
            "",
        ),
    ];
    for (name, key, file_type, url, username, size, target) in cases {
        let Rpc::Download(download) = decode_one(name).rpc else {
            panic!("{name}: not a Download");
        };
        assert_eq!(download.command_key, key, "{name}");
        assert_eq!(download.file_type, file_type, "{name}");
        assert_eq!(download.url, url, "{name}");
        assert_eq!(download.username, username, "{name}");
        let password = if username.is_empty() { "" } else { "fspass" };
        assert_eq!(download.password, password, "{name}");
        assert_eq!(download.file_size, size, "{name}");
        assert_eq!(download.target_file_name, target, "{name}");
        assert_eq!(download.delay_seconds, Some(0), "{name}");
        assert_eq!(download.success_url, "", "{name}");
        assert_eq!(download.failure_url, "", "{name}");
    }
}

#[test]
fn download_responses_status_1() {
    let cases = [
        ("cwmp_sim_download_response.xml", "0001-01-01T00:00:00Z"),
        ("genieacs_sim_download_response.xml", "0001-01-01T00:00:00Z"),
        ("netcwmp_download_response.xml", ""),
    ];
    for (name, time) in cases {
        let Rpc::DownloadResponse(response) = decode_one(name).rpc else {
            panic!("{name}: not a DownloadResponse");
        };
        assert_eq!(response.status, Some(1), "{name}");
        assert_eq!(response.start_time, time, "{name}");
        assert_eq!(response.complete_time, time, "{name}");
    }
}

#[test]
fn transfer_completes_in_both_element_orders() {
    let cases = [
        (
            "cwmp_sim_transfer_complete.xml",
            "dev-cfgupd-DV2301A0000",
            Some(0),
            "",
            "2026-11-27T10:13:13.520Z",
            "2026-11-27T10:13:13.569Z",
        ),
        (
            "genieacs_sim_transfer_complete.xml",
            "1a21c7f82410000",
            Some(0),
            "",
            "2026-11-27T10:14:08.239Z",
            "2026-11-27T10:14:14.284Z",
        ),
        (
            "netcwmp_transfer_complete_9001.xml",
            "dev-cfgupd-DV2301C0000",
            Some(9001),
            "Request denied",
            "",
            "",
        ),
    ];
    for (name, key, code, string, start, complete) in cases {
        let Rpc::TransferComplete(complete_rpc) = decode_one(name).rpc else {
            panic!("{name}: not a TransferComplete");
        };
        assert_eq!(complete_rpc.command_key, key, "{name}");
        assert_eq!(complete_rpc.fault.code, code, "{name}");
        assert_eq!(complete_rpc.fault.string, string, "{name}");
        assert_eq!(complete_rpc.start_time, start, "{name}");
        assert_eq!(complete_rpc.complete_time, complete, "{name}");
    }
}

#[test]
fn transfer_complete_response_is_kept_by_name() {
    let envelope = decode_one("cwmp_sim_transfer_complete_response.xml");
    assert_eq!(
        envelope.rpc,
        Rpc::Other {
            name: "TransferCompleteResponse".to_owned(),
            args: vec![]
        }
    );
    assert_eq!(envelope.header.id.as_deref(), Some("aik280bj"));
}

#[test]
fn netcwmp_bootstrap_inform_with_1999_xsi_types() {
    let envelope = decode_one("netcwmp_inform_bootstrap.xml");
    assert_eq!(envelope.header.id.as_deref(), Some("1"));
    assert_eq!(event_codes(&envelope), [("0 BOOTSTRAP", "")]);
    let Rpc::Inform(inform) = &envelope.rpc else {
        unreachable!()
    };
    assert_eq!(inform.device_id.manufacturer, "ChinaNMS");
    assert_eq!(inform.device_id.oui, "A00001");
    assert_eq!(inform.device_id.product_class, "OT2800");
    assert_eq!(inform.device_id.serial_number, "DV2301C0000");
    assert_eq!(inform.current_time.as_deref(), Some("2026-11-27T10:13:28"));
    assert_eq!(inform.max_envelopes, Some(1));
    assert_eq!(inform.parameters.len(), 17);
    let version = inform
        .parameters
        .iter()
        .find(|p| p.name == "InternetGatewayDevice.DeviceInfo.SoftwareVersion")
        .expect("SoftwareVersion");
    assert_eq!(version.value, "V1.2.7.29");
    assert_eq!(version.xsi_type.as_deref(), Some("xsd:string"));
}

#[test]
fn genieacs_sim_periodic_inform() {
    let envelope = decode_one("genieacs_sim_inform_periodic.xml");
    assert_eq!(event_codes(&envelope), [("2 PERIODIC", "")]);
    let Rpc::Inform(inform) = &envelope.rpc else {
        unreachable!()
    };
    assert_eq!(
        inform.device_id.manufacturer,
        "Huawei Technologies Co., Ltd."
    );
    assert_eq!(inform.device_id.oui, "202BC1");
    assert_eq!(inform.device_id.serial_number, "DV2301B0000");
    let url = inform
        .parameters
        .iter()
        .find(|p| p.name.ends_with("ConnectionRequestURL"))
        .expect("ConnectionRequestURL");
    assert_eq!(url.value, "http://127.0.0.1:37545/");
}

#[test]
fn every_fixture_survives_every_truncation() {
    let limits = DecodeLimits::default();
    let dir = format!("{}/tests/fixtures/cwmp", env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("fixture directory") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|ext| ext != "xml") {
            continue;
        }
        count += 1;
        let body = std::fs::read(&path).expect("fixture");
        assert!(cwmpscope::cwmp::looks_like_soap(&body), "{path:?}");
        let complete = body.trim_ascii_end().len();
        for cut in 0..complete {
            if let Ok(envelopes) = decode(body.get(..cut).unwrap_or_default(), None, &limits) {
                // Only an empty prefix decodes: every other cut leaves the envelope open.
                assert!(envelopes.is_empty(), "{path:?} cut at {cut}");
            }
        }
    }
    assert_eq!(count, 18);
}
