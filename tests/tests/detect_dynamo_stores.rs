//! The DynamoDB alert and rule-state stores against the local AWS emulator.

mod detect_support;

use chrono::{Duration, TimeZone, Utc};
use detect_support::{Moto, alert, at, unique};
use jcwatch_aws::alerts::{DynamoAlertStore, create_alerts_table};
use jcwatch_aws::state::{DynamoStateStore, create_state_table};
use jcwatch_detection::store::{
    AlertQuery, AlertStore, Delivery, MAX_EVENT_IDS, Recorded, StateItem, StateMark, StateStore,
};

async fn alert_store() -> (DynamoAlertStore, aws_sdk_dynamodb::Client, String) {
    let client = Moto::connect().await.dynamodb();
    let table = unique("alerts");
    create_alerts_table(&client, &table)
        .await
        .expect("alerts table");
    (DynamoAlertStore::new(client.clone(), &table), client, table)
}

async fn state_store() -> DynamoStateStore {
    let client = Moto::connect().await.dynamodb();
    let table = unique("state");
    create_state_table(&client, &table)
        .await
        .expect("state table");
    DynamoStateStore::new(client, table)
}

fn notify_until(minutes: i64) -> Delivery {
    Delivery::Notify {
        claim_until: at(0, 0) + Duration::minutes(minutes),
    }
}

#[tokio::test]
async fn a_new_alert_is_created_and_a_repeat_merges_its_events() {
    let (store, _, _) = alert_store().await;
    let mut repeat = alert("al-1", &["e2", "e3"]);
    repeat.last_seen = at(5, 0);

    let first = store
        .record(&alert("al-1", &["e1", "e2"]), notify_until(5))
        .await
        .unwrap();
    let second = store.record(&repeat, notify_until(5)).await.unwrap();

    assert_eq!(first, Recorded::Created);
    assert_eq!(second, Recorded::Merged { changed: true });
    let stored = store.get("al-1").await.unwrap().expect("stored");
    assert_eq!(stored.event_ids, ["e1", "e2", "e3"]);
    assert_eq!(stored.count, 3);
    assert_eq!(stored.last_seen, at(5, 0));
    assert_eq!(stored.first_seen, at(0, 0));
    assert!(!stored.notified);
}

#[tokio::test]
async fn recording_the_same_alert_twice_changes_nothing() {
    let (store, _, _) = alert_store().await;
    let original = alert("al-2", &["e1", "e2"]);
    store.record(&original, notify_until(5)).await.unwrap();

    let again = store.record(&original, notify_until(5)).await.unwrap();

    assert_eq!(again, Recorded::Merged { changed: false });
    assert_eq!(store.get("al-2").await.unwrap().unwrap().count, 2);
}

#[tokio::test]
async fn concurrent_repeats_of_one_alert_lose_no_event() {
    let (store, _, _) = alert_store().await;
    store
        .record(&alert("al-3", &["e0"]), notify_until(5))
        .await
        .unwrap();
    let writers: Vec<_> = (1..=6)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let event = format!("e{i}");
                store
                    .record(&alert("al-3", &[&event]), notify_until(5))
                    .await
            })
        })
        .collect();

    for writer in writers {
        writer.await.unwrap().expect("merge succeeds");
    }

    let stored = store.get("al-3").await.unwrap().unwrap();
    assert_eq!(stored.event_ids, ["e0", "e1", "e2", "e3", "e4", "e5", "e6"]);
    assert_eq!(stored.count, 7);
}

