//! The documented JSON of `POST /v1/metrics/trackEvents`: field names exactly as the API
//! tables spell them, absent optionals omitted. Each line of `TRUNK_EVENTS_FILE` is one
//! [`Event`], so these types also read what a run wrote. Their `Serialize` and `Deserialize`
//! are written by hand in `json.rs` (no `serde_derive` in a build-dependency's tree).

mod json;

/// The fields of [`Event`], as the API spells them: what we write, and all that the
/// validator allows.
pub(crate) const EVENT_FIELDS: [&str; 8] = [
    "id",
    "chainId",
    "parent",
    "createdAt",
    "finishedAt",
    "conclusion",
    "payload",
    "sequence",
];

use crate::Conclusion;

/// The path of the API endpoint under its base URL (`TRUNK_PUBLIC_API_ADDRESS`).
///
/// ```
/// assert_eq!(trunk_ci_analytics::wire::TRACK_EVENTS_PATH, "/v1/metrics/trackEvents");
/// ```
pub const TRACK_EVENTS_PATH: &str = "/v1/metrics/trackEvents";

/// The request body: a repository and the events that ran in it.
///
/// ```
/// use trunk_ci_analytics::wire::{Event, Repo, TrackEventsRequest};
///
/// let request = TrackEventsRequest {
///     repo: Repo { host: "github.com".into(), owner: "acme".into(), name: "app".into() },
///     events: vec![Event {
///         id: "17133b7500ee6dc8".into(),
///         chain_id: "17133b7500ee6dc8".into(),
///         parent: None,
///         created_at: 1_795_698_599_426,
///         finished_at: Some(1_795_698_663_626),
///         conclusion: None,
///         payload: None,
///         sequence: None,
///     }],
/// };
/// let body = serde_json::to_value(&request).unwrap();
/// assert_eq!(body["events"][0]["chainId"], "17133b7500ee6dc8");
/// assert!(trunk_ci_analytics::validate::validate_request(&body).is_ok());
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TrackEventsRequest {
    /// Where the events ran.
    pub repo: Repo,
    /// The events, in any order.
    pub events: Vec<Event>,
}

/// A repository on the code host (`github.com` is the only host the API accepts).
///
/// ```
/// use trunk_ci_analytics::detect::parse_repo;
///
/// let repo = parse_repo("https://github.com/acme/app.git").unwrap();
/// assert_eq!(serde_json::to_string(&repo).unwrap(),
///            r#"{"host":"github.com","owner":"acme","name":"app"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Repo {
    /// The code host, `github.com`.
    pub host: String,
    /// The owner (user or organization).
    pub owner: String,
    /// The repository name.
    pub name: String,
}

/// One event: a unit of CI work with its timing, conclusion, tags and metrics. This is
/// also one line of `TRUNK_EVENTS_FILE`:
///
/// ```
/// use trunk_ci_analytics::{Conclusion, wire::Event};
///
/// let line = r#"{"id":"b154752619c3fe4c","chainId":"17133b7500ee6dc8",
///   "parent":{"eventId":"6fe60912edd71483","sequenceKey":"xtask::xtask::ci"},
///   "createdAt":1795698599426,"finishedAt":1795698599695,"conclusion":"SUCCESS",
///   "payload":{"metrics":[{"k":"duration_ms","v":268.73}],"tags":[{"k":"exit_code","v":0}]},
///   "sequence":{"platform":"local","kind":"step","key":"xtask::xtask::fmt","name":"fmt",
///   "payload":{"metrics":[],"tags":[]}}}"#;
/// let event: Event = serde_json::from_str(line).unwrap();
/// assert_eq!(event.conclusion, Some(Conclusion::Success));
/// assert_eq!(event.sequence.unwrap().name, "fmt");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Unique id of this event.
    pub id: String,
    /// The id of the root event of this run.
    pub chain_id: String,
    /// The parent event, absent for a root.
    pub parent: Option<Parent>,
    /// Start, in milliseconds since the Unix epoch.
    pub created_at: u64,
    /// End, in milliseconds since the Unix epoch; never earlier than `created_at`.
    pub finished_at: Option<u64>,
    /// How the event ended.
    pub conclusion: Option<Conclusion>,
    /// Metrics and tags of this event.
    pub payload: Option<Payload>,
    /// The sequence (pipeline, job, function) this event belongs to.
    pub sequence: Option<Sequence>,
}

/// Link from an event to its parent: the parent's id and its sequence key.
///
/// ```
/// use trunk_ci_analytics::wire::Parent;
///
/// let parent = Parent { event_id: "6fe60912edd71483".into(), sequence_key: "xtask::ci".into() };
/// assert_eq!(serde_json::to_string(&parent).unwrap(),
///            r#"{"eventId":"6fe60912edd71483","sequenceKey":"xtask::ci"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parent {
    /// The parent event's id.
    pub event_id: String,
    /// The key of the parent event's sequence.
    pub sequence_key: String,
}

