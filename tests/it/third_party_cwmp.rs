//! Real CWMP traffic of third-party CPEs and ACSs (`captures/third-party/`): each capture is
//! decoded into the sessions and messages its README describes, frame by frame.

use crate::common;
use common::*;
use serde_json::Value;

fn rpc_count(s: &Value, name: &str) -> u64 {
    s["rpcs"][name].as_u64().unwrap_or(0)
}

#[test]
fn cwmp_sim_digest_config_update() {
    let r = report(&[&capture("third-party/cwmp_sim_digest_config_update.pcap")]);
    assert_eq!(r["capture"]["packets"], 88);
    let s = sessions(&r);
    assert_eq!(
        s.len(),
        3,
        "three CWMP sessions; the empty probe connection is none"
    );
    for x in s {
        assert_eq!(x["cpe"]["serial"], "DV2301A0000");
        assert_eq!(x["cpe"]["manufacturer"], "Technicolor");
        assert_eq!(x["cpe"]["oui"], "00147F");
        assert_eq!(x["cpe"]["product_class"], "TG789vac");
        assert_eq!(x["cpe"]["ip"], "127.0.0.1");
        assert_eq!(x["acs"]["ip"], "127.0.0.10");
        assert_eq!(x["acs"]["port"], 7547);
        assert_eq!(x["termination"], "normal");
        assert_eq!(x["connections"], 1);
    }
    assert_eq!(events(&s[0]), ["1 BOOT"]);
    assert_eq!(frames(&s[0]), [10, 12, 14, 17, 19, 20]);
    assert_eq!(
        rpc_count(&s[0], "Inform"),
        2,
        "the Inform re-sent after the 401 counts"
    );
    assert_eq!(rpc_count(&s[0], "InformResponse"), 1);
    let first = &s[0]["messages"][0];
    assert_eq!(first["http"], "POST /acs");
    assert_eq!(first["auth"]["scheme"], "Basic");
    assert_eq!(first["auth"]["username"], "cpe");
    assert_eq!(first["auth"]["password"], "<redacted>");
    let challenge = &s[0]["messages"][1];
    assert_eq!(challenge["status"], 401);
    assert_eq!(challenge["challenges"][0]["scheme"], "Digest");
    assert_eq!(challenge["challenges"][0]["realm"], "MiniACS");
    let digest = &s[0]["messages"][2]["auth"];
    assert_eq!(digest["scheme"], "Digest");
    assert_eq!(digest["uri"], "/acs");
    assert_eq!(digest["response"], "<redacted>");

    assert_eq!(events(&s[1]), ["2 PERIODIC"]);
    assert_eq!(frames(&s[1]), [27, 29, 31, 34, 36, 39, 41, 42]);
    assert_eq!(s[1]["messages"][1]["challenges"][0]["stale"], true);
    let download = &s[1]["messages"][5]["envelopes"][0];
    assert_eq!(download["rpc"], "Download");
    assert_eq!(download["args"]["command_key"], "dev-cfgupd-DV2301A0000");
    assert_eq!(download["args"]["file_type"], "3 Vendor Configuration File");
    assert_eq!(
        download["args"]["url"],
        "http://127.0.0.20/configs/DV2301A0000.cfg"
    );
    assert_eq!(download["args"]["username"], "fsuser");
    assert_eq!(download["args"]["password"], "<redacted>");
    assert_eq!(download["args"]["file_size"], 0);
    let dr = &s[1]["messages"][6]["envelopes"][0];
    assert_eq!(dr["rpc"], "DownloadResponse");
    assert_eq!(dr["args"]["status"], 1);

    assert_eq!(events(&s[2]), ["7 TRANSFER COMPLETE", "M Download"]);
    assert_eq!(frames(&s[2]), [63, 65, 67, 70, 72, 75, 77, 78]);
    let tc = &s[2]["messages"][4]["envelopes"][0];
    assert_eq!(tc["rpc"], "TransferComplete");
    assert_eq!(tc["args"]["command_key"], "dev-cfgupd-DV2301A0000");
    assert_eq!(tc["args"]["fault"]["code"], 0);
    assert_eq!(rpc_count(&s[2], "TransferCompleteResponse"), 1);
}

