//! The session-store contract: one suite, run against the in-process store and against Redis.

use std::sync::Arc;
use std::time::Duration;

use watchword::clock::{ManualClock, SharedClock};
use watchword::session_store::memory::MemoryStore;
use watchword::session_store::redis::RedisStore;
use watchword::session_store::{
    Admission, Admitted, BoundedIncr, Incremented, Rewrite, SessionStore, Writes,
};

use crate::common::backend::delete_redis_prefix;
use crate::common::required_redis_url;

const MIN: Duration = Duration::from_secs(60);

async fn contract(store: Arc<dyn SessionStore>, clock: Option<&ManualClock>) {
    admission_contract(store.as_ref()).await;
    bounded_contract(store.as_ref()).await;
    let s = store.as_ref();
    s.ping().await.unwrap();
    assert_eq!(s.get("missing").await.unwrap(), None);

    s.set("k", b"v1", MIN).await.unwrap();
    assert_eq!(s.get("k").await.unwrap().as_deref(), Some(&b"v1"[..]));
    s.set("k", b"v2", MIN).await.unwrap();
    assert_eq!(
        s.get("k").await.unwrap().as_deref(),
        Some(&b"v2"[..]),
        "set replaces"
    );
    s.set("m1", b"a", MIN).await.unwrap();
    s.incr("m3", MIN).await.unwrap();
    assert_eq!(
        s.get_many(&["m1", "m2", "m3"]).await.unwrap(),
        vec![Some(b"a".to_vec()), None, Some(b"1".to_vec())],
        "in order, absent keys as None, counters as their decimal text"
    );
    assert!(s.get_many(&[]).await.unwrap().is_empty());
    s.delete_many(&["m1", "m3", "never-there"]).await.unwrap();
    assert_eq!(s.get_many(&["m1", "m3"]).await.unwrap(), vec![None, None]);
    s.delete_many(&[]).await.unwrap();
    let ttl = s.ttl("k").await.unwrap().expect("ttl set");
    assert!(ttl <= MIN && ttl > Duration::from_secs(55), "{ttl:?}");
    assert_eq!(s.ttl("missing").await.unwrap(), None);

    assert!(
        !s.set_existing("fresh", b"x", MIN).await.unwrap(),
        "only existing keys"
    );
    assert_eq!(s.get("fresh").await.unwrap(), None);
    s.set("fresh", b"x", MIN).await.unwrap();
    assert!(s.set_existing("fresh", b"y", MIN).await.unwrap());
    assert_eq!(s.get("fresh").await.unwrap().as_deref(), Some(&b"y"[..]));
    s.delete("fresh").await.unwrap();

    let rewrite = |value: &'static [u8], score: i64| Rewrite {
        key: "rec",
        value,
        ttl: MIN,
        indexes: &["by-deadline", "by-tenant"],
        member: "rec",
        score,
        index_ttl: MIN,
    };
    assert!(
        !s.set_existing_indexed(&rewrite(b"x", 5)).await.unwrap(),
        "only existing records"
    );
    assert_eq!(s.get("rec").await.unwrap(), None);
    assert!(
        s.index_members("by-deadline").await.unwrap().is_empty(),
        "a record that is gone stays out of the indexes"
    );
    s.set("rec", b"x", MIN).await.unwrap();
    assert!(s.set_existing_indexed(&rewrite(b"y", 7)).await.unwrap());
    assert!(s.set_existing_indexed(&rewrite(b"z", 9)).await.unwrap());
    assert_eq!(s.get("rec").await.unwrap().as_deref(), Some(&b"z"[..]));
    for index in ["by-deadline", "by-tenant"] {
        assert_eq!(
            s.index_members(index).await.unwrap(),
            vec![("rec".to_owned(), 9)],
            "{index}: the member once, with the latest score"
        );
        assert!(s.ttl(index).await.unwrap().is_some());
    }
    s.delete_many(&["rec", "by-deadline", "by-tenant"])
        .await
        .unwrap();

    assert!(s.set_if_absent("once", b"a", MIN).await.unwrap());
    assert!(!s.set_if_absent("once", b"b", MIN).await.unwrap());
    assert_eq!(s.get("once").await.unwrap().as_deref(), Some(&b"a"[..]));

    assert_eq!(s.take("once").await.unwrap().as_deref(), Some(&b"a"[..]));
    assert_eq!(s.take("once").await.unwrap(), None, "take is single-use");

    assert!(s.delete("k").await.unwrap());
    assert!(!s.delete("k").await.unwrap());
    assert_eq!(s.get("k").await.unwrap(), None);

    assert_eq!(s.incr("c", MIN).await.unwrap(), 1);
    assert_eq!(s.incr("c", MIN).await.unwrap(), 2);
    assert_eq!(s.incr("c", Duration::from_secs(3600)).await.unwrap(), 3);
    let ttl = s.ttl("c").await.unwrap().unwrap();
    assert!(
        ttl <= MIN,
        "a counter's window is not extended by later increments: {ttl:?}"
    );

    s.index_add("idx", "b", 20, MIN).await.unwrap();
    s.index_add("idx", "a", 10, MIN).await.unwrap();
    s.index_add("idx", "c", 30, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(
        s.index_members("idx").await.unwrap(),
        vec![("a".into(), 10), ("b".into(), 20), ("c".into(), 30)]
    );
    assert!(
        s.ttl("idx").await.unwrap().unwrap() > Duration::from_secs(55),
        "index TTL never shrinks"
    );
    s.index_add("idx", "d", 40, Duration::from_secs(600))
        .await
        .unwrap();
    assert!(
        s.ttl("idx").await.unwrap().unwrap() > Duration::from_secs(595),
        "index TTL grows"
    );
    assert_eq!(
        s.index_up_to("idx", 30, 10).await.unwrap(),
        vec![("a".into(), 10), ("b".into(), 20), ("c".into(), 30)]
    );
    assert_eq!(
        s.index_up_to("idx", 25, 1).await.unwrap(),
        vec![("a".into(), 10)]
    );
    assert!(s.index_up_to("idx", 5, 10).await.unwrap().is_empty());
    assert!(
        s.index_remove("idx", "b").await.unwrap(),
        "removing a member reports it"
    );
    assert!(
        !s.index_remove("idx", "b").await.unwrap(),
        "only the first remover wins"
    );
    assert!(!s.index_remove("idx", "zzz").await.unwrap());
    let members: Vec<String> = s
        .index_members("idx")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.0)
        .collect();
    assert_eq!(members, ["a", "c", "d"]);
    assert!(s.index_members("no-index").await.unwrap().is_empty());

    // Exactly one of many concurrent writers wins set_if_absent.
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .set_if_absent("race", format!("{i}").as_bytes(), MIN)
                .await
                .unwrap()
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.unwrap());
    }
    assert_eq!(winners, 1);

    if let Some(clock) = clock {
        s.set("short", b"x", Duration::from_secs(10)).await.unwrap();
        s.incr("window", Duration::from_secs(10)).await.unwrap();
        clock.advance(chrono::Duration::seconds(9));
        assert!(s.get("short").await.unwrap().is_some());
        clock.advance(chrono::Duration::seconds(2));
        assert_eq!(
            s.get("short").await.unwrap(),
            None,
            "expired values are gone"
        );
        assert!(!s.delete("short").await.unwrap());
        assert_eq!(
            s.incr("window", Duration::from_secs(10)).await.unwrap(),
            1,
            "a new window starts"
        );
        assert!(
            s.set_if_absent("short", b"y", MIN).await.unwrap(),
            "an expired key is absent"
        );
    }
}

