//! Reading one page of the events answer: the body and the paging headers, checked against
//! each other before anything is trusted. Pure, so every check has a unit test.

use jcwatch_core::ports::Page;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// The paging headers of an events answer, as text.
#[derive(Debug, Default, Clone)]
pub(crate) struct PageHeaders {
    pub result_count: Option<String>,
    pub limit: Option<String>,
    pub sort: Option<String>,
    pub search_after: Option<String>,
}

impl PageHeaders {
    pub fn from_map(headers: &HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).trim().to_owned())
        };
        Self {
            result_count: text("x-result-count"),
            limit: text("x-limit"),
            sort: text("x-sort"),
            search_after: text("x-search_after"),
        }
    }
}

/// Checks the answer and turns it into a [`Page`]. The error names what is inconsistent.
///
/// The page is the last when `X-Result-Count < X-Limit`, where `X-Limit` is what the server
/// applied (it silently replaces a limit it does not like), not what was asked.
pub(crate) fn parse_page(
    headers: &PageHeaders,
    body: &[u8],
    sent_search_after: Option<&Value>,
) -> Result<Page, String> {
    let count = count_header("X-Result-Count", headers.result_count.as_deref())?;
    let limit = count_header("X-Limit", headers.limit.as_deref())?;
    if limit == 0 {
        return Err("X-Limit is 0, so paging could never end".to_owned());
    }
    if let Some(sort) = headers.sort.as_deref()
        && !sort.eq_ignore_ascii_case("ASC")
    {
        return Err(format!(
            "the server sorted {sort:?} although ASC was asked; paging on it would skip events"
        ));
    }
    let events: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not a JSON array of events: {e}"))?;
    if u64::try_from(events.len()) != Ok(count) {
        return Err(format!(
            "X-Result-Count says {count} but the body holds {} events",
            events.len()
        ));
    }
    if count > limit {
        return Err(format!(
            "the page holds {count} events, more than its X-Limit of {limit}"
        ));
    }
    let last = count < limit;

    let search_after = match (headers.search_after.as_deref(), last) {
        (Some(text), false) => Some(next_search_after(text, sent_search_after)?),
        (None, false) => {
            return Err(
                "a full page came without an X-Search_after header, so the next page cannot be asked for"
                    .to_owned(),
            );
        }
        // The last page's cursor is never used; a garbled one there is no reason to fail.
        (Some(text), true) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(|v| v.as_array().is_some_and(|a| !a.is_empty())),
        (None, true) => None,
    };

    Ok(Page {
        events,
        search_after,
        last,
    })
}

fn count_header(name: &str, value: Option<&str>) -> Result<u64, String> {
    let value = value.ok_or_else(|| format!("the answer has no {name} header"))?;
    value
        .parse()
        .map_err(|_| format!("{name} {value:?} is not a count"))
}

/// The cursor for the next page: a non-empty JSON array that moves past the one just sent.
fn next_search_after(text: &str, sent: Option<&Value>) -> Result<Value, String> {
    let shown: String = text.chars().take(120).collect();
    let value: Value =
        serde_json::from_str(text).map_err(|_| format!("X-Search_after {shown:?} is not JSON"))?;
    if value.as_array().is_none_or(|a| a.is_empty()) {
        return Err(format!(
            "X-Search_after {shown:?} is not a non-empty JSON array"
        ));
    }
    if sent == Some(&value) {
        return Err(format!(
            "X-Search_after {shown:?} did not move past the page asked for; paging would loop"
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(count: &str, limit: &str, after: Option<&str>) -> PageHeaders {
        PageHeaders {
            result_count: Some(count.to_owned()),
            limit: Some(limit.to_owned()),
            sort: Some("ASC".to_owned()),
            search_after: after.map(str::to_owned),
        }
    }

    fn events(n: usize) -> Vec<u8> {
        let events: Vec<Value> = (0..n).map(|i| json!({"id": format!("e{i}")})).collect();
        serde_json::to_vec(&events).unwrap()
    }

    #[test]
    fn a_full_page_is_not_the_last_and_carries_the_next_cursor() {
        let page = parse_page(
            &headers("2", "2", Some(r#"[1576181718000,"b"]"#)),
            &events(2),
            None,
        )
        .unwrap();

        assert!(!page.last);
        assert_eq!(page.events.len(), 2);
        assert_eq!(page.search_after, Some(json!([1576181718000u64, "b"])));
    }

    #[test]
    fn a_short_page_is_the_last_judged_by_the_servers_limit_not_the_one_asked() {
        let page = parse_page(&headers("2", "3", Some(r#"[1,"x"]"#)), &events(2), None).unwrap();

        assert!(page.last);
    }

    #[test]
    fn an_empty_last_page_is_fine_without_a_usable_cursor() {
        let page = parse_page(&headers("0", "10000", Some("[]")), b"[]", None).unwrap();

        assert!(page.last);
        assert!(page.events.is_empty());
        assert_eq!(page.search_after, None);
    }

    #[test]
    fn a_count_that_disagrees_with_the_body_is_refused() {
        let error = parse_page(&headers("3", "10", None), &events(2), None).unwrap_err();

        assert!(
            error.contains("X-Result-Count says 3 but the body holds 2"),
            "{error}"
        );
    }

    #[test]
    fn missing_or_garbled_paging_headers_are_refused_by_name() {
        let mut no_count = headers("1", "1", Some(r#"[1,"a"]"#));
        no_count.result_count = None;
        let bad_limit = headers("1", "many", Some(r#"[1,"a"]"#));
        let no_cursor = headers("1", "1", None);
        let bad_cursor = headers("1", "1", Some("1,a"));

        let errors = [no_count, bad_limit, no_cursor, bad_cursor]
            .map(|h| parse_page(&h, &events(1), None).unwrap_err());

        assert!(
            errors[0].contains("no X-Result-Count header"),
            "{}",
            errors[0]
        );
        assert!(errors[1].contains("X-Limit \"many\""), "{}", errors[1]);
        assert!(
            errors[2].contains("without an X-Search_after"),
            "{}",
            errors[2]
        );
        assert!(errors[3].contains("is not JSON"), "{}", errors[3]);
    }

    #[test]
    fn more_events_than_the_limit_is_refused() {
        let error =
            parse_page(&headers("3", "2", Some(r#"[1,"a"]"#)), &events(3), None).unwrap_err();

        assert!(error.contains("more than its X-Limit of 2"), "{error}");
    }

    #[test]
    fn a_cursor_that_does_not_move_is_refused_instead_of_looping() {
        let sent = json!([5, "a"]);

        let error = parse_page(
            &headers("1", "1", Some(r#"[5,"a"]"#)),
            &events(1),
            Some(&sent),
        )
        .unwrap_err();

        assert!(error.contains("paging would loop"), "{error}");
    }

    #[test]
    fn a_descending_answer_is_refused() {
        let mut desc = headers("1", "5", None);
        desc.sort = Some("DESC".to_owned());

        let error = parse_page(&desc, &events(1), None).unwrap_err();

        assert!(error.contains("sorted \"DESC\""), "{error}");
    }

    #[test]
    fn a_body_that_is_not_an_array_is_refused() {
        let error = parse_page(&headers("1", "5", None), br#"{"message":"x"}"#, None).unwrap_err();

        assert!(error.contains("not a JSON array"), "{error}");
    }
}
