//! Spreading many organisations over several invocations (an MSP key with hundreds of
//! organisations): this invocation polls the first shard and hands every other shard to a
//! further asynchronous invocation of the same function.

use serde::{Deserialize, Serialize};

/// Which organisations this invocation polls, and which it hands on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardPlan {
    pub mine: Vec<Option<String>>,
    pub others: Vec<Vec<Option<String>>>,
}

/// The payload of a shard invocation: `{"orgs": [...]}`; `null` is the key's own
/// organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardPayload {
    pub orgs: Vec<Option<String>>,
}

/// Cuts `orgs` into shards of at most `shard_size` (at least 1), in order. Every
/// organisation lands in exactly one shard; the first is this invocation's.
pub fn plan_shards(orgs: &[Option<String>], shard_size: usize) -> ShardPlan {
    let mut chunks = orgs.chunks(shard_size.max(1)).map(<[_]>::to_vec);
    ShardPlan {
        mine: chunks.next().unwrap_or_default(),
        others: chunks.collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orgs(n: usize) -> Vec<Option<String>> {
        (0..n).map(|i| Some(format!("org-{i:03}"))).collect()
    }

    #[test]
    fn a_few_organisations_stay_in_one_invocation() {
        let plan = plan_shards(&orgs(25), 25);

        assert_eq!(plan.mine, orgs(25));
        assert!(plan.others.is_empty());
    }

    #[test]
    fn sixty_organisations_in_shards_of_25_make_three_invocations() {
        let all = orgs(60);

        let plan = plan_shards(&all, 25);

        assert_eq!(plan.mine, all[..25]);
        assert_eq!(plan.others.len(), 2);
        assert_eq!(plan.others[0], all[25..50]);
        assert_eq!(plan.others[1], all[50..]);
    }

    #[test]
    fn every_organisation_lands_in_exactly_one_shard() {
        for (n, size) in [(0, 3), (1, 1), (7, 3), (100, 7), (26, 25)] {
            let all = orgs(n);

            let plan = plan_shards(&all, size);

            let mut seen: Vec<_> = plan.mine.clone();
            seen.extend(plan.others.iter().flatten().cloned());
            assert_eq!(seen, all, "n={n} size={size}");
            assert!(plan.others.iter().all(|s| !s.is_empty() && s.len() <= size));
            assert!(plan.mine.len() <= size);
        }
    }

    #[test]
    fn a_zero_shard_size_is_treated_as_one() {
        let plan = plan_shards(&orgs(2), 0);

        assert_eq!(plan.mine.len(), 1);
        assert_eq!(plan.others.len(), 1);
    }

    #[test]
    fn the_shard_payload_reads_back() {
        let payload = ShardPayload {
            orgs: vec![Some("a".into()), None],
        };

        let json = serde_json::to_string(&payload).unwrap();

        assert_eq!(json, r#"{"orgs":["a",null]}"#);
        assert_eq!(
            serde_json::from_str::<ShardPayload>(&json).unwrap(),
            payload
        );
    }
}