/// A session record (the fields admission reads), last seen at `last_seen`.
fn record(member: &str, last_seen: i64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "sid": member, "c": 900, "l": last_seen
    }))
    .unwrap()
}

/// A session `member` joins its user's sessions at time 1000 (idle timeout 100 s, absolute
/// 1000 s), bringing its record and its expiry (1100).
async fn admit(
    s: &dyn SessionStore,
    member: &str,
    limit: Option<u32>,
    evict_oldest: bool,
) -> Admitted {
    s.admit_session(&Admission {
        user_index: "user",
        deadline_indexes: &["expiry"],
        record_prefix: "rec:",
        member,
        now: 1000,
        idle_secs: 100,
        absolute_secs: 1000,
        index_ttl: MIN,
        limit,
        evict_oldest,
        record: &record(member, 1000),
        record_ttl: MIN,
        expires_at: 1100,
        deadline_index_ttl: MIN,
    })
    .await
    .unwrap()
}

async fn members(s: &dyn SessionStore, index: &str) -> Vec<String> {
    s.index_members(index)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.0)
        .collect()
}

async fn admission_contract(s: &dyn SessionStore) {
    let none = || Admitted::Yes { evicted: vec![] };
    assert_eq!(admit(s, "a", Some(2), true).await, none());
    assert_eq!(
        s.get("rec:a").await.unwrap(),
        Some(record("a", 1000)),
        "an admitted session's record is stored"
    );
    let ttl = s.ttl("rec:a").await.unwrap().unwrap();
    assert!(ttl <= MIN && ttl > Duration::from_secs(55), "{ttl:?}");
    assert_eq!(
        s.index_members("expiry").await.unwrap(),
        [("a".into(), 1100)]
    );
    assert_eq!(admit(s, "b", Some(2), true).await, none());
    // At the limit: the oldest is evicted and its record taken.
    assert_eq!(
        admit(s, "c", Some(2), true).await,
        Admitted::Yes {
            evicted: vec![("a".into(), record("a", 1000))]
        }
    );
    assert_eq!(s.get("rec:a").await.unwrap(), None, "the record is taken");
    assert!(s.get("rec:b").await.unwrap().is_some());
    assert_eq!(members(s, "user").await, ["b", "c"]);
    assert!(
        !members(s, "expiry").await.contains(&"a".to_owned()),
        "an evicted session leaves the expiry index (the sweep will not end it again)"
    );
    // deny_new: refused, nothing changes, the live sessions are reported oldest first.
    assert_eq!(
        admit(s, "d", Some(2), false).await,
        Admitted::No {
            live: vec!["b".into(), "c".into()]
        }
    );
    assert_eq!(members(s, "user").await, ["b", "c"]);
    assert_eq!(
        s.get("rec:d").await.unwrap(),
        None,
        "a refusal stores nothing"
    );
    assert_eq!(members(s, "expiry").await, ["b", "c"]);
    // A timed-out session (idle since 850) does not count, but stays for the sweep to end;
    // a session whose record is gone leaves the index.
    s.set("rec:b", &record("b", 850), MIN).await.unwrap();
    s.index_add("user", "ghost", 0, MIN).await.unwrap();
    assert_eq!(admit(s, "e", Some(2), false).await, none());
    assert_eq!(members(s, "user").await, ["b", "c", "e"]);
    // Lowering the limit evicts as many live sessions as needed; unlimited evicts none.
    assert_eq!(
        admit(s, "f", Some(1), true).await,
        Admitted::Yes {
            evicted: vec![
                ("c".into(), record("c", 1000)),
                ("e".into(), record("e", 1000))
            ]
        }
    );
    assert_eq!(admit(s, "g", None, false).await, none());
    assert_eq!(members(s, "user").await, ["b", "f", "g"]);
    for k in ["user", "expiry", "rec:b", "rec:d", "rec:f", "rec:g"] {
        s.delete(k).await.unwrap();
    }
}