#[test]
fn secrets_are_shown_only_on_request() {
    let path = capture("third-party/cwmp_sim_digest_config_update.pcap");
    let (out, _, ok) = cwmpscope(&["analyze", "--format", "json", "--show-secrets", &path]);
    assert!(ok);
    let r: Value = serde_json::from_str(&out).unwrap();
    let s = sessions(&r);
    assert_eq!(s[0]["messages"][0]["auth"]["password"], "cpepass");
    assert_eq!(
        s[1]["messages"][5]["envelopes"][0]["args"]["password"],
        "fspass"
    );
    for format in ["json", "ndjson", "text"] {
        let (out, _, ok) = cwmpscope(&["analyze", "--format", format, &path]);
        assert!(ok);
        assert!(!out.contains("cpepass"), "{format} leaks the ACS password");
        assert!(!out.contains("fspass"), "{format} leaks the file password");
    }
}

#[test]
fn genieacs_with_cookies_and_no_challenge() {
    let r = report(&[&capture(
        "third-party/genieacs_genieacs_sim_config_update.pcap",
    )]);
    assert_eq!(r["capture"]["packets"], 63);
    let s = sessions(&r);
    assert_eq!(s.len(), 3);
    assert_eq!(events(&s[0]), ["2 PERIODIC"]);
    assert_eq!(frames(&s[0]), [10, 12, 14, 16, 20, 23]);
    assert_eq!(s[0]["cpe"]["serial"], "DV2301B0000");
    assert_eq!(s[0]["cpe"]["manufacturer"], "Huawei Technologies Co., Ltd.");
    assert_eq!(s[0]["messages"][1]["set_cookies"][0]["name"], "session");
    assert_eq!(s[0]["messages"][1]["set_cookies"][0]["value"], "<redacted>");
    assert_eq!(s[0]["messages"][2]["cookies"][0]["name"], "session");
    let download = &s[0]["messages"][3]["envelopes"][0]["args"];
    assert_eq!(download["command_key"], "1a21c7f82410000");
    assert_eq!(download["url"], "http://127.0.0.11:7567/DV2301B0000.cfg");
    assert_eq!(download["file_size"], 1025);
    assert_eq!(events(&s[1]), ["2 PERIODIC"]);
    assert_eq!(frames(&s[1]), [41, 43, 45, 46, 47, 48]);
    assert_eq!(rpc_count(&s[1], "TransferComplete"), 1);
    assert_eq!(frames(&s[2]), [55, 57, 59, 60]);
    for x in s {
        assert_eq!(x["termination"], "normal");
        assert_eq!(x["acs"]["port"], 7547);
    }
}

#[test]
fn netcwmp_empty_post_before_inform_and_fault_9001() {
    let r = report(&[&capture("third-party/netcwmp_digest_session.pcap")]);
    let s = sessions(&r);
    assert_eq!(s.len(), 2);
    assert_eq!(events(&s[0]), ["0 BOOTSTRAP"]);
    assert_eq!(
        frames(&s[0]),
        [4, 6, 8, 11, 13, 16, 18, 19],
        "the unauthenticated empty POST before the Inform belongs to the session"
    );
    assert_eq!(s[0]["cpe"]["serial"], "DV2301C0000");
    assert_eq!(s[0]["cpe"]["manufacturer"], "ChinaNMS");
    let auth = &s[0]["messages"][2]["auth"];
    assert_eq!(auth["scheme"], "Digest");
    assert_eq!(auth["uri"], "", "netcwmp sends an empty uri");
    assert!(auth.get("qop").is_none(), "RFC 2069 form: no qop invented");
    assert_eq!(events(&s[1]), ["7 TRANSFER COMPLETE"]);
    assert_eq!(frames(&s[1]), [38, 40, 42, 45, 47, 50, 52, 53]);
    let tc = &s[1]["messages"][4]["envelopes"][0]["args"];
    assert_eq!(tc["fault"]["code"], 9001);
    assert_eq!(tc["fault"]["string"], "Request denied");
    assert_eq!(tc["fault"]["meaning"], "Request denied");
    assert_eq!(s[0]["cwmp_version"], "urn:dslforum-org:cwmp-1-0");
}

