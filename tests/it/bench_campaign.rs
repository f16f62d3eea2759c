//! The benchmark capture is analyzed right: on a small campaign (a few MB, a few hundred CPEs),
//! the analyzer finds every generated transaction, each with the outcome the generator
//! expects, and no other; the unrelated web and TLS traffic yields no transaction.

use crate::common;
use common::*;
use cwmpscope_synth::campaign::{CampaignOptions, CpeScenario, campaign_bytes};
use cwmpscope_synth::conversation::SECOND;
use std::collections::BTreeMap;

#[test]
fn analyzer_finds_every_campaign_transaction_with_its_outcome() {
    let opts = CampaignOptions {
        record_expectations: true,
        // Small images and less unrelated traffic: a small capture with a few hundred CPEs.
        firmware_size: (200_000, 400_000),
        web_interval: 10 * SECOND,
        tls_interval: 10 * SECOND,
        ..CampaignOptions::new(11, 10 << 20)
    };
    let (generated, bytes) = campaign_bytes(&opts).expect("campaign renders");
    let stats = &generated.stats;
    assert!(stats.cpes >= 200, "{} CPEs", stats.cpes);
    assert!(stats.failed > 0 && stats.incomplete > 0, "{stats:?}");
    assert!(stats.web_connections > 0 && stats.tls_connections > 0);
    for (scenario, count) in &stats.by_scenario {
        if *scenario != CpeScenario::Firmware {
            assert!(*count > 0, "no CPE ran {scenario:?}");
        }
    }

    let path = std::env::temp_dir().join(format!("cwmpscope-campaign-{}.pcap", std::process::id()));
    std::fs::write(&path, &bytes).expect("write capture");
    let report = report(&[path.to_str().expect("utf-8 path")]);
    std::fs::remove_file(&path).ok();

    assert_eq!(report["capture"]["packets"], generated.frames);
    let expected: BTreeMap<&str, (&str, &str)> = stats
        .expected
        .iter()
        .map(|e| {
            (
                e.command_key.as_str(),
                (e.serial.as_str(), e.outcome.as_str()),
            )
        })
        .collect();
    assert_eq!(expected.len() as u64, stats.transactions());
    let found: BTreeMap<&str, (&str, &str)> = report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|t| {
            (
                t["command_key"].as_str().expect("command key"),
                (
                    t["cpe"]["serial"].as_str().expect("serial"),
                    t["outcome"].as_str().expect("outcome"),
                ),
            )
        })
        .collect();
    let missing: Vec<_> = expected
        .iter()
        .filter(|(k, v)| found.get(*k) != Some(v))
        .take(10)
        .collect();
    assert!(missing.is_empty(), "not found as expected: {missing:?}");
    assert_eq!(found.len(), expected.len(), "extra transactions");

    // One session per CPE session: inform-only CPEs have one, Status 0 one, the others two.
    let cpe_sessions: u64 = stats
        .by_scenario
        .iter()
        .map(|(scenario, n)| match scenario {
            CpeScenario::InformOnly
            | CpeScenario::Status0
            | CpeScenario::MissingTransferComplete => *n,
            _ => 2 * n,
        })
        .sum();
    assert_eq!(sessions(&report).len() as u64, cpe_sessions);
}
