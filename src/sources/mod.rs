//! Input decoding: each source turns one incoming event into [`Record`]s and knows nothing of syslog.

pub mod cloudwatch;
pub mod ecr;
pub mod eventbridge;
pub mod input;
pub mod json_text;
pub mod kinesis;
pub mod kpl;
pub mod s3;
pub mod sqs;

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::findings::FindingsSource;
use crate::record::Record;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error(
        "unsupported event: {0}; expected a CloudWatch Logs subscription payload \
         ({{\"awslogs\":{{\"data\":\"...\"}}}}), an EventBridge event (source, detail-type, detail), \
         a Kinesis, SQS or S3 event (Records), an SNS notification of one of these, or an on-failure \
         destination record (requestPayload)"
    )]
    Unsupported(String),
    #[error(transparent)]
    CloudWatch(#[from] cloudwatch::DecodeError),
    #[error(
        "refusing to forward log group {0}: it is this function's own log group, and forwarding it \
         would feed the function its own output in a loop; remove that subscription filter"
    )]
    OwnLogGroup(String),
    #[error(transparent)]
    Scan(#[from] ecr::ScanError),
    #[error(transparent)]
    Kinesis(#[from] kinesis::KinesisError),
    #[error(transparent)]
    Sqs(#[from] sqs::SqsError),
    #[error(transparent)]
    S3(#[from] s3::S3Error),
    #[error(
        "event: {bytes} bytes, over the {limit}-byte limit (Lambda delivers at most 6 MB); refusing it"
    )]
    EventTooLarge { bytes: usize, limit: usize },
    #[error(
        "event: JSON nested deeper than {limit} levels; AWS events are shallow, so refusing it"
    )]
    EventTooDeep { limit: usize },
}

/// The top-level keys that tell the kinds of event apart.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    awslogs: Option<AwsLogs<'a>>,
    #[serde(rename = "Records", borrow, default)]
    records: Option<Vec<&'a RawValue>>,
    /// A Lambda on-failure destination record: the original event.
    #[serde(rename = "requestPayload", borrow, default)]
    request_payload: Option<&'a RawValue>,
    /// What a Kinesis event source mapping sends to its on-failure destination.
    #[serde(rename = "KinesisBatchInfo", borrow, default)]
    kinesis_batch_info: Option<&'a RawValue>,
    #[serde(default)]
    source: Option<String>,
    #[serde(rename = "detail-type", default)]
    detail_type: Option<String>,
    #[serde(borrow, default)]
    detail: Option<&'a RawValue>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    time: Option<String>,
    /// `s3:TestEvent` for the message S3 sends when a notification is configured.
    #[serde(rename = "Event", borrow, default)]
    s3_event: Option<Cow<'a, str>>,
    /// `Notification` for an SNS message as SNS delivers it to an SQS queue.
    #[serde(rename = "Type", borrow, default)]
    sns_type: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct AwsLogs<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

/// The EventBridge envelope fields every EventBridge-borne record uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBridgeMeta {
    pub id: String,
    pub source: String,
    pub detail_type: String,
    pub account: String,
    pub region: String,
    pub time: String,
}

