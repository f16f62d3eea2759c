//! Tests of the authentication and cookie header parsers.

use super::*;

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn basic_credentials() {
    // "admin:s3cr:et" with and without padding
    assert_eq!(
        parse_credentials("Basic YWRtaW46czNjcjpldA=="),
        Credentials::Basic {
            username: s("admin"),
            password: s("s3cr:et")
        }
    );
    assert_eq!(
        parse_credentials("basic   YWRtaW46czNjcjpldA"),
        Credentials::Basic {
            username: s("admin"),
            password: s("s3cr:et")
        }
    );
    assert_eq!(
        parse_credentials("Basic !!notbase64"),
        Credentials::Basic {
            username: None,
            password: None
        }
    );
    assert_eq!(
        parse_credentials("Basic dXNlcg=="),
        Credentials::Basic {
            username: s("user"),
            password: None
        }
    );
}

#[test]
fn digest_credentials_with_qop() {
    let v = r#"Digest username="cpe", realm="acs", nonce="abc", uri="/acs", qop=auth, nc=00000001, cnonce="xyz", response="0123", opaque="op", algorithm=MD5"#;
    let Credentials::Digest(p) = parse_credentials(v) else {
        panic!("not digest");
    };
    assert_eq!(p.username, s("cpe"));
    assert_eq!(p.realm, s("acs"));
    assert_eq!(p.nonce, s("abc"));
    assert_eq!(p.uri, s("/acs"));
    assert_eq!(p.qop, s("auth"));
    assert_eq!(p.nc, s("00000001"));
    assert_eq!(p.cnonce, s("xyz"));
    assert_eq!(p.response, s("0123"));
    assert_eq!(p.opaque, s("op"));
    assert_eq!(p.algorithm, s("MD5"));
    assert_eq!(p.stale, None);
}

#[test]
fn digest_rfc2069_form_fills_no_defaults() {
    let v = r#"Digest USERNAME = "a\"b" ,Realm="r",nonce="n",uri="/",response="f""#;
    let Credentials::Digest(p) = parse_credentials(v) else {
        panic!("not digest");
    };
    assert_eq!(p.username, s("a\"b"));
    assert_eq!(p.realm, s("r"));
    assert_eq!(p.response, s("f"));
    assert_eq!(p.qop, None);
    assert_eq!(p.nc, None);
    assert_eq!(p.algorithm, None);
}

#[test]
fn several_challenges_in_one_value() {
    let v = r#"Basic realm="x", Digest realm="y", qop="auth,auth-int", nonce="n1", stale=TRUE, Negotiate"#;
    let c = parse_challenges(v);
    assert_eq!(c.len(), 3, "{c:?}");
    assert_eq!(c[0], Challenge::Basic { realm: s("x") });
    let Challenge::Digest(d) = &c[1] else {
        panic!("not digest");
    };
    assert_eq!(d.realm, s("y"));
    assert_eq!(d.qop, s("auth,auth-int"));
    assert_eq!(d.nonce, s("n1"));
    assert_eq!(d.stale, Some(true));
    assert_eq!(c[2].scheme(), "Negotiate");
}

#[test]
fn challenge_stale_lowercase_and_token_values() {
    let c = parse_challenges("Digest realm=acs,nonce=abc,stale=true,algorithm=MD5");
    let [Challenge::Digest(d)] = c.as_slice() else {
        panic!("{c:?}");
    };
    assert_eq!(d.realm, s("acs"));
    assert_eq!(d.stale, Some(true));
    assert_eq!(d.algorithm, s("MD5"));
    assert_eq!(
        parse_challenges("Basic"),
        vec![Challenge::Basic { realm: None }]
    );
    assert!(parse_challenges("  ").is_empty());
    assert_eq!(parse_challenges(r#"Basic realm="unterminated"#).len(), 1);
}

#[test]
fn odd_inputs_do_not_panic() {
    for v in [
        "=",
        "==,,",
        "Digest =x",
        "Digest realm=\"é\\",
        "é é=é",
        "Basic é",
    ] {
        let _ = parse_challenges(v);
        let _ = parse_credentials(v);
    }
}

#[test]
fn cookies() {
    assert_eq!(
        parse_set_cookie("session=abc; Path=/; HttpOnly"),
        Some(("session".to_string(), "abc".to_string()))
    );
    assert_eq!(
        parse_set_cookie(" id = 42 "),
        Some(("id".to_string(), "42".to_string()))
    );
    assert_eq!(parse_set_cookie("novalue; Path=/"), None);
    assert_eq!(
        parse_cookie_header("a=1; b=2;c=x=y; bogus"),
        vec![
            ("a".to_string(), "1".to_string()),
            ("b".to_string(), "2".to_string()),
            ("c".to_string(), "x=y".to_string())
        ]
    );
}

#[test]
fn quoted_values_read_the_same_with_or_without_escapes() {
    let digest = |v: &str| match parse_credentials(v) {
        Credentials::Digest(p) => p,
        other => panic!("not digest: {other:?}"),
    };
    // Plain (read in place), empty, escaped quote and backslash, non-ASCII, and an escape
    // after which the string runs to the end of the value.
    let p = digest(
        r#"Digest username="plain", realm="", nonce="a\\b\"c", uri="/é\x", opaque="end\"tail"#,
    );
    assert_eq!(p.username, s("plain"));
    assert_eq!(p.realm, s(""));
    assert_eq!(p.nonce, s(r#"a\b"c"#));
    assert_eq!(p.uri, s("/éx"));
    assert_eq!(p.opaque, s(r#"end"tail"#));
    // A value after a quoted one is still read, and the first of two names wins.
    let p = digest(r#"Digest realm="x,y", nonce=n1, NONCE="n2""#);
    assert_eq!(p.realm, s("x,y"));
    assert_eq!(p.nonce, s("n1"));
}
