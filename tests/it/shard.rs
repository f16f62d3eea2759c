//! `--shard K/N` splits the analysis by CPE; `cwmpscope merge` joins the shards' NDJSON into
//! exactly the NDJSON (or the JSON document) of a single run, whatever N.

use crate::common;
use common::*;
use std::collections::BTreeSet;

fn ndjson(args: &[&str]) -> String {
    let (out, err, ok) = cwmpscope(args);
    assert!(ok, "{args:?}: {err}");
    out
}

/// The shards' files of `path` split `n` ways (shard k of n in `dir/k-of-n.ndjson`).
fn shard_files(path: &str, n: u32, dir: &std::path::Path) -> Vec<String> {
    (1..=n)
        .map(|k| {
            let spec = format!("{k}/{n}");
            let out = ndjson(&["analyze", "--format", "ndjson", "--shard", &spec, path]);
            let file = dir.join(format!("{k}-of-{n}.ndjson"));
            std::fs::write(&file, out).unwrap();
            file.to_string_lossy().into_owned()
        })
        .collect()
}

fn ids(text: &str, kind: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["type"] == kind)
        .map(|v| v["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn merged_shards_are_a_single_run_for_one_to_four_shards() {
    use cwmpscope_synth::campaign::{CampaignOptions, campaign_bytes};
    let dir = scratch("shards");
    std::fs::create_dir_all(&dir).unwrap();
    let (_, bytes) = campaign_bytes(&CampaignOptions::new(11, 4 << 20)).expect("campaign");
    let campaign = dir.join("campaign.pcap");
    std::fs::write(&campaign, &bytes).unwrap();
    let paths = [
        campaign.to_string_lossy().into_owned(),
        capture("reference-config-update.pcap"),
        capture("reference-connection-request.pcap"),
        capture("reference-firmware.pcap"),
        capture("third-party/cwmp_sim_fleet5.pcap"),
        capture("third-party/genieacs_genieacs_sim_config_update.pcap"),
        capture("public/zeek_http_1000-requests-one-dropped-response.pcap"),
    ];
    for path in &paths {
        let single = ndjson(&["analyze", "--format", "ndjson", path]);
        let single_json = ndjson(&["analyze", "--format", "json", path]);
        for n in 1..=4 {
            let files = shard_files(path, n, &dir);
            let mut args = vec!["merge"];
            args.extend(files.iter().rev().map(String::as_str));
            assert_eq!(ndjson(&args), single, "{path} in {n} shards");
            // And the JSON document of a single run.
            args.extend(["--format", "json"]);
            assert_eq!(ndjson(&args), single_json, "{path} in {n} shards, JSON");
        }
    }

    // The campaign's CPEs really are split: each session and finding is in one shard only,
    // every shard has some, and the transactions add up.
    let path = &paths[0];
    let single = ndjson(&["analyze", "--format", "ndjson", path]);
    let files = shard_files(path, 4, &dir);
    let texts: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    let mut sessions = BTreeSet::new();
    let mut transactions = 0;
    for text in &texts {
        let own = ids(text, "session");
        assert!(own.len() > 10, "a shard with {} sessions", own.len());
        assert!(own.is_disjoint(&sessions));
        sessions.extend(own);
        transactions += ids(text, "transaction").len();
    }
    assert_eq!(sessions, ids(&single, "session"));
    // A shard's lines do not depend on the thread count either.
    let three_threads = ndjson(&[
        "analyze",
        "--format",
        "ndjson",
        "--shard",
        "1/4",
        "--threads",
        "3",
        path,
    ]);
    assert_eq!(three_threads, texts[0]);
    assert_eq!(transactions, ids(&single, "transaction").len());
    assert!(transactions > 30);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_refuses_what_is_not_every_shard_of_one_split() {
    let dir = scratch("shards-refused");
    std::fs::create_dir_all(&dir).unwrap();
    let path = capture("reference-config-update.pcap");
    let three = shard_files(&path, 3, &dir);
    let two = shard_files(&path, 2, &dir);
    let plain = dir.join("plain.ndjson");
    std::fs::write(&plain, ndjson(&["analyze", "--format", "ndjson", &path])).unwrap();
    let plain = plain.to_string_lossy().into_owned();
    let other = dir.join("other-2-of-3.ndjson");
    let other_capture = capture("reference-firmware.pcap");
    std::fs::write(
        &other,
        ndjson(&[
            "analyze",
            "--format",
            "ndjson",
            "--shard",
            "2/3",
            &other_capture,
        ]),
    )
    .unwrap();
    let other = other.to_string_lossy().into_owned();
    let truncated = dir.join("truncated.ndjson");
    let whole = std::fs::read_to_string(&three[0]).unwrap();
    let cut: Vec<&str> = whole.lines().collect();
    std::fs::write(&truncated, cut[..cut.len() - 2].join("\n") + "\n").unwrap();
    let truncated = truncated.to_string_lossy().into_owned();

    let cases: [(Vec<&str>, &str); 8] = [
        (vec![&three[0], &three[1]], "shard 3/3 is missing"),
        (
            vec![&three[0], &three[0], &three[2]],
            "shard 1/3 given twice",
        ),
        (
            vec![&three[0], &three[1], &two[1]],
            "shards of different splits",
        ),
        (vec![&plain], "not the NDJSON of a shard run"),
        (
            vec![&truncated, &three[1], &three[2]],
            "ends before its `capture` and `summary` lines",
        ),
        (vec!["/nonexistent/shard.ndjson"], "No such file"),
        (
            vec![&three[0], "--format", "text"],
            "merge writes --format ndjson or json",
        ),
        (
            vec![&three[0], &other, &three[2]],
            "did not analyze the same input",
        ),
    ];
    // Shards that read the same capture under other names (another mount) still merge; the
    // report names the first shard's files.
    let elsewhere = dir.join("renamed.pcap");
    std::fs::copy(&path, &elsewhere).unwrap();
    let renamed = ndjson(&[
        "analyze",
        "--format",
        "ndjson",
        "--shard",
        "2/3",
        &elsewhere.to_string_lossy(),
    ]);
    let renamed_file = dir.join("renamed-2-of-3.ndjson");
    std::fs::write(&renamed_file, renamed).unwrap();
    let merged = ndjson(&[
        "merge",
        &three[0],
        &renamed_file.to_string_lossy(),
        &three[2],
    ]);
    assert_eq!(merged, ndjson(&["merge", &three[0], &three[1], &three[2]]));

    // The binary itself: a one-line error and exit status 2, nothing on stdout.
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cwmpscope"))
            .args(args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code(), out.stdout.is_empty(), err)
    };
    for (files, expected) in cases {
        let mut args = vec!["merge"];
        args.extend(files);
        let (code, quiet, err) = run(&args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(quiet, "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }

    // A shard run writes everything, as NDJSON.
    for (extra, expected) in [
        (&["--format", "json"][..], "needs --format ndjson"),
        (
            &["--format", "ndjson", "--cpe", "CP0000000001"][..],
            "takes no --cpe",
        ),
    ] {
        let mut args = vec!["analyze", "--shard", "1/3", &path];
        args.extend(extra);
        let (code, quiet, err) = run(&args);
        assert_eq!(code, Some(2), "{args:?}");
        assert!(quiet && err.contains(expected), "{args:?}: {err}");
    }
    let (code, _, err) = run(&["analyze", "--format", "ndjson", "--shard", "4/3", &path]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is not K/N"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
