//! Single-event rules: every matching event alerts, folded per entity per suppression bucket
//! (the alert id is the entity's bucket, so repeats from other batches merge into it).

use std::collections::BTreeMap;

use jcwatch_model::Alert;

use super::alerts::{Draft, build};
use super::{Pass, Placed, bucket};

pub(super) fn evaluate(pass: &Pass<'_>, hits: &[Placed]) -> Vec<Alert> {
    let size = pass.active.suppress();
    let mut groups: BTreeMap<(&str, &str, i64), Vec<&Placed>> = BTreeMap::new();
    for hit in hits {
        groups
            .entry((
                hit.org.as_str(),
                hit.entity.as_str(),
                bucket(hit.obs.at, size),
            ))
            .or_default()
            .push(hit);
    }
    groups
        .into_iter()
        .map(|((org, entity, start), group)| {
            let anchor = &group[0].obs;
            build(
                pass,
                Draft {
                    org,
                    entity: entity.to_string(),
                    bucket: start,
                    evidence: group.iter().map(|h| &h.obs).collect(),
                    anchor,
                    details: BTreeMap::new(),
                    actor: None,
                    target: None,
                },
            )
        })
        .collect()
}