/// A classified event, ready to become records.
#[derive(Debug)]
pub enum Event<'a> {
    /// `awslogs.data`: base64 of gzip of the log data JSON.
    CloudWatchLogs(Cow<'a, str>),
    /// An ECR basic scan or an Inspector2 (enhanced) scan of an ECR image.
    Scan(ecr::ScanEvent),
    /// Any other EventBridge event: forwarded whole.
    EventBridge {
        meta: EventBridgeMeta,
        raw: Cow<'a, str>,
    },
    /// A Kinesis Data Streams batch: each record is an item of its own, in order.
    Kinesis(Vec<&'a RawValue>),
    /// An SQS batch: each message is an item of its own.
    Sqs(Vec<&'a RawValue>),
    /// An S3 event notification (to the function, or through SQS or SNS): the objects it names
    /// that hold records, none for a test event, a deletion or a CloudTrail digest file.
    S3Notification(Vec<s3::ObjectRef>),
    /// An EventBridge `aws.s3` `Object Created` event.
    S3ObjectCreated(s3::ObjectRef),
}

impl Event<'_> {
    /// The event with what it borrows copied, for one read out of an SNS message; `None` for a
    /// Kinesis or SQS batch, which SNS never carries.
    fn into_owned(self) -> Option<Event<'static>> {
        Some(match self {
            Event::CloudWatchLogs(data) => Event::CloudWatchLogs(Cow::Owned(data.into_owned())),
            Event::Scan(scan) => Event::Scan(scan),
            Event::EventBridge { meta, raw } => Event::EventBridge {
                meta,
                raw: Cow::Owned(raw.into_owned()),
            },
            Event::S3Notification(objects) => Event::S3Notification(objects),
            Event::S3ObjectCreated(object) => Event::S3ObjectCreated(object),
            Event::Kinesis(_) | Event::Sqs(_) => return None,
        })
    }

    /// The objects an S3 event names; `None` for any other event.
    pub fn s3_objects(&self) -> Option<&[s3::ObjectRef]> {
        match self {
            Event::S3Notification(objects) => Some(objects),
            Event::S3ObjectCreated(object) => Some(std::slice::from_ref(object)),
            _ => None,
        }
    }
}

/// Which event source mapping sent a `Records` batch.
#[derive(Deserialize)]
struct EventSource<'a> {
    #[serde(rename = "eventSource", borrow, default)]
    event_source: Option<Cow<'a, str>>,
    /// SNS, invoking a function itself, spells it with a capital E.
    #[serde(rename = "EventSource", borrow, default)]
    sns_event_source: Option<Cow<'a, str>>,
}

/// Tells what `raw` (one JSON event) is, without decoding its bulk.
pub fn classify(raw: &str) -> Result<Event<'_>, SourceError> {
    let envelope: Envelope = serde_json::from_str(raw).map_err(|e| {
        SourceError::Unsupported(format!("not a JSON object with the expected keys ({e})"))
    })?;
    if let Some(awslogs) = envelope.awslogs {
        return Ok(Event::CloudWatchLogs(awslogs.data));
    }
    if let Some(records) = envelope.records {
        return classify_batch(records);
    }
    if s3::notification::is_test_event(envelope.s3_event.as_deref()) {
        return Ok(Event::S3Notification(Vec::new()));
    }
    match envelope.sns_type.as_deref() {
        Some("Notification") => return classify_sns(raw),
        Some("SubscriptionConfirmation") => {
            return Err(SourceError::Unsupported(
                "an SNS SubscriptionConfirmation: a topic (often of another account) asks to \
                 deliver to this queue; confirm it with `aws sns confirm-subscription --topic-arn \
                 TOPIC --token TOKEN`, both in this message, and its notifications follow"
                    .into(),
            ));
        }
        _ => {}
    }
    if let Some(original) = envelope.request_payload {
        // An on-failure destination record of this function: redriving it forwards the original
        // event. Batches are invoked synchronously and never land in that destination.
        return match classify(original.get())? {
            Event::Kinesis(_) | Event::Sqs(_) => Err(SourceError::Unsupported(
                "its requestPayload is itself a Kinesis or SQS batch".into(),
            )),
            event => Ok(event),
        };
    }
    if envelope.kinesis_batch_info.is_some() {
        return Err(SourceError::Unsupported(
            "it is a Kinesis on-failure record (KinesisBatchInfo), which holds only the shard and \
             sequence numbers, not the data; read that range from the stream (aws kinesis \
             get-shard-iterator / get-records) and replay the records"
                .into(),
        ));
    }
    let (Some(source), Some(detail_type), Some(detail)) =
        (envelope.source, envelope.detail_type, envelope.detail)
    else {
        return Err(SourceError::Unsupported(
            "it has neither awslogs nor source, detail-type and detail".into(),
        ));
    };
    if !detail.get().trim_start().starts_with('{') {
        return Err(SourceError::Unsupported(
            "its detail is not a JSON object".into(),
        ));
    }
    let meta = EventBridgeMeta {
        id: envelope.id.unwrap_or_default(),
        source,
        detail_type,
        account: envelope.account.unwrap_or_default(),
        region: envelope.region.unwrap_or_default(),
        time: envelope.time.unwrap_or_default(),
    };
    if meta.source == "aws.s3" && meta.detail_type == "Object Created" {
        return match s3::notification::created_object(detail.get(), &meta.account, &meta.region)? {
            Some(object) => Ok(Event::S3ObjectCreated(object)),
            None => Ok(Event::S3Notification(Vec::new())),
        };
    }
    let Some(kind) = ecr::ScanKind::of(&meta.source, &meta.detail_type) else {
        return Ok(Event::EventBridge {
            meta,
            raw: Cow::Borrowed(raw),
        });
    };
    match ecr::ScanEvent::parse(kind, meta, detail.get())? {
        ecr::Parsed::Scan(scan) => Ok(Event::Scan(scan)),
        ecr::Parsed::NotAnImage(meta) => Ok(Event::EventBridge {
            meta,
            raw: Cow::Borrowed(raw),
        }),
    }
}

