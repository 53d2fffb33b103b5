//! Which objects an event names: S3 event notification records (sent to the function, an SQS
//! queue or an SNS topic), S3 test events, and EventBridge `Object Created` events.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::{ObjectRef, S3Error};

/// One record of an S3 event notification (`Records[]` with `eventSource` `aws:s3`).
#[derive(Deserialize)]
struct NotificationRecord<'a> {
    #[serde(rename = "eventName", borrow, default)]
    event_name: Option<Cow<'a, str>>,
    #[serde(rename = "awsRegion", borrow, default)]
    region: Option<Cow<'a, str>>,
    s3: Option<S3Entity<'a>>,
}

#[derive(Deserialize)]
struct S3Entity<'a> {
    #[serde(borrow)]
    bucket: Option<Named<'a>>,
    #[serde(borrow)]
    object: Option<ObjectEntity<'a>>,
}

#[derive(Deserialize)]
struct Named<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct ObjectEntity<'a> {
    #[serde(borrow)]
    key: Option<Cow<'a, str>>,
    #[serde(default)]
    size: Option<u64>,
    /// An S3 event notification's `versionId`: absent or null when the bucket is not versioned.
    #[serde(rename = "versionId", borrow, default)]
    version_id: Option<Cow<'a, str>>,
    /// An EventBridge event's `version-id`, absent when the bucket is not versioned.
    #[serde(rename = "version-id", borrow, default)]
    eventbridge_version_id: Option<Cow<'a, str>>,
}

/// A version id as the event carries it; none when it is absent, null or empty.
fn version(id: Option<Cow<'_, str>>) -> Option<String> {
    id.filter(|id| !id.is_empty()).map(Cow::into_owned)
}

/// The objects of an S3 event notification's records (`s3.bucket.name`, `s3.object.key`,
/// `s3.object.versionId` in a versioned bucket), in order. Records of events other than
/// `ObjectCreated:*` (a deletion, a restore) name no object to read and are left out, as are
/// CloudTrail digest files.
pub fn notification_objects(records: &[&RawValue]) -> Result<Vec<ObjectRef>, S3Error> {
    let mut objects = Vec::with_capacity(records.len());
    for (index, raw) in records.iter().enumerate() {
        let record: NotificationRecord = serde_json::from_str(raw.get())
            .map_err(|e| S3Error::Notification(format!("record {index}: {e}")))?;
        let event_name = record.event_name.as_deref().unwrap_or_default();
        if !event_name.starts_with("ObjectCreated:") {
            tracing::info!(
                event_name,
                "S3 notification record for an event other than ObjectCreated; nothing to read"
            );
            continue;
        }
        let missing = |field: &str| S3Error::Notification(format!("record {index} has no {field}"));
        let s3 = record.s3.ok_or_else(|| missing("s3"))?;
        let bucket = s3
            .bucket
            .and_then(|b| b.name)
            .ok_or_else(|| missing("s3.bucket.name"))?;
        let object = s3.object.ok_or_else(|| missing("s3.object"))?;
        let key = object.key.ok_or_else(|| missing("s3.object.key"))?;
        let object = ObjectRef {
            bucket: bucket.into_owned(),
            // Notifications carry the key form-encoded (a space is `+`, anything else `%XX`).
            key: decode_key(&key).map_err(|why| {
                S3Error::Notification(format!("record {index}: s3.object.key {key:?} {why}"))
            })?,
            size: object.size,
            region: record.region.map(Cow::into_owned).unwrap_or_default(),
            account: String::new(),
            version_id: version(object.version_id),
        };
        if !skip(&object) {
            objects.push(object);
        }
    }
    Ok(objects)
}

/// The `detail` of an EventBridge `Object Created` event.
#[derive(Deserialize)]
struct CreatedDetail<'a> {
    #[serde(borrow)]
    bucket: Option<Named<'a>>,
    #[serde(borrow)]
    object: Option<ObjectEntity<'a>>,
}

/// The object of an EventBridge `Object Created` event (`detail.bucket.name`, `detail.object.key`,
/// `detail.object.version-id` in a versioned bucket), or none for a CloudTrail digest file.
/// EventBridge carries the key as it is (not form-encoded).
pub fn created_object(
    detail: &str,
    account: &str,
    region: &str,
) -> Result<Option<ObjectRef>, S3Error> {
    let detail: CreatedDetail = serde_json::from_str(detail)
        .map_err(|e| S3Error::Notification(format!("Object Created detail: {e}")))?;
    let missing = |field: &str| S3Error::Notification(format!("Object Created has no {field}"));
    let bucket = detail
        .bucket
        .and_then(|b| b.name)
        .ok_or_else(|| missing("detail.bucket.name"))?;
    let object = detail.object.ok_or_else(|| missing("detail.object"))?;
    let key = object.key.ok_or_else(|| missing("detail.object.key"))?;
    let object = ObjectRef {
        bucket: bucket.into_owned(),
        key: key.into_owned(),
        size: object.size,
        region: region.to_owned(),
        account: account.to_owned(),
        version_id: version(object.eventbridge_version_id),
    };
    Ok((!skip(&object)).then_some(object))
}

/// `s3:TestEvent`: what S3 sends to a queue or topic when a notification is configured.
pub fn is_test_event(event: Option<&str>) -> bool {
    event == Some("s3:TestEvent")
}

/// CloudTrail digest files hold hashes for integrity validation, not events.
fn skip(object: &ObjectRef) -> bool {
    let digest = object.key.contains("/CloudTrail-Digest/");
    if digest {
        tracing::info!(bucket = %object.bucket, key = %object.key, "CloudTrail digest file; skipped");
    }
    digest
}

