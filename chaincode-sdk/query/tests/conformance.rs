//! Conformance with CouchDB's Mango semantics: one fixture data set, and a
//! table of selector → the keys CouchDB's documented matching gives, one row
//! (or more) per operator; then the options (sort, skip, limit, fields,
//! bookmarks) and the errors.

use serde_json::{Value, json};
use weft_chaincode_query::{Query, QueryError};

/// The data set, in key order. `num` and `raw` are not JSON objects, so they
/// are never documents.
fn docs() -> Vec<(String, Value)> {
    [
        (
            "alice",
            json!({"name": "Alice", "age": 30, "owner": {"name": "Org1", "city": "Seoul"},
                   "tags": ["red", "blue"], "scores": [80, 95], "active": true, "docType": "person"}),
        ),
        (
            "bob",
            json!({"name": "Bob", "age": 25, "owner": {"name": "Org2", "city": "Busan"},
                   "tags": ["green"], "scores": [70, 82], "active": false, "docType": "person"}),
        ),
        (
            "carol",
            json!({"name": "Carol", "age": "thirty", "owner": {"name": "Org1"}, "tags": [],
                   "active": null, "docType": "person"}),
        ),
        (
            "dave",
            json!({"name": "dave", "age": 41.5, "tags": ["red"], "scores": [99],
                   "docType": "person", "nick": null}),
        ),
        (
            "erin",
            json!({"name": "Erin", "docType": "person", "age": 30,
                   "owner": {"name": "Org2", "city": "Seoul"}, "tags": ["blue", "red"], "scores": [84, 86]}),
        ),
        (
            "m1",
            json!({"docType": "marble", "color": "blue", "size": 5, "owner": "tom"}),
        ),
        (
            "m2",
            json!({"docType": "marble", "color": "red", "size": 10, "owner": "jerry"}),
        ),
        (
            "m3",
            json!({"docType": "marble", "color": "red", "size": 15, "owner": "tom", "meta": {"a.b": 1}}),
        ),
        ("num", json!(7)),
        ("raw", json!([1, 2])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn keys_matching(selector: &Value) -> Vec<String> {
    let query = Query::from_value(&json!({ "selector": selector })).unwrap();
    query
        .run(docs(), None, "")
        .unwrap()
        .records
        .into_iter()
        .map(|r| r.key)
        .collect()
}

#[test]
fn each_operator_matches_what_couchdb_matches() {
    let all = ["alice", "bob", "carol", "dave", "erin", "m1", "m2", "m3"];
    let table: Vec<(Value, Vec<&str>)> = vec![
        // Equality, implicit and explicit; numbers by value.
        (json!({"name": "Alice"}), vec!["alice"]),
        (json!({"age": {"$eq": 30}}), vec!["alice", "erin"]),
        (json!({"age": {"$eq": 30.0}}), vec!["alice", "erin"]),
        (json!({"tags": []}), vec!["carol"]),
        // $ne never matches a document without the field.
        (json!({"age": {"$ne": 30}}), vec!["bob", "carol", "dave"]),
        // Comparisons follow the collation across types: a string is
        // greater than every number, null and false less than true.
        (json!({"age": {"$gt": 30}}), vec!["carol", "dave"]),
        (
            json!({"age": {"$gte": 30}}),
            vec!["alice", "carol", "dave", "erin"],
        ),
        (json!({"age": {"$lt": 30}}), vec!["bob"]),
        (json!({"age": {"$lte": 30}}), vec!["alice", "bob", "erin"]),
        (json!({"active": {"$lt": true}}), vec!["bob", "carol"]),
        (
            json!({"docType": "marble", "size": {"$gt": 5, "$lte": 15}}),
            vec!["m2", "m3"],
        ),
        // $in / $nin, and an array field matched element by element.
        (
            json!({"color": {"$in": ["red", "green"]}}),
            vec!["m2", "m3"],
        ),
        (json!({"tags": {"$in": ["green"]}}), vec!["bob"]),
        (json!({"tags": {"$nin": ["red"]}}), vec!["bob", "carol"]),
        (
            json!({"owner": {"$nin": ["tom"]}}),
            vec!["alice", "bob", "carol", "erin", "m2"],
        ),
        // $exists, $type.
        (json!({"nick": {"$exists": true}}), vec!["dave"]),
        (json!({"owner": {"$exists": false}}), vec!["dave"]),
        (json!({"age": {"$type": "string"}}), vec!["carol"]),
        (json!({"active": {"$type": "null"}}), vec!["carol"]),
        // $regex and $beginsWith, on strings only.
        (
            json!({"name": {"$regex": "^[A-C]"}}),
            vec!["alice", "bob", "carol"],
        ),
        (json!({"name": {"$regex": "(?i)^d"}}), vec!["dave"]),
        (json!({"name": {"$beginsWith": "Ca"}}), vec!["carol"]),
        // $mod on integers only (41.5 is not one).
        (json!({"size": {"$mod": [10, 5]}}), vec!["m1", "m3"]),
        (json!({"age": {"$mod": [2, 0]}}), vec!["alice", "erin"]),
        // Arrays: $size, $all, $elemMatch, $allMatch.
        (json!({"tags": {"$size": 2}}), vec!["alice", "erin"]),
        (
            json!({"tags": {"$all": ["red", "blue"]}}),
            vec!["alice", "erin"],
        ),
        (json!({"tags": {"$all": []}}), vec![]),
        (
            json!({"scores": {"$elemMatch": {"$gte": 90}}}),
            vec!["alice", "dave"],
        ),
        (
            json!({"scores": {"$elemMatch": {"$gte": 80, "$lt": 85}}}),
            vec!["alice", "bob", "erin"],
        ),
        (
            json!({"scores": {"$allMatch": {"$gt": 80}}}),
            vec!["dave", "erin"],
        ),
        (
            json!({"owner": {"$keyMapMatch": {"$eq": "city"}}}),
            vec!["alice", "bob", "erin"],
        ),
        // Nested fields: dotted, as sub-objects, escaped dots, array indexes.
        (json!({"owner.city": "Seoul"}), vec!["alice", "erin"]),
        (json!({"owner": {"city": "Seoul"}}), vec!["alice", "erin"]),
        (
            json!({"owner": {"name": "Org1", "city": {"$exists": false}}}),
            vec!["carol"],
        ),
        (json!({"meta.a\\.b": 1}), vec!["m3"]),
        (json!({"tags.0": "red"}), vec!["alice", "dave"]),
        // Combinations.
        (
            json!({"$or": [{"color": "blue"}, {"age": 25}]}),
            vec!["bob", "m1"],
        ),
        (
            json!({"$and": [{"docType": "marble"}, {"owner": "tom"}]}),
            vec!["m1", "m3"],
        ),
        // $nor and $not are pushed down: each negated condition still needs
        // its field.
        (
            json!({"$nor": [{"docType": "marble"}, {"age": 30}]}),
            vec!["bob", "carol", "dave"],
        ),
        (
            json!({"$not": {"age": {"$gt": 30}}}),
            vec!["alice", "bob", "erin"],
        ),
        (
            json!({"name": {"$not": {"$regex": "^[A-C]"}}}),
            vec!["dave", "erin"],
        ),
        // _id is the key.
        (json!({"_id": {"$gt": "m"}}), vec!["m1", "m2", "m3"]),
        (json!({"_id": {"$regex": "^m"}, "size": 5}), vec!["m1"]),
        // Everything (only JSON objects are documents).
        (json!({}), all.to_vec()),
        (json!({"$or": []}), all.to_vec()),
    ];
    for (selector, expected) in table {
        assert_eq!(keys_matching(&selector), expected, "selector {selector}");
    }
}

fn run(query: Value, page: Option<usize>, bookmark: &str) -> (Vec<Value>, String) {
    let page_out = Query::from_value(&query)
        .unwrap()
        .run(docs(), page, bookmark)
        .unwrap();
    (
        page_out
            .records
            .into_iter()
            .map(|r| json!([r.key, r.value]))
            .collect(),
        page_out.bookmark,
    )
}

#[test]
fn sort_skip_limit_and_fields() {
    let query = json!({
        "selector": {"docType": "marble"},
        "sort": [{"size": "desc"}],
        "fields": ["color", "_id"],
        "skip": 1,
        "limit": 1,
    });
    let (records, _) = run(query, None, "");
    assert_eq!(records, vec![json!(["m2", {"color": "red", "_id": "m2"}])]);

    // Ascending by two fields, ties broken by key; documents without a sort
    // field are left out.
    let query = json!({"selector": {}, "sort": ["age", "name"], "fields": ["owner.city"]});
    let (records, _) = run(query, None, "");
    let keys: Vec<_> = records.iter().map(|r| r[0].clone()).collect();
    assert_eq!(keys, vec!["bob", "alice", "erin", "dave", "carol"]);
    assert_eq!(records[0][1], json!({"owner": {"city": "Busan"}}));
    assert_eq!(records[3][1], json!({}), "dave has no owner.city");
}

#[test]
fn bookmarks_page_through_every_result_once_in_key_or_sort_order() {
    for query in [
        json!({"selector": {}}),
        json!({"selector": {}, "sort": [{"docType": "desc"}]}),
        json!({"selector": {"docType": {"$exists": true}}, "sort": ["docType", "_id"]}),
    ] {
        let (everything, _) = run(query.clone(), None, "");
        let mut paged = Vec::new();
        let mut bookmark = String::new();
        loop {
            let (records, next) = run(query.clone(), Some(3), &bookmark);
            if records.is_empty() {
                assert_eq!(next, "", "no bookmark after the last page");
                break;
            }
            assert!(records.len() <= 3);
            paged.extend(records);
            bookmark = next;
        }
        assert_eq!(paged, everything, "{query}");
    }
    // The query text's own bookmark is used when the call gives none.
    let (first, bookmark) = run(json!({"selector": {}}), Some(2), "");
    assert_eq!(first.len(), 2);
    let (second, _) = run(json!({"selector": {}, "bookmark": bookmark}), Some(1), "");
    assert_eq!(second[0][0], "carol");
}

#[test]
fn what_is_not_supported_is_refused_by_name() {
    let deep = (0..100).fold(json!(1), |inner, _| json!({ "$and": [{ "a": inner }] }));
    let cases: Vec<(String, &str)> = vec![
        (
            r#"{"selector":{"age":{"$foo":1}}}"#.into(),
            "unknown operator $foo",
        ),
        (
            r#"{"selector":{"$text":"x"}}"#.into(),
            "$text is not supported",
        ),
        (
            r#"{"selector":{"n":{"$regex":"(?=a)"}}}"#.into(),
            "$regex \"(?=a)\"",
        ),
        (
            r#"{"selector":{"a":{"$in":5}}}"#.into(),
            "$in takes an array",
        ),
        (
            r#"{"selector":{"a":{"$mod":[0,1]}}}"#.into(),
            "divisor must not be 0",
        ),
        (
            r#"{"selector":{"a":{"$type":"integer"}}}"#.into(),
            "$type takes one of",
        ),
        (
            r#"{"selector":{"a":{"$exists":"yes"}}}"#.into(),
            "$exists takes true or false",
        ),
        (
            r#"{"selector":{"a..b":1}}"#.into(),
            "invalid field name \"a..b\"",
        ),
        (
            r#"{"selector":{},"r":1}"#.into(),
            "unknown query option \"r\"",
        ),
        (
            r#"{"selector":{},"sort":[{"a":"asc"},{"b":"desc"}]}"#.into(),
            "every field must sort the same way",
        ),
        (
            r#"{"selector":{},"limit":-1}"#.into(),
            "limit takes a non-negative integer",
        ),
        (r#"{"sort":["a"]}"#.into(), "no \"selector\""),
        ("not json".into(), "invalid query"),
        // Deeper than JSON text may nest (serde_json's limit of 128).
        (
            json!({ "selector": deep.clone() }).to_string(),
            "recursion limit",
        ),
    ];
    for (text, expected) in cases {
        let err = Query::parse(&text).unwrap_err().to_string();
        assert!(err.contains(expected), "{text}: {err}");
    }
    // A selector built in memory, not parsed, meets weft's own limit.
    let err = Query::from_value(&json!({ "selector": deep })).unwrap_err();
    assert!(
        err.to_string().contains("nested more than 64 levels"),
        "{err}"
    );
    let query = Query::parse(r#"{"selector":{}}"#).unwrap();
    assert!(matches!(
        query.run(docs(), None, "zz"),
        Err(QueryError::BadBookmark(_))
    ));
}
