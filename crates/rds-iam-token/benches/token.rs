//! Criterion benchmarks: signing a token and a token-cache hit (`cargo xtask bench`).
#![allow(
    missing_docs,
    clippy::unwrap_used,
    reason = "criterion macros generate undocumented items; a panic is a failed bench"
)]

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use rds_iam_token::{Credentials, TokenCache, TokenRequest};

fn benches(c: &mut Criterion) {
    let request = TokenRequest::new(
        "mycluster.cluster-c1a2b3c4d5e6.us-east-1.rds.amazonaws.com",
        3306,
        "app_user",
        "us-east-1",
    )
    .unwrap();
    let long_term = Credentials::new("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
    let temporary = long_term.clone().with_session_token("FwoGZXIvYXdzEXAMPLE".repeat(40));
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);

    c.bench_function("sign/long-term", |b| {
        b.iter(|| black_box(&request).sign(black_box(&long_term), now).unwrap())
    });
    c.bench_function("sign/session-token", |b| {
        b.iter(|| black_box(&request).sign(black_box(&temporary), now).unwrap())
    });

    let cache = TokenCache::new();
    cache.get_or_sign(&request, &temporary, now).unwrap();
    c.bench_function("cache/hit", |b| {
        b.iter(|| {
            cache
                .get_or_sign(black_box(&request), black_box(&temporary), now)
                .unwrap()
        })
    });
    c.bench_function("decode", |b| {
        let token = request.sign(&temporary, now).unwrap();
        b.iter(|| rds_iam_token::decode(black_box(token.expose())).unwrap())
    });
}

criterion_group!(token, benches);
criterion_main!(token);