/// An SNS notification (as SNS delivers it to SQS without raw message delivery): its `Message` is
/// any single event this forwarder reads (an S3 event notification, an EventBridge event a rule
/// published to a topic, …).
fn classify_sns(raw: &str) -> Result<Event<'_>, SourceError> {
    /// What SNS wraps around a message it delivers to an SQS queue (raw message delivery off).
    #[derive(Deserialize)]
    struct Notification {
        #[serde(rename = "Message")]
        message: String,
    }
    let notification: Notification = serde_json::from_str(raw).map_err(|e| {
        SourceError::Unsupported(format!("an SNS notification without a Message ({e})"))
    })?;
    // The message is JSON inside a string, which the envelope's own depth check skips.
    if !json_depth_within(notification.message.as_bytes(), MAX_JSON_DEPTH) {
        return Err(SourceError::EventTooDeep {
            limit: MAX_JSON_DEPTH,
        });
    }
    match classify(&notification.message) {
        Ok(event) => event.into_owned().ok_or_else(|| {
            SourceError::Unsupported(
                "an SNS notification whose Message is a Kinesis or SQS batch".into(),
            )
        }),
        Err(SourceError::Unsupported(why)) => Err(SourceError::Unsupported(format!(
            "an SNS notification whose Message is not an event this forwarder reads: {why}"
        ))),
        // A malformed event inside says what is wrong with it.
        Err(other) => Err(other),
    }
}

fn classify_batch(records: Vec<&RawValue>) -> Result<Event<'_>, SourceError> {
    let source_of = |record: &RawValue| {
        serde_json::from_str::<EventSource>(record.get())
            .ok()
            .and_then(|s| s.event_source.or(s.sns_event_source))
            .map(Cow::into_owned)
    };
    let Some(first) = records.first().map(|r| source_of(r)) else {
        return Err(SourceError::Unsupported("its Records list is empty".into()));
    };
    if let Some(other) = records.iter().map(|r| source_of(r)).find(|s| *s != first) {
        return Err(SourceError::Unsupported(format!(
            "its Records mix event sources ({first:?} and {other:?})"
        )));
    }
    match first.as_deref() {
        Some("aws:kinesis") => Ok(Event::Kinesis(records)),
        Some("aws:sqs") => Ok(Event::Sqs(records)),
        Some("aws:s3") => Ok(Event::S3Notification(
            s3::notification::notification_objects(&records)?,
        )),
        Some("aws:sns") => Err(SourceError::Unsupported(
            "it is an SNS topic invoking the function; subscribe an SQS queue to the topic and \
             the function to the queue (as S3NotificationQueueArn does), which gives partial batch \
             responses and a dead-letter queue"
                .into(),
        )),
        Some(other) => Err(SourceError::Unsupported(format!(
            "its Records come from {other}, which this forwarder does not read"
        ))),
        None => Err(SourceError::Unsupported(
            "its Records carry no eventSource".into(),
        )),
    }
}