/// Metrics and tags; both arrays are always present on the wire.
///
/// ```
/// use trunk_ci_analytics::wire::{Metric, Payload, Tag};
///
/// let payload = Payload {
///     metrics: vec![Metric { k: "duration_ms".into(), v: 1000.0 }],
///     tags: vec![Tag { k: "os".into(), v: "linux".into() }],
/// };
/// assert_eq!(serde_json::to_string(&payload).unwrap(),
///            r#"{"metrics":[{"k":"duration_ms","v":1000}],"tags":[{"k":"os","v":"linux"}]}"#);
/// assert_eq!(serde_json::to_string(&Payload::default()).unwrap(), r#"{"metrics":[],"tags":[]}"#);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Payload {
    /// Numeric measurements, e.g. `duration_ms`.
    pub metrics: Vec<Metric>,
    /// Labels, string or number valued.
    pub tags: Vec<Tag>,
}

/// A numeric measurement. Whole numbers are written as JSON integers.
///
/// ```
/// use trunk_ci_analytics::wire::Metric;
///
/// let m = Metric { k: "duration_ms".into(), v: 0.5 };
/// assert_eq!(serde_json::to_string(&m).unwrap(), r#"{"k":"duration_ms","v":0.5}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Metric name.
    pub k: String,
    /// Value; always finite on the wire.
    pub v: f64,
}

/// A label.
///
/// ```
/// use trunk_ci_analytics::wire::Tag;
///
/// let t = Tag { k: "shard".into(), v: 3.into() };
/// assert_eq!(serde_json::to_string(&t).unwrap(), r#"{"k":"shard","v":3}"#);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Tag {
    /// Tag name.
    pub k: String,
    /// Value, a string or a number.
    pub v: TagValue,
}

/// A tag's value: the API takes a string or a number.
///
/// ```
/// use trunk_ci_analytics::wire::TagValue;
/// assert_eq!(TagValue::from(3u8), TagValue::Int(3));
/// assert_eq!(TagValue::from("main"), TagValue::Str("main".into()));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum TagValue {
    /// A whole number, sent as a JSON integer.
    Int(i64),
    /// An unsigned whole number too large for `i64`.
    UInt(u64),
    /// A floating-point number (finite values only are sent).
    Float(f64),
    /// A string.
    Str(String),
}

macro_rules! tag_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for TagValue {
            fn from(v: $t) -> Self { TagValue::Int(i64::from(v)) }
        }
    )*};
}
tag_from_int!(i8, i16, i32, i64, u8, u16, u32);

macro_rules! tag_from_wide {
    ($($t:ty),*) => {$(
        impl From<$t> for TagValue {
            fn from(v: $t) -> Self {
                match i64::try_from(v) {
                    Ok(i) => TagValue::Int(i),
                    Err(_) => match u64::try_from(v) {
                        Ok(u) => TagValue::UInt(u),
                        // Beyond 64 bits JSON readers lose precision anyway: keep the digits.
                        Err(_) => TagValue::Str(v.to_string()),
                    },
                }
            }
        }
    )*};
}
tag_from_wide!(u64, usize, isize, i128, u128);

impl From<f64> for TagValue {
    fn from(v: f64) -> Self {
        TagValue::Float(v)
    }
}
impl From<f32> for TagValue {
    fn from(v: f32) -> Self {
        TagValue::Float(f64::from(v))
    }
}
impl From<String> for TagValue {
    fn from(v: String) -> Self {
        TagValue::Str(v)
    }
}
impl From<&str> for TagValue {
    fn from(v: &str) -> Self {
        TagValue::Str(v.to_owned())
    }
}
impl From<&String> for TagValue {
    fn from(v: &String) -> Self {
        TagValue::Str(v.clone())
    }
}
impl From<std::borrow::Cow<'_, str>> for TagValue {
    fn from(v: std::borrow::Cow<'_, str>) -> Self {
        TagValue::Str(v.into_owned())
    }
}
impl From<bool> for TagValue {
    fn from(v: bool) -> Self {
        TagValue::Str(v.to_string())
    }
}

/// The sequence an event belongs to: what shows as a row in the dashboards. Every event of
/// a `#[track_event]` function carries its sequence, keyed by default
/// `{CARGO_PKG_NAME}::{module_path}::{fn}`.
///
/// ```
/// use trunk_ci_analytics::wire::{Payload, Sequence};
///
/// let seq = Sequence {
///     platform: "github_actions".into(),
///     kind: "step".into(),
///     key: "xtask::xtask::fmt".into(),
///     name: "fmt".into(),
///     payload: Payload::default(),
/// };
/// let json = serde_json::to_value(&seq).unwrap();
/// assert_eq!(json["payload"]["metrics"], serde_json::json!([]));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    /// The CI platform, snake_case (`github_actions`, `local`, …).
    pub platform: String,
    /// What kind of work this is (`function`, `job`, `workflow`, …).
    pub kind: String,
    /// Identifier unique within the repo, shorter than 128 characters.
    pub key: String,
    /// Display name.
    pub name: String,
    /// Sequence tags; `metrics` is always empty (the API takes none on a sequence).
    pub payload: Payload,
}