async fn bounded(
    s: &dyn SessionStore,
    holds: &[&str],
    counters: &[(&str, u64)],
    now: i64,
) -> Incremented {
    s.incr_bounded(&BoundedIncr {
        holds,
        counters,
        now,
        ttl: MIN,
    })
    .await
    .unwrap()
}

/// `incr_bounded` increments all counters or none; `decr` gives an increment back.
async fn bounded_contract(s: &dyn SessionStore) {
    assert_eq!(
        bounded(s, &[], &[("b1", 2), ("b2", 5)], 100).await,
        Incremented::Yes(vec![1, 1])
    );
    assert_eq!(
        bounded(s, &[], &[("b1", 2), ("b2", 5)], 100).await,
        Incremented::Yes(vec![2, 2])
    );
    assert_eq!(
        bounded(s, &[], &[("b2", 5), ("b1", 2)], 100).await,
        Incremented::Full { index: 1, count: 2 },
        "a full counter stops them all"
    );
    assert_eq!(s.get("b2").await.unwrap().as_deref(), Some(&b"2"[..]));
    let ttl = s.ttl("b1").await.unwrap().unwrap();
    assert!(ttl <= MIN && ttl > Duration::from_secs(55), "{ttl:?}");

    // A hold (an end time) ahead of `now` stops them too; one that has passed does not.
    s.set("hold", b"150", MIN).await.unwrap();
    assert_eq!(
        bounded(s, &["nothing", "hold"], &[("b2", 5)], 100).await,
        Incremented::Held {
            index: 1,
            until: 150
        }
    );
    assert_eq!(
        bounded(s, &["nothing", "hold"], &[("b2", 5)], 150).await,
        Incremented::Yes(vec![3])
    );

    // decr gives back, never below zero, never creating a counter.
    s.decr(&["b1", "b2", "never"]).await.unwrap();
    assert_eq!(s.get("b1").await.unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(s.get("b2").await.unwrap().as_deref(), Some(&b"2"[..]));
    assert_eq!(s.get("never").await.unwrap(), None);
    s.decr(&["b1"]).await.unwrap();
    s.decr(&["b1"]).await.unwrap();
    assert_eq!(s.get("b1").await.unwrap().as_deref(), Some(&b"0"[..]));
    assert_eq!(
        bounded(s, &[], &[("b1", 1)], 100).await,
        Incremented::Yes(vec![1])
    );
    s.decr(&[]).await.unwrap();

    // apply: gives back, deletes and stores in one step.
    s.set("gone-soon", b"x", MIN).await.unwrap();
    s.apply(&Writes {
        decr: &["b1", "never"],
        delete: &["gone-soon"],
        set: &[
            ("kept", b"v1", MIN),
            ("kept2", b"v2", Duration::from_secs(5)),
        ],
    })
    .await
    .unwrap();
    assert_eq!(s.get("b1").await.unwrap().as_deref(), Some(&b"0"[..]));
    assert_eq!(s.get("never").await.unwrap(), None);
    assert_eq!(s.get("gone-soon").await.unwrap(), None);
    assert_eq!(s.get("kept").await.unwrap().as_deref(), Some(&b"v1"[..]));
    assert_eq!(s.get("kept2").await.unwrap().as_deref(), Some(&b"v2"[..]));
    let ttl = s.ttl("kept2").await.unwrap().unwrap();
    assert!(ttl <= Duration::from_secs(5), "{ttl:?}");
    s.apply(&Writes::default()).await.unwrap();
    s.delete_many(&["kept", "kept2"]).await.unwrap();
}

/// Many bounded increments at once: exactly the bound gets through.
async fn concurrent_bounded(store: Arc<dyn SessionStore>) {
    let mut tasks = Vec::new();
    for _ in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            bounded(
                store.as_ref(),
                &[],
                &[("burst", 100), ("burst-pair", 20)],
                0,
            )
            .await
        }));
    }
    let mut through = 0;
    for t in tasks {
        through += usize::from(matches!(t.await.unwrap(), Incremented::Yes(_)));
    }
    assert_eq!(through, 20);
    assert_eq!(
        store.get("burst").await.unwrap().as_deref(),
        Some(&b"20"[..])
    );
}