#[tokio::test]
async fn stored_event_ids_are_bounded_but_the_count_is_kept() {
    let (store, _, _) = alert_store().await;
    let ids: Vec<String> = (0..250).map(|i| format!("ev{i:04}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();

    store
        .record(&alert("al-4", &refs), Delivery::StoreOnly)
        .await
        .unwrap();

    let stored = store.get("al-4").await.unwrap().unwrap();
    assert_eq!(stored.event_ids.len(), MAX_EVENT_IDS);
    assert_eq!(stored.event_ids[0], "ev0000");
    assert_eq!(stored.count, 250);
}

#[tokio::test]
async fn a_pending_alert_is_claimed_once_and_leaves_the_queue_when_notified() {
    let (store, _, _) = alert_store().await;
    store
        .record(&alert("al-5", &["e1"]), notify_until(5))
        .await
        .unwrap();
    store
        .record(&alert("al-6", &["e2"]), Delivery::StoreOnly)
        .await
        .unwrap();
    let later = at(10, 0);

    let while_claimed = store.list_pending(at(1, 0), 10).await.unwrap();
    let after_lapse = store.list_pending(later, 10).await.unwrap();
    let first_claim = store
        .claim("al-5", later, later + Duration::minutes(5))
        .await
        .unwrap();
    let second_claim = store
        .claim("al-5", later, later + Duration::minutes(5))
        .await
        .unwrap();
    store.mark_notified("al-5").await.unwrap();
    let after_notify = store
        .list_pending(later + Duration::hours(1), 10)
        .await
        .unwrap();

    assert!(while_claimed.is_empty(), "the creator's claim hides it");
    assert_eq!(
        after_lapse
            .iter()
            .map(|a| a.alert_id.as_str())
            .collect::<Vec<_>>(),
        ["al-5"]
    );
    assert!(first_claim);
    assert!(!second_claim, "a claim held by another run is refused");
    assert!(after_notify.is_empty());
    assert!(store.get("al-5").await.unwrap().unwrap().notified);
    assert!(
        !store
            .claim(
                "al-5",
                later + Duration::hours(2),
                later + Duration::hours(3)
            )
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn a_released_claim_is_retried_at_once() {
    let (store, _, _) = alert_store().await;
    store
        .record(&alert("al-7", &["e1"]), notify_until(5))
        .await
        .unwrap();

    store.release("al-7").await.unwrap();

    let pending = store.list_pending(at(0, 1), 10).await.unwrap();
    assert_eq!(pending.len(), 1);
}

#[tokio::test]
async fn alerts_are_listed_by_time_per_organisation_and_across_all() {
    let (store, _, _) = alert_store().await;
    for (i, minute) in [(1, 5), (2, 15), (3, 25)] {
        let mut a = alert(&format!("al-list-{i}"), &[&format!("e{i}")]);
        a.first_seen = at(minute, 0);
        a.last_seen = at(minute, 30);
        let delivery = if i == 2 {
            notify_until(60)
        } else {
            Delivery::StoreOnly
        };
        store.record(&a, delivery).await.unwrap();
    }
    let mut other = alert("al-other-org", &["x"]);
    other.org = Some("org-2".into());
    store.record(&other, Delivery::StoreOnly).await.unwrap();
    store.mark_notified("al-list-3").await.unwrap();

    let org_1 = store
        .list(&AlertQuery {
            org: Some("org-1".into()),
            since: Some(at(10, 0)),
            until: None,
            limit: 10,
        })
        .await
        .unwrap();
    let everything = store
        .list(&AlertQuery {
            limit: 10,
            ..AlertQuery::default()
        })
        .await
        .unwrap();

    let ids: Vec<&str> = org_1.iter().map(|a| a.alert_id.as_str()).collect();
    assert_eq!(
        ids,
        ["al-list-3", "al-list-2"],
        "newest first, pending included"
    );
    assert_eq!(everything.len(), 4);
}

#[tokio::test]
async fn an_alert_item_carries_its_ttl_and_readable_attributes() {
    let (store, client, table) = alert_store().await;
    store
        .record(&alert("al-8", &["e1"]), Delivery::StoreOnly)
        .await
        .unwrap();

    let item = client
        .get_item()
        .table_name(&table)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("al-8".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("alert".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();

    let expires: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert!(expires > at(1, 0).timestamp() + 300 * 86_400);
    assert_eq!(item["rule_id"].as_s().unwrap(), "auth.brute_force_user");
    assert_eq!(item["gsi1pk"].as_s().unwrap(), "org-1");
}

fn entry(key: &str, id: &str, expires_minute: u32) -> StateItem {
    StateItem {
        key: key.into(),
        id: id.into(),
        value: format!("{{\"event\":\"{id}\"}}"),
        expires_at: at(expires_minute, 0),
    }
}

#[tokio::test]
async fn state_observations_add_up_as_a_set_and_expire() {
    let store = state_store().await;
    let many: Vec<StateItem> = (0..60)
        .map(|i| entry("k-many", &format!("e{i:02}"), 30))
        .collect();

    store.add(&many).await.unwrap();
    store
        .add(&[
            entry("k1", "a", 30),
            entry("k1", "b", 30),
            entry("k1", "a", 30),
        ])
        .await
        .unwrap();
    store
        .add(&[
            entry("k1", "b", 30),
            entry("k1", "old", 5),
            entry("k2", "c", 30),
        ])
        .await
        .unwrap();
    let loaded = store
        .load(
            &[
                "k1".to_string(),
                "k-many".to_string(),
                "missing".to_string(),
            ],
            at(10, 0),
        )
        .await
        .unwrap();

    let k1: Vec<&str> = loaded
        .items
        .iter()
        .filter(|e| e.key == "k1")
        .map(|e| e.id.as_str())
        .collect();
    assert_eq!(k1, ["a", "b"], "duplicates once, the expired one left out");
    assert_eq!(
        loaded.items.iter().filter(|e| e.key == "k-many").count(),
        60
    );
    assert!(
        loaded.items.iter().all(|e| e.key != "k2"),
        "only the keys asked for"
    );
    let a = loaded.items.iter().find(|e| e.id == "a").unwrap();
    assert_eq!(a.value, "{\"event\":\"a\"}");
    assert_eq!(a.expires_at, at(30, 0));
}

#[tokio::test]
async fn concurrent_state_writers_both_land_without_a_lock() {
    let store = state_store().await;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                let entries: Vec<StateItem> = (0..30)
                    .map(|i| entry("shared", &format!("w{w}-{i}"), 30))
                    .collect();
                store.add(&entries).await
            })
        })
        .collect();

    for writer in writers {
        writer.await.unwrap().unwrap();
    }

    let now = Utc.with_ymd_and_hms(2024, 5, 6, 10, 0, 0).unwrap();
    assert_eq!(
        store
            .load(&["shared".to_string()], now)
            .await
            .unwrap()
            .items
            .len(),
        120
    );
}

#[tokio::test]
async fn a_state_mark_only_rises_under_concurrent_writers() {
    let store = state_store().await;
    let mark = |minute, expires| StateMark {
        key: "marked".into(),
        at: at(minute, 0),
        expires_at: at(expires, 0),
    };
    let writers: Vec<_> = [7, 3, 9, 1]
        .into_iter()
        .map(|minute| {
            let store = store.clone();
            tokio::spawn(async move { store.raise(&[mark(minute, 50)]).await })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }

    store.raise(&[mark(2, 50)]).await.unwrap();
    store.add(&[entry("marked", "x", 50)]).await.unwrap();
    let loaded = store
        .load(&["marked".to_string()], at(10, 0))
        .await
        .unwrap();

    assert_eq!(loaded.marks, vec![mark(9, 50)]);
    assert_eq!(
        loaded.items.len(),
        1,
        "the mark is not mistaken for an observation"
    );
}