/// `S3_MAX_OBJECT_BYTES` unless set: 1 GiB decompressed, a day of a busy account's CloudTrail in one
/// file is far less.
pub const DEFAULT_MAX_OBJECT_BYTES: usize = 1 << 30;

/// The deepest nesting of arrays and objects an event may have; AWS's events are far shallower.
pub const MAX_JSON_DEPTH: usize = 64;

/// Bounds on every decode stage: what one event may be and expand to. A violation fails the event
/// before anything is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The raw JSON event (and so its base64 `awslogs.data`).
    pub max_event_bytes: usize,
    /// Nesting of the raw JSON event.
    pub max_json_depth: usize,
    /// The gunzipped subscription payload (gzip bombs).
    pub max_decompressed_bytes: usize,
    /// Log events in one subscription payload.
    pub max_log_events: usize,
    /// One log event's message; also one record of an S3 object (a CloudTrail element, a line,
    /// which is cut into records of this size).
    pub max_message_bytes: usize,
    /// An S3 object, decompressed (`S3_MAX_OBJECT_BYTES`).
    pub max_object_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // Lambda's synchronous payload limit is 6 MB and the asynchronous one 1 MB; replayed
            // failure-queue messages are at most 1 MiB (SQS).
            max_event_bytes: 8 * 1024 * 1024,
            max_json_depth: MAX_JSON_DEPTH,
            max_decompressed_bytes: 64 * 1024 * 1024,
            // CloudWatch Logs accepts at most 10,000 events per PutLogEvents call.
            max_log_events: 100_000,
            // CloudWatch Logs' largest log event is 1 MiB.
            max_message_bytes: 1024 * 1024,
            max_object_bytes: DEFAULT_MAX_OBJECT_BYTES,
        }
    }
}

