//! The names are the contract: each round-trips through `from_name` and serde, and the lists
//! messages quote are made from the enums.

use super::*;

/// Every variant's name parses back to it, serde says the same name, and no two share one.
fn round_trips<T>(all: &[T], as_str: fn(T) -> &'static str, from: fn(&str) -> Option<T>)
where
    T: Copy + PartialEq + std::fmt::Debug + serde::Serialize + serde::de::DeserializeOwned,
{
    let mut seen = std::collections::BTreeSet::new();
    for &v in all {
        let name = as_str(v);
        assert!(seen.insert(name), "{name} named twice");
        assert_eq!(from(name), Some(v), "{name}");
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, format!("{name:?}"));
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
    }
    assert_eq!(from("no such name"), None);
}

#[test]
fn every_name_round_trips() {
    round_trips(&Check::ALL, Check::as_str, Check::from_name);
    round_trips(&Phase::EVERY, Phase::as_str, Phase::from_name);
    round_trips(
        &FailureKind::ALL,
        FailureKind::as_str,
        FailureKind::from_name,
    );
    round_trips(&Cause::ALL, Cause::as_str, Cause::from_name);
    round_trips(&Scope::ALL, Scope::as_str, Scope::from_name);
    round_trips(&Symptom::ALL, Symptom::as_str, Symptom::from_name);
    round_trips(&Lang::ALL, Lang::as_str, Lang::from_name);
    round_trips(&Profile::ALL, Profile::as_str, Profile::from_name);
    round_trips(&SignKind::ALL, SignKind::as_str, SignKind::from_name);
    round_trips(&SinkKind::ALL, SinkKind::as_str, SinkKind::from_name);
    round_trips(&FieldType::ALL, FieldType::as_str, FieldType::from_name);
}

#[test]
fn the_timed_phases_are_every_phase_but_content() {
    let timed: Vec<Phase> = Phase::EVERY
        .into_iter()
        .filter(|p| *p != Phase::Content)
        .collect();
    assert_eq!(Phase::ALL.to_vec(), timed);
}

#[test]
fn checks_lists_every_check_but_notification() {
    assert_eq!(
        Check::listable_names(),
        "dns, tcp, ping, tls, http, api_version, rpc"
    );
    assert_eq!(Check::parse("notification"), None);
    assert_eq!(Check::parse("rpc"), Some(Check::Rpc));
}

#[test]
fn language_lists_and_lenient_parsing() {
    assert_eq!(Lang::alternatives(false), "en or zh-CN");
    assert_eq!(Lang::alternatives(true), "\"en\" or \"zh-CN\"");
    for l in Lang::ALL {
        assert_eq!(Lang::parse(l.as_str()), Some(l));
    }
    assert_eq!(Lang::parse("zh_cn"), Some(Lang::ZhCn));
    assert_eq!(or_list(&["a", "b", "c"]), "a, b or c");
    assert_eq!(and_list(&["a", "b", "c"]), "a, b and c");
    assert_eq!(and_list(&["a"]), "a");
}