#[test]
fn fleet_of_five_interleaved() {
    let r = report(&[&capture("third-party/cwmp_sim_fleet5.pcap")]);
    assert_eq!(r["capture"]["packets"], 402);
    let s = sessions(&r);
    assert_eq!(s.len(), 15);
    for serial in 0..5 {
        let serial = format!("DV23020000{serial}");
        let mine: Vec<&Value> = s
            .iter()
            .filter(|x| x["cpe"]["serial"] == serial.as_str())
            .collect();
        assert_eq!(mine.len(), 3, "{serial}");
        assert_eq!(events(mine[0]), ["1 BOOT"]);
        assert_eq!(events(mine[1]), ["2 PERIODIC"]);
        assert_eq!(events(mine[2]), ["7 TRANSFER COMPLETE", "M Download"]);
        assert_eq!(rpc_count(mine[1], "Download"), 1);
        assert_eq!(rpc_count(mine[2], "TransferComplete"), 1);
        for x in &mine {
            assert_eq!(x["termination"], "normal", "{serial}");
        }
    }
    let downloads: Vec<u64> = s
        .iter()
        .flat_map(|x| x["messages"].as_array().unwrap())
        .filter(|m| {
            m["rpcs"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r == "Download")
        })
        .map(|m| m["frame"].as_u64().unwrap())
        .collect();
    let mut sorted = downloads.clone();
    sorted.sort();
    assert_eq!(sorted, [158, 163, 176, 187, 195]);
}

#[test]
fn firmware_over_nginx() {
    let r = report(&[&capture("third-party/cwmp_sim_firmware_nginx.pcap")]);
    assert_eq!(r["capture"]["packets"], 280);
    let s = sessions(&r);
    assert_eq!(s.len(), 3);
    let download = &s[1]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["rpcs"][0] == "Download")
        .expect("download")["envelopes"][0]["args"];
    assert_eq!(download["file_type"], "1 Firmware Upgrade Image");
    assert_eq!(download["file_size"], 204800);
    assert_eq!(frames(&s[2]), [255, 257, 259, 262, 264, 267, 269, 270]);
}

#[test]
fn cpe_filter_by_serial_and_ip() {
    let path = capture("third-party/cwmp_sim_fleet5.pcap");
    let (out, _, ok) = cwmpscope(&["analyze", "--format", "json", "--cpe", "DV230200003", &path]);
    assert!(ok);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sessions(&r).len(), 3);
    assert!(
        sessions(&r)
            .iter()
            .all(|s| s["cpe"]["serial"] == "DV230200003")
    );
    let (out, _, _) = cwmpscope(&["analyze", "--format", "json", "--cpe", "127.0.0.1", &path]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sessions(&r).len(), 15);
    let (out, _, _) = cwmpscope(&["analyze", "--format", "json", "--cpe", "nobody", &path]);
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(sessions(&r).len(), 0);
}

#[test]
fn ndjson_streams_one_session_per_line() {
    let path = capture("third-party/cwmp_sim_fleet5.pcap");
    let (out, _, ok) = cwmpscope(&["analyze", "--format", "ndjson", &path]);
    assert!(ok);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "session").count(), 15);
    assert_eq!(kinds[kinds.len() - 2..], ["capture", "summary"]);
    assert_eq!(lines.last().unwrap()["sessions"], 15);
}