/// Whether the JSON text nests arrays and objects at most `limit` deep (brackets inside strings do
/// not count). Checked before parsing, so a hostile event costs one linear scan; string contents
/// (almost all of a subscription event: the base64 payload) are skipped with `memchr`.
pub fn json_depth_within(text: &[u8], limit: usize) -> bool {
    let mut depth = 0usize;
    let mut at = 0;
    while let Some(&b) = text.get(at) {
        at += 1;
        match b {
            b'"' => at = string_end(text, at),
            b'{' | b'[' => {
                depth += 1;
                if depth > limit {
                    return false;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    true
}

/// The offset just past the closing quote of the string whose contents start at `at` (the end of
/// the text for an unterminated one).
fn string_end(text: &[u8], mut at: usize) -> usize {
    while let Some(found) = memchr::memchr2(b'"', b'\\', &text[at..]) {
        let quote_or_backslash = at + found;
        if text[quote_or_backslash] == b'"' {
            return quote_or_backslash + 1;
        }
        // Skip the escaped character, whatever it is.
        at = (quote_or_backslash + 2).min(text.len());
    }
    text.len()
}

/// Checks the raw event against the size and depth bounds, before anything parses it.
pub fn check_bounds(raw: &str, limits: Limits) -> Result<(), SourceError> {
    if raw.len() > limits.max_event_bytes {
        return Err(SourceError::EventTooLarge {
            bytes: raw.len(),
            limit: limits.max_event_bytes,
        });
    }
    if !json_depth_within(raw.as_bytes(), limits.max_json_depth) {
        return Err(SourceError::EventTooDeep {
            limit: limits.max_json_depth,
        });
    }
    Ok(())
}

/// Decodes one event that is not a batch into records; ECR scans read their findings from
/// `findings`. A subscription of `own_log_group` (the function's own logs) is refused.
pub async fn records(
    raw: &str,
    limits: Limits,
    own_log_group: Option<&str>,
    findings: &impl FindingsSource,
) -> Result<Vec<Record>, SourceError> {
    check_bounds(raw, limits)?;
    event_records(classify(raw)?, limits, own_log_group, findings).await
}

/// The records of one classified event that is not a batch (batches are split into items first).
pub async fn event_records(
    event: Event<'_>,
    limits: Limits,
    own_log_group: Option<&str>,
    findings: &impl FindingsSource,
) -> Result<Vec<Record>, SourceError> {
    match event {
        Event::CloudWatchLogs(data) => {
            let log_data = cloudwatch::decode(&data, limits)?;
            if own_log_group.is_some_and(|own| own == log_data.log_group) {
                return Err(SourceError::OwnLogGroup(log_data.log_group));
            }
            Ok(cloudwatch::records(log_data, limits)?)
        }
        Event::Scan(scan) => Ok(ecr::records(&scan, findings).await?),
        Event::EventBridge { meta, raw } => Ok(vec![eventbridge::record(&meta, &raw)]),
        Event::Kinesis(_) | Event::Sqs(_) => Err(SourceError::Unsupported(
            "a Kinesis or SQS batch inside a batch".into(),
        )),
        // Objects are streamed by the handler, never gathered into a list of records.
        Event::S3Notification(_) | Event::S3ObjectCreated(_) => Err(SourceError::Unsupported(
            "an S3 event, whose objects are read as streams, not as a list of records".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_kinds() {
        assert!(matches!(
            classify(r#"{"awslogs":{"data":"H4sI"}}"#),
            Ok(Event::CloudWatchLogs(d)) if d == "H4sI"
        ));
        let other = r#"{"id":"1","source":"aws.ecr","detail-type":"ECR Image Action","account":"1","region":"r","time":"2026-11-22T10:00:00Z","detail":{"action-type":"PUSH"}}"#;
        assert!(
            matches!(classify(other), Ok(Event::EventBridge { meta, .. }) if meta.detail_type == "ECR Image Action")
        );
        let scan = r#"{"source":"aws.ecr","detail-type":"ECR Image Scan","detail":{"scan-status":"COMPLETE","repository-name":"r","image-digest":"sha256:1"}}"#;
        assert!(matches!(classify(scan), Ok(Event::Scan(_))));
    }

    #[test]
    fn inspector_scans_of_other_resources_than_images_are_forwarded_whole() {
        // The shapes of Inspector's "initial scan complete" examples for an EC2 instance, a Lambda
        // function and a machine image.
        let details = [
            r#"{"scan-status":"INITIAL_SCAN_COMPLETE","finding-severity-counts":{"CRITICAL":0,"HIGH":0,"MEDIUM":0,"TOTAL":0},"instance-id":"i-087d63509b8c97098","version":"1.0"}"#,
            r#"{"scan-status":"INITIAL_SCAN_COMPLETE","finding-severity-counts":{"CRITICAL":0,"HIGH":0,"MEDIUM":0,"TOTAL":0},"version":"1.0"}"#,
            r#"{"scan-status":"INITIAL_SCAN_COMPLETE","finding-severity-counts":{"TOTAL":1},"machine-image-id":"ami-0123456789abcdef0","version":"1.0"}"#,
        ];
        for detail in details {
            let event = format!(
                r#"{{"version":"0","id":"e-1","detail-type":"Inspector2 Scan","source":"aws.inspector2","account":"123456789012","time":"2026-11-22T10:00:00Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-087d63509b8c97098"],"detail":{detail}}}"#
            );
            assert!(
                matches!(classify(&event), Ok(Event::EventBridge { meta, raw }) if meta.source == "aws.inspector2" && raw == event),
                "{detail}"
            );
        }
        // An image scan that lacks one of the two is still refused, naming the field.
        let no_digest = r#"{"source":"aws.inspector2","detail-type":"Inspector2 Scan","detail":{"scan-status":"INITIAL_SCAN_COMPLETE","repository-name":"arn:aws:ecr:us-east-1:1:repository/r"}}"#;
        let Err(e) = classify(no_digest) else {
            panic!("an image scan without its digest");
        };
        assert!(
            e.to_string().contains("detail.image-digest is missing"),
            "{e}"
        );
    }

    #[test]
    fn s3_events_name_their_objects_in_every_shape() {
        let notification = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"a+b/%C3%BC.json.gz","size":7}}}]}"#;
        let Ok(Event::S3Notification(objects)) = classify(notification) else {
            panic!("direct notification");
        };
        assert_eq!(objects[0].key, "a b/ü.json.gz");
        let sns = serde_json::json!({"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:1:t",
                                     "Message": notification}).to_string();
        assert!(matches!(classify(&sns), Ok(Event::S3Notification(o)) if o == objects));
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-22T10:00:00.000Z","Bucket":"trail","RequestId":"R","HostId":"H"}"#;
        assert!(matches!(classify(test_event), Ok(Event::S3Notification(o)) if o.is_empty()));
        let sns_test =
            serde_json::json!({"Type": "Notification", "Message": test_event}).to_string();
        assert!(matches!(classify(&sns_test), Ok(Event::S3Notification(o)) if o.is_empty()));
        let created = r#"{"version":"0","id":"e","detail-type":"Object Created","source":"aws.s3","account":"111122223333","time":"2026-11-22T10:00:00Z","region":"ca-central-1","resources":[],"detail":{"version":"0","bucket":{"name":"logs"},"object":{"key":"a b.log","size":5}}}"#;
        let Ok(Event::S3ObjectCreated(object)) = classify(created) else {
            panic!("EventBridge Object Created");
        };
        assert_eq!(
            (object.key.as_str(), object.account.as_str()),
            ("a b.log", "111122223333")
        );
        let deleted = created.replace("Object Created", "Object Deleted");
        assert!(matches!(classify(&deleted), Ok(Event::EventBridge { .. })));
        let other_sns =
            serde_json::json!({"Type": "Notification", "Message": "{\"AlarmName\":\"x\"}"})
                .to_string();
        assert!(matches!(
            classify(&other_sns),
            Err(SourceError::Unsupported(_))
        ));
        let broken_sns = serde_json::json!({"Type": "Notification",
            "Message": r#"{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]}"#}).to_string();
        let err = classify(&broken_sns).unwrap_err();
        assert!(err.to_string().contains("s3.object"), "{err}");
    }

    #[test]
    fn sns_notifications_carry_any_single_event() {
        let notification = |message: &str| {
            serde_json::json!({"Type": "Notification", "MessageId": "m",
                "TopicArn": "arn:aws:sns:us-east-1:111122223333:security", "Message": message,
                "Timestamp": "2026-11-22T10:00:01.000Z", "SignatureVersion": "1"})
            .to_string()
        };
        // An EventBridge rule publishing to a topic that a queue subscribes to.
        let finding = r#"{"version":"0","id":"e-9","detail-type":"GuardDuty Finding","source":"aws.guardduty","account":"111122223333","time":"2026-11-22T10:00:00Z","region":"us-east-1","resources":[],"detail":{"severity":8,"type":"Recon:EC2/PortProbeUnprotectedPort"}}"#;
        let wrapped = notification(finding);
        let Ok(Event::EventBridge { meta, raw }) = classify(&wrapped) else {
            panic!("an EventBridge event inside SNS");
        };
        assert_eq!(meta.detail_type, "GuardDuty Finding");
        assert_eq!(raw, finding);
        let scan = r#"{"source":"aws.ecr","detail-type":"ECR Image Scan","detail":{"scan-status":"COMPLETE","repository-name":"r","image-digest":"sha256:1"}}"#;
        assert!(matches!(classify(&notification(scan)), Ok(Event::Scan(_))));
        // What is wrong inside is said; batches and other SNS message types are refused.
        let broken_scan = scan.replace(r#""image-digest":"sha256:1""#, r#""x":1"#);
        let err = classify(&notification(&broken_scan)).unwrap_err();
        assert!(
            err.to_string().contains("detail.image-digest is missing"),
            "{err}"
        );
        let batch = r#"{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}"#;
        let err = classify(&notification(batch)).unwrap_err();
        assert!(err.to_string().contains("Kinesis or SQS batch"), "{err}");
        // Nesting inside the message counts as it would in an event of its own.
        let deep = format!(
            r#"{{"source":"x","detail-type":"y","detail":{{"a":{}1{}}}}}"#,
            "[".repeat(70),
            "]".repeat(70)
        );
        assert!(matches!(
            classify(&notification(&deep)),
            Err(SourceError::EventTooDeep { limit: 64 })
        ));
    }

    #[test]
    fn depth_counts_brackets_outside_strings_only() {
        assert!(json_depth_within(br#"{"a":[{"b":"[[[[{{{{"}]}"#, 3));
        assert!(!json_depth_within(br#"{"a":[{"b":[]}]}"#, 3));
        assert!(json_depth_within(br#"{"a":"\"[[[["}"#, 1));
        assert!(!json_depth_within(&b"[".repeat(65), 64));
        assert!(json_depth_within(&b"[".repeat(64), 64));
        // An escaped backslash does not escape the quote after it: the string closes there.
        assert!(!json_depth_within(br#"{"a":"\\","b":[[]]}"#, 2));
        assert!(json_depth_within(br#"{"a":"\\","b":[[]]}"#, 3));
        // Unterminated strings and a trailing backslash end the scan without panicking.
        assert!(json_depth_within(br#"["abc"#, 1));
        assert!(json_depth_within(br#"["abc\"#, 1));
        assert!(json_depth_within(b"\"", 0));
    }

    /// The byte-by-byte definition the `memchr` scan must agree with.
    fn depth_within_reference(text: &[u8], limit: usize) -> bool {
        let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
        for &b in text {
            if in_string {
                match b {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => in_string = true,
                b'{' | b'[' => {
                    depth += 1;
                    if depth > limit {
                        return false;
                    }
                }
                b'}' | b']' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        true
    }

    proptest::proptest! {
        #[test]
        fn depth_scan_agrees_with_the_byte_by_byte_definition(
            text in proptest::collection::vec(
                proptest::sample::select(b"[]{}\"\\a:,".to_vec()),
                0..200,
            ),
            limit in 0usize..8,
        ) {
            proptest::prop_assert_eq!(
                json_depth_within(&text, limit),
                depth_within_reference(&text, limit)
            );
        }
    }

    #[test]
    fn anything_else_is_unsupported() {
        for raw in [
            "{}",
            "[]",
            "42",
            "\"text\"",
            "not json",
            r#"{"source":"aws.ecr","detail-type":"x"}"#,
            r#"{"source":"aws.ecr","detail-type":"x","detail":"a string"}"#,
            r#"{"awslogs":{"data":42}}"#,
            r#"{"Records":[{"eventSource":"aws:sns"}]}"#,
            r#"{"Records":[{"EventSource":"aws:sns","EventVersion":"1.0","Sns":{"Type":"Notification","Message":"{}"}}]}"#,
        ] {
            let err = classify(raw).unwrap_err();
            assert!(matches!(err, SourceError::Unsupported(_)), "{raw}: {err}");
            assert!(err.to_string().starts_with("unsupported event"), "{err}");
        }
        let confirmation = r#"{"Type":"SubscriptionConfirmation","MessageId":"m","Token":"2336412f37f","TopicArn":"arn:aws:sns:us-east-1:444455556666:findings","Message":"You have chosen to subscribe to the topic arn:aws:sns:us-east-1:444455556666:findings.\nTo confirm the subscription, visit the SubscribeURL included in this message.","SubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription","Timestamp":"2026-11-22T10:00:00.000Z","SignatureVersion":"1"}"#;
        let err = classify(confirmation).unwrap_err();
        assert!(
            err.to_string().contains("aws sns confirm-subscription"),
            "{err}"
        );
        let sns = r#"{"Records":[{"EventSource":"aws:sns","Sns":{"Type":"Notification"}}]}"#;
        let err = classify(sns).unwrap_err();
        assert!(
            err.to_string()
                .contains("subscribe an SQS queue to the topic"),
            "{err}"
        );
    }
}
