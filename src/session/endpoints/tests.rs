//! Tests of what the CWMP traffic teaches about Connection Request URLs and servers.

use super::*;
use crate::cwmp::{Download, Header, Inform, ParameterValue};

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn envelope(rpc: Rpc) -> Envelope {
    Envelope {
        ns: None,
        header: Header::default(),
        rpc,
    }
}

fn inform_with(params: &[(&str, &str)]) -> Envelope {
    envelope(Rpc::Inform(Inform {
        parameters: params
            .iter()
            .map(|(name, value)| ParameterValue {
                name: (*name).to_owned(),
                value: (*value).to_owned(),
                xsi_type: None,
            })
            .collect(),
        ..Inform::default()
    }))
}

fn download(url: &str) -> Envelope {
    envelope(Rpc::Download(Download {
        url: url.to_owned(),
        ..Download::default()
    }))
}

const CR_URL: &str = "InternetGatewayDevice.ManagementServer.ConnectionRequestURL";
const ACS_URL: &str = "Device.ManagementServer.URL";

#[test]
fn connection_request_url_is_learned_by_the_address_it_names() {
    let mut k = KnownEndpoints::default();
    let cpe = ip("10.0.0.5");
    k.learn(
        cpe,
        &[inform_with(&[(CR_URL, "http://10.0.0.5:7557/26e6dea1")])],
    );
    let t = k.cr_target(cpe).expect("learned");
    assert!(t.matches(7557, "/26e6dea1"));
    assert!(
        t.matches(7557, "/26e6dea1?ts=1"),
        "the query is not compared"
    );
    assert!(
        t.matches(7557, "http://10.0.0.5:7557/26e6dea1"),
        "absolute form"
    );
    assert!(!t.matches(7547, "/26e6dea1"), "another port");
    assert!(!t.matches(7557, "/other"), "another path");

    // A URL without a path is `/`; one naming a host is kept under the Inform's sender.
    let mut k = KnownEndpoints::default();
    k.learn(
        cpe,
        &[inform_with(&[(CR_URL, " http://cpe.example:7558 ")])],
    );
    assert!(k.cr_target(cpe).is_some_and(|t| t.matches(7558, "/")));
    // A URL naming another address (behind NAT) says nothing of the sender's address.
    let mut k = KnownEndpoints::default();
    k.learn(
        cpe,
        &[inform_with(&[(CR_URL, "http://192.168.1.1:7547/cr")])],
    );
    assert!(k.cr_target(cpe).is_none());
    assert!(k.cr_target(ip("192.168.1.1")).is_some());
}

#[test]
fn servers_come_from_urls_and_clear_requests_under_their_names() {
    let mut k = KnownEndpoints::default();
    let cpe = addr("10.0.0.5:40000");
    let unknown = addr("10.0.0.9:443");
    assert!(!k.is_server(cpe, unknown));
    assert!(k.is_server(cpe, addr("10.0.0.9:7547")), "the CWMP port");

    k.learn(
        cpe.ip(),
        &[inform_with(&[(ACS_URL, "https://10.0.0.2:7548/acs")])],
    );
    assert!(k.is_server(cpe, addr("10.0.0.2:7548")));
    assert!(!k.is_server(cpe, addr("10.0.0.2:443")), "another port");

    k.learn(cpe.ip(), &[download("https://10.0.0.3/fw.bin")]);
    assert!(k.is_server(cpe, addr("10.0.0.3:443")));

    // Named: the CPE's connections to that port, and the address a clear request shows.
    k.learn(cpe.ip(), &[download("http://files.example:8080/cfg")]);
    assert!(k.is_server(cpe, addr("10.0.0.4:8080")));
    let other_client = addr("10.0.0.6:40000");
    assert!(!k.is_server(other_client, addr("10.0.0.4:8080")));
    k.learn_request(addr("10.0.0.4:8080"), Some("Files.Example:8080"));
    assert!(k.is_server(other_client, addr("10.0.0.4:8080")));
    k.learn_request(addr("10.0.0.7:8080"), Some("elsewhere.example"));
    assert!(!k.is_server(other_client, addr("10.0.0.7:8080")));
}