/// Many sign-ins of one user at once: exactly `limit` sessions remain, every other one is
/// evicted exactly once.
async fn concurrent_admissions(store: Arc<dyn SessionStore>) {
    let mut tasks = Vec::new();
    for i in 0..60 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            admit(store.as_ref(), &format!("s{i:02}"), Some(3), true).await
        }));
    }
    let mut evicted = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Admitted::Yes { evicted: e } => evicted.extend(e.into_iter().map(|(m, _)| m)),
            Admitted::No { .. } => panic!("end_oldest never refuses"),
        }
    }
    let remaining = store.index_members("user").await.unwrap();
    assert_eq!(remaining.len(), 3, "{remaining:?}");
    evicted.sort();
    let before = evicted.len();
    evicted.dedup();
    assert_eq!(before, evicted.len(), "nobody is evicted twice");
    assert_eq!(evicted.len(), 57);
    assert!(remaining.iter().all(|(m, _)| !evicted.contains(m)));
}

#[tokio::test]
async fn memory_store_meets_the_contract() {
    let clock = Arc::new(ManualClock::starting_now());
    let store = Arc::new(MemoryStore::new(clock.clone() as SharedClock));
    contract(store.clone(), Some(&clock)).await;
    concurrent_admissions(store.clone()).await;
    concurrent_bounded(store.clone()).await;
    clock.advance(chrono::Duration::hours(2));
    store.sweep();
    assert!(store.is_empty(), "the sweep removes everything expired");
}

/// Tests that need Redis (`WATCHWORD_TEST_REDIS_URL`): ignored by default, selected by
/// `scripts/test` in the pass that has it.
mod needs_redis {
    use super::*;

    #[tokio::test]
    #[ignore = "needs Redis: scripts/test runs it in the PostgreSQL + Redis pass (or --run-ignored all with WATCHWORD_TEST_REDIS_URL)"]
    async fn redis_store_meets_the_contract() {
        let url = required_redis_url();
        let prefix = format!("ww-test:{}:", uuid::Uuid::new_v4().simple());
        let store = Arc::new(RedisStore::new(&url, &prefix, Duration::from_secs(2)).unwrap());
        contract(store.clone(), None).await;
        concurrent_admissions(store.clone()).await;
        concurrent_bounded(store).await;
        delete_redis_prefix(&url, &prefix);
    }
}