/// Decodes an S3 notification key: `+` is a space, `%XX` a byte; the bytes must be UTF-8.
pub fn decode_key(encoded: &str) -> Result<String, &'static str> {
    let spaced = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| "does not decode to UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raws(json: &str) -> Vec<Box<RawValue>> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn keys_are_form_decoded() {
        assert_eq!(
            decode_key("AWSLogs/a+b/%C3%BC%2B1%3A2.json.gz").unwrap(),
            "AWSLogs/a b/ü+1:2.json.gz"
        );
        assert_eq!(decode_key("plain/key").unwrap(), "plain/key");
        assert!(decode_key("%FF").is_err());
    }

    #[test]
    fn notification_records_name_their_objects() {
        let records = raws(
            r#"[{"eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs/1/CloudTrail/eu-west-1/2026/11/22/a+b.json.gz","size":42}}},
                {"eventSource":"aws:s3","eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"trail"},"object":{"key":"gone"}}},
                {"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"trail"},"object":{"key":"AWSLogs/1/CloudTrail-Digest/eu-west-1/d.json.gz"}}}]"#,
        );
        let refs: Vec<&RawValue> = records.iter().map(|r| &**r).collect();
        let objects = notification_objects(&refs).unwrap();
        assert_eq!(objects.len(), 1, "the deletion and the digest are skipped");
        assert_eq!(objects[0].bucket, "trail");
        assert_eq!(
            objects[0].key,
            "AWSLogs/1/CloudTrail/eu-west-1/2026/11/22/a b.json.gz"
        );
        assert_eq!(objects[0].size, Some(42));
        assert_eq!(objects[0].region, "eu-west-1");

        let missing = raws(r#"[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"}}}]"#);
        let refs: Vec<&RawValue> = missing.iter().map(|r| &**r).collect();
        let err = notification_objects(&refs).unwrap_err();
        assert!(err.to_string().contains("s3.object"), "{err}");
    }

    #[test]
    fn eventbridge_keys_are_taken_as_they_are() {
        let detail =
            r#"{"version":"0","bucket":{"name":"logs"},"object":{"key":"a+b %41.log","size":5}}"#;
        let object = created_object(detail, "111122223333", "ca-central-1")
            .unwrap()
            .unwrap();
        assert_eq!(object.key, "a+b %41.log");
        assert_eq!(object.account, "111122223333");
        assert!(created_object(r#"{"bucket":{"name":"b"}}"#, "", "").is_err());
        let digest = r#"{"bucket":{"name":"b"},"object":{"key":"x/CloudTrail-Digest/y.json.gz"}}"#;
        assert_eq!(created_object(digest, "", "").unwrap(), None);
    }

    #[test]
    fn notification_records_name_their_version_when_the_bucket_is_versioned() {
        let records = raws(
            r#"[{"eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"a.log","size":3,"versionId":"3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY","sequencer":"0A1B2C3D4E5F678901"}}},
                {"eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"b.log","size":3,"versionId":null}}},
                {"eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"c.log","size":3}}},
                {"eventSource":"aws:s3","awsRegion":"eu-west-1","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"d.log","size":3,"versionId":""}}}]"#,
        );
        let refs: Vec<&RawValue> = records.iter().map(|r| &**r).collect();
        let objects = notification_objects(&refs).unwrap();
        let versions: Vec<(&str, Option<&str>)> = objects
            .iter()
            .map(|o| (o.key.as_str(), o.version_id.as_deref()))
            .collect();
        assert_eq!(
            versions,
            [
                ("a.log", Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY")),
                ("b.log", None),
                ("c.log", None),
                ("d.log", None),
            ]
        );
        // The notification names its version `versionId`; EventBridge's spelling is not read here.
        let other = raws(
            r#"[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","version-id":"v"}}}]"#,
        );
        let refs: Vec<&RawValue> = other.iter().map(|r| &**r).collect();
        assert_eq!(notification_objects(&refs).unwrap()[0].version_id, None);
        // A version id that is not a string is a malformed record.
        let wrong = raws(
            r#"[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"k","versionId":7}}}]"#,
        );
        let refs: Vec<&RawValue> = wrong.iter().map(|r| &**r).collect();
        let err = notification_objects(&refs).unwrap_err();
        assert!(err.to_string().contains("record 0"), "{err}");
    }

    #[test]
    fn eventbridge_events_name_their_version_when_the_bucket_is_versioned() {
        let detail = r#"{"version":"0","bucket":{"name":"logs"},"object":{"key":"a.log","size":5,"etag":"b1946ac92492d2347c6235b4d2611184","version-id":"IYV3p45BT0ac8hjHg1houSdS1a.Mro8e","sequencer":"617f08299329d189"},"request-id":"N4N7GDK58NMKJ12R","requester":"123456789012","reason":"PutObject"}"#;
        let object = created_object(detail, "111122223333", "ca-central-1")
            .unwrap()
            .unwrap();
        assert_eq!(
            object.version_id.as_deref(),
            Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e")
        );
        for detail in [
            r#"{"bucket":{"name":"logs"},"object":{"key":"a.log","size":5}}"#,
            r#"{"bucket":{"name":"logs"},"object":{"key":"a.log","version-id":null}}"#,
            r#"{"bucket":{"name":"logs"},"object":{"key":"a.log","versionId":"v"}}"#,
        ] {
            let object = created_object(detail, "", "").unwrap().unwrap();
            assert_eq!(object.version_id, None, "{detail}");
        }
    }
}