#[test]
fn a_tls_server_is_named_by_the_url_its_client_was_given() {
    let mut k = KnownEndpoints::default();
    let cpe = addr("10.0.0.5:40000");
    let named = |role, host: Option<&str>| {
        Some(NamedServer {
            role,
            host: host.map(str::to_owned),
        })
    };
    // Before any Inform: by the port alone.
    assert_eq!(
        k.named_server(cpe, addr("10.0.0.2:7547"), false, false),
        named(ServerRole::Acs, None)
    );
    assert_eq!(
        k.named_server(cpe, addr("10.0.0.2:443"), false, false),
        None
    );
    k.learn(
        cpe.ip(),
        &[inform_with(&[
            (ACS_URL, "https://ACS.example.net:7548/acs"),
            (CR_URL, "https://10.0.0.5:7549/cr"),
        ])],
    );
    assert_eq!(k.acs_host(cpe.ip(), 7548), Some("acs.example.net"));
    assert_eq!(k.acs_host(cpe.ip(), 443), None);
    assert_eq!(
        k.named_server(cpe, addr("10.0.0.2:7548"), false, false),
        named(ServerRole::Acs, Some("acs.example.net"))
    );
    // A session's ACS endpoint on another port: the ACS, of no URL host.
    assert_eq!(
        k.named_server(cpe, addr("10.0.0.2:9000"), true, false),
        named(ServerRole::Acs, None)
    );
    // The ACS's Connection Request to the CPE's URL.
    assert_eq!(
        k.named_server(addr("10.0.0.2:50000"), addr("10.0.0.5:7549"), false, true),
        named(ServerRole::Cpe, Some("10.0.0.5"))
    );
    // To port 7547 of an address that is a CPE's: a Connection Request.
    assert_eq!(
        k.named_server(addr("10.0.0.2:50000"), addr("10.0.0.8:7547"), false, true),
        named(ServerRole::Cpe, None)
    );
    // The file server of a Download to this CPE, by name or by address.
    k.learn(cpe.ip(), &[download("https://files.example.net/fw.bin")]);
    assert_eq!(
        k.named_server(cpe, addr("10.0.0.3:443"), false, false),
        named(ServerRole::FileServer, Some("files.example.net"))
    );
    k.learn(cpe.ip(), &[download("https://10.0.0.4:8443/fw.bin")]);
    assert_eq!(
        k.named_server(cpe, addr("10.0.0.4:8443"), false, false),
        named(ServerRole::FileServer, Some("10.0.0.4"))
    );
    assert_eq!(
        k.named_server(cpe, addr("10.0.0.9:8443"), false, false),
        None
    );
}

#[test]
fn knowledge_is_bounded() {
    let mut k = KnownEndpoints::new(8);
    for i in 0..18 {
        let a = std::net::Ipv4Addr::from(0x0a00_0000 + i);
        k.learn(
            IpAddr::V4(a),
            &[inform_with(&[(CR_URL, &format!("http://{a}:7547/"))])],
        );
        k.learn(IpAddr::V4(a), &[download(&format!("http://{a}/f"))]);
    }
    assert_eq!(k.cr_urls.len(), 8);
    assert_eq!(k.servers.len(), 8);
    assert_eq!(k.file_urls.len(), 8);
    // Each of the ten CPEs beyond the bound brought three entries that did not fit: its
    // ConnectionRequestURL, its file server, and the Download URL's host.
    assert_eq!(k.not_learned(), 30);
    // What is known is still updated at the bound.
    let first = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000));
    k.learn(first, &[inform_with(&[(CR_URL, "http://10.0.0.0:7557/x")])]);
    assert_eq!(k.cr_target(first).map(|t| t.port), Some(7557));
    assert_eq!(k.not_learned(), 30);
}

#[test]
fn urls_split_into_host_port_and_path() {
    assert_eq!(
        split_url("http://u:p@[::1]:8080/x?y"),
        Some(("::1".to_owned(), 8080, "/x?y".to_owned()))
    );
    assert_eq!(
        split_url("HTTPS://ACS.example"),
        Some(("acs.example".to_owned(), 443, "/".to_owned()))
    );
    assert_eq!(split_url("not a url"), None);
    assert_eq!(target_path("http://h:1/p"), "/p");
    assert_eq!(target_path("/p"), "/p");
}
