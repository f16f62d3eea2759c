//! The same traffic under other link layers and encapsulations: the reference configuration
//! update rewritten frame by frame (PPPoE sessions under 802.1Q, MPLS label stacks, Ethernet
//! over an MPLS pseudowire, PPP with HDLC framing, PPPoE without Ethernet) gives the same sessions, transactions and findings as on plain Ethernet.

use std::process::Command;

/// Frames of a classic little-endian pcap: (record header, frame bytes).
fn records(pcap: &[u8]) -> Vec<([u8; 16], Vec<u8>)> {
    assert_eq!(
        &pcap[..4],
        &[0xD4, 0xC3, 0xB2, 0xA1],
        "little-endian microsecond pcap"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let header: [u8; 16] = pcap[at..at + 16].try_into().unwrap();
        let len = u32::from_le_bytes(header[8..12].try_into().unwrap()) as usize;
        out.push((header, pcap[at + 16..at + 16 + len].to_vec()));
        at += 16 + len;
    }
    out
}

/// A pcap of `link` whose frames are `rewrite` of the Ethernet frames of `pcap`.
fn rewritten(pcap: &[u8], link: u32, rewrite: impl Fn(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let mut out = pcap[..20].to_vec();
    out.extend(link.to_le_bytes());
    for (mut header, frame) in records(pcap) {
        assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4 over Ethernet");
        let new = rewrite(&frame);
        let extra = new.len() as i64 - frame.len() as i64;
        for field in [8..12, 12..16] {
            let v = u32::from_le_bytes(header[field.clone()].try_into().unwrap()) as i64;
            header[field].copy_from_slice(&((v + extra) as u32).to_le_bytes());
        }
        out.extend(header);
        out.extend(new);
    }
    out
}

/// Turns an Ethernet frame into a frame of another link layer.
type Rewrite = Box<dyn Fn(&[u8]) -> Vec<u8>>;

fn pppoe_header(ip: &[u8]) -> Vec<u8> {
    let mut h = vec![0x11, 0x00, 0x12, 0x34];
    h.extend(((ip.len() + 2) as u16).to_be_bytes());
    h.extend([0x00, 0x21]);
    h
}

/// The sessions, transactions and findings of a capture's JSON report.
fn analysis(path: &std::path::Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
        .args(["analyze", "--format", "json"])
        .arg(path)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    serde_json::json!({
        "sessions": report["sessions"].take(),
        "transactions": report["transactions"].take(),
        "findings": report["findings"].take(),
        "non_ip": report["capture"]["undecoded"]["non_ip"].take(),
    })
}

#[test]
fn pppoe_mpls_and_ppp_give_the_plain_report() {
    let root = env!("CARGO_MANIFEST_DIR");
    let plain_path = format!("{root}/captures/reference-config-update.pcap");
    let plain = std::fs::read(&plain_path).expect("reference capture");
    let expected = analysis(std::path::Path::new(&plain_path));
    assert_eq!(expected["transactions"].as_array().map(Vec::len), Some(1));
    let dir = std::env::temp_dir().join(format!("cwmpscope-encap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let variants: [(&str, u32, Rewrite); 5] = [
        (
            "pppoe-in-vlan",
            1,
            Box::new(|f: &[u8]| {
                let ip = &f[14..];
                [
                    &f[..12],
                    &[0x81, 0x00, 0x00, 0x2A, 0x88, 0x64],
                    &pppoe_header(ip)[..],
                    ip,
                ]
                .concat()
            }),
        ),
        (
            "mpls-two-labels",
            1,
            Box::new(|f: &[u8]| {
                let labels = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
                [&f[..12], &[0x88, 0x47], &labels[..], &f[14..]].concat()
            }),
        ),
        (
            "ethernet-over-mpls-pseudowire",
            1,
            Box::new(|f: &[u8]| {
                let label_and_control_word = [0x00, 0x03, 0x01, 0x40, 0, 0, 0, 0];
                [
                    &[0u8; 12][..],
                    &[0x88, 0x47],
                    &label_and_control_word[..],
                    f,
                ]
                .concat()
            }),
        ),
        (
            "ppp-hdlc",
            9,
            Box::new(|f: &[u8]| [&[0xFF, 0x03, 0x00, 0x21][..], &f[14..]].concat()),
        ),
        (
            "pppoe-no-ethernet",
            51,
            Box::new(|f: &[u8]| [&pppoe_header(&f[14..])[..], &f[14..]].concat()),
        ),
    ];
    for (name, link, rewrite) in variants {
        let path = dir.join(format!("{name}.pcap"));
        std::fs::write(&path, rewritten(&plain, link, rewrite)).expect("write");
        assert_eq!(analysis(&path), expected, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
