//! Unit and property tests of the `allowed_peers` patterns.

use std::time::UNIX_EPOCH;

use proptest::prelude::*;

use super::*;

fn peer() -> PeerIdentity {
    PeerIdentity {
        subject: "CN=api, OU=payments, OU=eu".into(),
        common_name: Some("api".into()),
        organizational_units: vec!["payments".into(), "eu".into()],
        issuer: "CN=ca".into(),
        serial: "01".into(),
        not_before: UNIX_EPOCH,
        not_after: UNIX_EPOCH,
        sha256_fingerprint: [0xab; 32],
        spki_sha256: [0x01; 32],
        dns_names: vec!["API.Example.org".into(), "*.wild.example.org".into()],
        ip_addresses: vec!["10.1.2.3".parse().unwrap(), "2001:db8::7".parse().unwrap()],
        uris: vec!["spiffe://example.org/ns/prod/sa/api".into()],
        emails: vec![],
    }
}

fn admits(list: &str) -> bool {
    list.parse::<AllowedPeers>()
        .unwrap_or_else(|e| panic!("{list}: {e}"))
        .admits(&peer())
}

fn refused(pattern: &str) -> String {
    match pattern.parse::<AllowedPeers>() {
        Ok(list) => panic!("{pattern} parsed as {list}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn every_kind_matches_and_mismatches() {
    let cases = [
        ("dns:api.example.org", true),
        ("dns:api.example.org.", true),
        ("DNS:Api.EXAMPLE.org", true),
        ("dns:*.example.org", true),
        ("dns:*.org", false),
        ("dns:example.org", false),
        ("dns:*.wild.example.org", true),
        ("dns:x.wild.example.org", false),
        ("uri:spiffe://example.org/ns/prod/sa/api", true),
        ("uri:SPIFFE://Example.ORG/ns/prod/sa/api", true),
        ("uri:spiffe://example.org/ns/prod/sa/*", true),
        ("uri:spiffe://example.org/ns/*/sa/*", true),
        ("uri:spiffe://example.org/ns/prod/sa/API", false),
        ("uri:spiffe://example.org/ns/prod/*", false),
        ("uri:spiffe://example.org/ns/prod/sa/api/*", false),
        ("uri:spiffe://example.org/ns/dev/sa/*", false),
        ("uri:spiffe://other.org/ns/prod/sa/api", false),
        ("uri:https://example.org/ns/prod/sa/api", false),
        ("ip:10.1.2.3", true),
        ("ip:10.0.0.0/8", true),
        ("ip:10.1.2.4", false),
        ("ip:10.1.3.0/24", false),
        ("ip:0.0.0.0/0", true),
        ("ip:2001:db8::/32", true),
        ("ip:2001:db8::7", true),
        ("ip:2001:db9::/32", false),
        ("ip:::/0", true),
        ("cn:api", true),
        ("cn:API", false),
        ("cn:ap", false),
        ("ou:eu", true),
        ("ou:payments", true),
        ("ou:pay", false),
        (&format!("sha256:{}", "AB".repeat(32)), true),
        (&format!("sha256:{}", "ab".repeat(32)), true),
        (&format!("sha256:{}", ["ab"; 32].join(":")), true),
        (&format!("sha256:{}", "ac".repeat(32)), false),
        (&format!("spki-sha256:{}", "01".repeat(32)), true),
        (
            "spki-sha256:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            true,
        ),
        (
            "spki-sha256:AgEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            false,
        ),
        (&format!("spki-sha256:{}", "ab".repeat(32)), false),
    ];
    for (list, expected) in cases {
        assert_eq!(admits(list), expected, "{list}");
    }
}

#[test]
fn any_pattern_of_the_list_admits() {
    assert!(admits("dns:nope.example, cn:nope ,ip:10.1.2.3"));
    assert!(!admits("dns:nope.example,cn:nope"));
    let list: AllowedPeers = " uri:spiffe://example.org/a/* , dns:*.example.org "
        .parse()
        .unwrap();
    assert_eq!(list.patterns().len(), 2);
}

#[test]
fn a_mapped_ipv6_address_is_not_an_ipv4_one() {
    let mut p = peer();
    p.ip_addresses = vec!["::ffff:10.1.2.3".parse().unwrap()];
    let list: AllowedPeers = "ip:10.0.0.0/8".parse().unwrap();
    assert!(!list.admits(&p));
}

#[test]
fn uris_with_a_query_or_an_empty_segment_do_not_match_a_wildcard() {
    let list: AllowedPeers = "uri:spiffe://example.org/sa/*".parse().unwrap();
    for uri in [
        "spiffe://example.org/sa/",
        "spiffe://example.org/sa/x?y",
        "spiffe://example.org/sa/x#y",
        "spiffe://example.org/sa",
        "spiffe:/example.org/sa/x",
    ] {
        let mut p = peer();
        p.uris = vec![uri.into()];
        assert!(!list.admits(&p), "{uri}");
    }
}

#[test]
fn patterns_that_cannot_match_are_refused_with_the_reason() {
    let cases = [
        ("", "empty"),
        ("  ", "empty"),
        ("dns:a.example,", "empty pattern"),
        ("dns:a.example,,cn:x", "empty pattern"),
        ("api.example.org", "unknown kind"),
        ("host:api.example.org", "unknown kind"),
        ("dns:", "nothing after"),
        ("dns:ex*ample.com", "whole label"),
        ("dns:*.*.com", "leftmost"),
        ("dns:api.*.com", "leftmost"),
        ("dns:*", "parent domain"),
        ("dns:a..b", "1 to 63"),
        ("dns:a b.example", "letters, digits"),
        ("uri:example.org/sa/x", "scheme://host"),
        (
            "uri:spiffe://*.example.org/sa/x",
            "never in the scheme or host",
        ),
        ("uri:spif*e://example.org/sa/x", "not a URI scheme"),
        ("uri:spiffe:///sa/x", "no host"),
        ("uri:spiffe://example.org/sa/api-*", "whole path segment"),
        ("uri:spiffe://example.org/sa/x?y=1", "query or fragment"),
        ("ip:10.0.0.0/33", "prefix length"),
        ("ip:10.0.0.0/-1", "prefix length"),
        ("ip:10.0.0.0/+8", "prefix length"),
        ("ip:2001:db8::/129", "prefix length"),
        ("ip:10.1.2.3/8", "host bits set; the network is 10.0.0.0/8"),
        ("ip:10.0.0", "not an IPv4 or IPv6"),
        ("ip:example.org", "not an IPv4 or IPv6"),
        ("cn:*.example", "only in dns: and uri:"),
        ("ou:*", "only in dns: and uri:"),
        ("sha256:abcd", "64 hex digits, this has 4"),
        (&format!("sha256:{}", "zz".repeat(32)), "only hex digits"),
        (&format!("sha256:{}:", ["ab"; 32].join(":")), "32 two-digit"),
        (&format!("sha256:{}", ["abc"; 21].join(":")), "32 two-digit"),
        ("spki-sha256:AQEB", "44-character base64"),
        (
            "spki-sha256:!QEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
            "not valid base64",
        ),
    ];
    for (pattern, reason) in cases {
        let error = refused(pattern);
        assert!(error.contains(reason), "{pattern}: {error}");
    }
    // The error names the bad pattern, not the whole list.
    let error = "dns:ok.example, dns:ex*ample.com"
        .parse::<AllowedPeers>()
        .unwrap_err();
    assert_eq!(error.pattern, "dns:ex*ample.com");
}

#[test]
fn display_is_canonical_and_parses_back() {
    let list: AllowedPeers = "DNS:*.Example.org., uri:SPIFFE://TD/ns/*/Sa, ip:10.0.0.0/8, \
        ip:::1, cn:x, ou:y, sha256:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:\
        ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab:ab, spki-sha256:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
        .parse()
        .unwrap();
    let text = list.to_string();
    assert_eq!(
        text,
        format!(
            "dns:*.example.org,uri:spiffe://td/ns/*/Sa,ip:10.0.0.0/8,ip:::1,cn:x,ou:y,sha256:{},\
             spki-sha256:{}",
            "AB".repeat(32),
            "01".repeat(32)
        )
    );
    assert_eq!(text.parse::<AllowedPeers>().unwrap(), list);
}

#[test]
fn only_pins_tells_names_from_pins() {
    let pins: AllowedPeers = format!("sha256:{0},spki-sha256:{0}", "01".repeat(32))
        .parse()
        .unwrap();
    assert!(pins.only_pins());
    let names: AllowedPeers = format!("sha256:{},cn:x", "01".repeat(32)).parse().unwrap();
    assert!(!names.only_pins());
    assert!(AllowedPeers::new(Vec::new()).is_none());
}

fn label() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9-]{0,10}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever is written, parsing returns (never panics).
    #[test]
    fn parsing_never_panics(text in "\\PC{0,80}") {
        let _ = text.parse::<AllowedPeers>();
        let _ = format!("dns:{text}").parse::<AllowedPeers>();
        let _ = format!("uri:{text}").parse::<AllowedPeers>();
        let _ = format!("ip:{text}").parse::<AllowedPeers>();
        let _ = format!("spki-sha256:{text}").parse::<AllowedPeers>();
    }

    /// `*.parent` matches exactly one more label than the parent, whatever that label is.
    #[test]
    fn a_dns_wildcard_matches_exactly_one_label(
        parent in prop::collection::vec(label(), 1..4),
        first in label(),
        extra in label(),
    ) {
        let parent = parent.join(".");
        let list: AllowedPeers = format!("dns:*.{parent}").parse().unwrap();
        let mut p = peer();
        p.dns_names = vec![format!("{first}.{}", parent.to_uppercase())];
        prop_assert!(list.admits(&p));
        p.dns_names = vec![format!("{extra}.{first}.{parent}")];
        prop_assert!(!list.admits(&p));
        p.dns_names = vec![parent.clone()];
        prop_assert!(!list.admits(&p));
    }

    /// A `*` segment matches one non-empty segment, never a slash.
    #[test]
    fn a_uri_wildcard_matches_exactly_one_segment(
        segments in prop::collection::vec("[A-Za-z0-9._-]{1,8}", 1..5),
        which in 0usize..5,
        extra in "[a-z]{1,4}",
    ) {
        let which = which % segments.len();
        let mut wanted = segments.clone();
        wanted[which] = "*".into();
        let list: AllowedPeers =
            format!("uri:spiffe://example.org/{}", wanted.join("/")).parse().unwrap();
        let mut p = peer();
        p.uris = vec![format!("spiffe://example.org/{}", segments.join("/"))];
        prop_assert!(list.admits(&p));
        let mut longer = segments.clone();
        longer[which] = format!("{}/{extra}", segments[which]);
        p.uris = vec![format!("spiffe://example.org/{}", longer.join("/"))];
        prop_assert!(!list.admits(&p));
    }

    /// An IPv4 address is inside `network/prefix` exactly when their first `prefix` bits agree.
    #[test]
    fn ipv4_networks_hold_what_shares_their_prefix(
        network in any::<u32>(),
        address in any::<u32>(),
        prefix in 0u8..=32,
    ) {
        let keep = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
        let net = std::net::Ipv4Addr::from(network & keep);
        let list: AllowedPeers = format!("ip:{net}/{prefix}").parse().unwrap();
        let mut p = peer();
        p.ip_addresses = vec![std::net::Ipv4Addr::from(address).into()];
        prop_assert_eq!(list.admits(&p), address & keep == network & keep);
    }

    /// The same for IPv6.
    #[test]
    fn ipv6_networks_hold_what_shares_their_prefix(
        network in any::<u128>(),
        address in any::<u128>(),
        prefix in 0u8..=128,
    ) {
        let keep = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
        let net = std::net::Ipv6Addr::from(network & keep);
        let list: AllowedPeers = format!("ip:{net}/{prefix}").parse().unwrap();
        let mut p = peer();
        p.ip_addresses = vec![std::net::Ipv6Addr::from(address).into()];
        prop_assert_eq!(list.admits(&p), address & keep == network & keep);
    }

    /// A fingerprint pattern matches its digest in every accepted spelling and nothing else.
    #[test]
    fn fingerprints_match_in_every_spelling(digest in any::<[u8; 32]>(), other in any::<[u8; 32]>()) {
        let hex: Vec<String> = digest.iter().map(|b| format!("{b:02x}")).collect();
        let base64 = base64::engine::general_purpose::STANDARD.encode(digest);
        let mut p = peer();
        p.sha256_fingerprint = digest;
        p.spki_sha256 = digest;
        for list in [
            format!("sha256:{}", hex.concat()),
            format!("sha256:{}", hex.concat().to_uppercase()),
            format!("sha256:{}", hex.join(":")),
            format!("spki-sha256:{}", hex.concat()),
            format!("spki-sha256:{base64}"),
        ] {
            let parsed: AllowedPeers = list.parse().unwrap();
            prop_assert!(parsed.admits(&p), "{}", list);
        }
        p.sha256_fingerprint = other;
        p.spki_sha256 = other;
        let parsed: AllowedPeers = format!("sha256:{}", hex.concat()).parse().unwrap();
        prop_assert_eq!(parsed.admits(&p), other == digest);
    }
}
