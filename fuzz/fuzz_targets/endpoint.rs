//! Fuzz target: `Endpoint::parse` on any hostname.
//!
//! Asserts: no panic; an RDS endpoint has a region, a partition and an identifier, anything else none of them; the
//! region is lower-case; case and a trailing dot do not matter (except for IP literals, where a dot makes a name).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rds_iam_token::{Endpoint, EndpointKind};

fuzz_target!(|data: &[u8]| {
    let Ok(host) = std::str::from_utf8(data) else {
        return;
    };
    let endpoint = Endpoint::parse(host);
    let rds = endpoint.is_rds();
    assert_eq!(endpoint.region().is_some(), rds);
    assert_eq!(endpoint.partition().is_some(), rds);
    assert_eq!(endpoint.identifier().is_some(), rds);
    if let Some(region) = endpoint.region() {
        assert_eq!(region, region.to_ascii_lowercase());
        assert!(host.to_ascii_lowercase().contains(region));
    }
    assert_eq!(Endpoint::parse(&host.to_ascii_uppercase()), endpoint);
    if endpoint.kind() != EndpointKind::IpAddress {
        assert_eq!(Endpoint::parse(&format!("{host}.")), endpoint);
    }
});
