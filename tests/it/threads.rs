//! The analysis gives the same report whatever the thread count: one thread, the back half
//! (sessions, transactions, findings) on a worker thread, decoder threads besides, or the front
//! half split by address pair over front shards (from 5 threads on).

use crate::common;
use common::*;
use cwmpscope_synth::conversation::Profile;
use cwmpscope_synth::cwmp::{CwmpOptions, reference_flow};
use cwmpscope_synth::write_capture_files;
use cwmpscope_synth::writer::OutputOptions;

fn json_with_threads(path: &str, threads: &str) -> String {
    let (out, err, ok) = cwmpscope(&["analyze", "--format", "json", "--threads", threads, path]);
    assert!(ok, "{path}: {err}");
    out
}

#[test]
fn one_to_eight_threads_give_identical_reports() {
    let dir = std::env::temp_dir().join(format!("cwmpscope-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let generated = dir.join("fleet.pcap");
    let flow = reference_flow(&CwmpOptions {
        seed: 9,
        ..CwmpOptions::default()
    });
    write_capture_files(
        flow.connections,
        &Profile::awkward(4),
        &OutputOptions::default(),
        &generated,
    )
    .unwrap();
    let paths = [
        capture("reference-cookie.pcap"),
        capture("third-party/cwmp_sim_fleet5.pcap"),
        capture("third-party/genieacs_genieacs_sim_config_update.pcap"),
        capture("public/zeek_http_1000-requests-one-dropped-response.pcap"),
        generated.to_string_lossy().into_owned(),
    ];
    for path in &paths {
        let one = json_with_threads(path, "1");
        for threads in ["2", "3", "4", "5", "6", "8"] {
            assert_eq!(
                one,
                json_with_threads(path, threads),
                "{path}, {threads} threads"
            );
        }
        // The text report too, whose objects are built on two threads from 5 on.
        let text = |threads: &str| {
            let (out, err, ok) = cwmpscope(&["analyze", "--threads", threads, path]);
            assert!(ok, "{path}: {err}");
            out
        };
        assert_eq!(text("1"), text("6"), "{path}, text");
        let r: serde_json::Value = serde_json::from_str(&one).unwrap();
        assert!(
            r["capture"]["http_messages"].as_u64().unwrap() > 0,
            "{path}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The benchmark campaign (a thousand CPEs, web and TLS traffic, many batches through each
/// decoder, files whose SHA-256 the hashing thread or the front shards take) gives the same
/// NDJSON lines with 1 to 8 threads, in the same order.
#[test]
fn a_campaign_gives_the_same_lines_with_one_to_eight_threads() {
    use cwmpscope_synth::campaign::{CampaignOptions, campaign_bytes};
    let (_, bytes) = campaign_bytes(&CampaignOptions::new(5, 8 << 20)).expect("campaign");
    let path = scratch("threads-campaign.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let file = path.to_string_lossy().into_owned();
    let ndjson = |threads: &str| {
        let (out, err, ok) =
            cwmpscope(&["analyze", "--format", "ndjson", "--threads", threads, &file]);
        assert!(ok, "{err}");
        out
    };
    let one = ndjson("1");
    assert!(
        one.lines()
            .filter(|l| l.starts_with(r#"{"type":"transaction""#))
            .count()
            > 50
    );
    // Files were fetched and hashed: with 3 and 4 threads on the hashing thread, from 5 on
    // on the front shards.
    assert!(one.matches(r#""file_hash":""#).count() > 10);
    for threads in ["2", "3", "4", "5", "6", "8"] {
        assert!(ndjson(threads) == one, "{threads} threads differ from one");
    }
    std::fs::remove_file(&path).ok();
}
