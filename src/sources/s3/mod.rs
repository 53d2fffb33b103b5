//! S3 objects: which objects an event names ([`notification`]), reading them with `GetObject`
//! ([`fetch`]), their bytes as they arrive, gunzipped when they are gzip ([`inflow`]), and their
//! records one at a time ([`scan`]): a CloudTrail log file gives one record per element of
//! `Records`, any other object one record per line.

pub mod fetch;
mod inflow;
pub mod notification;
pub mod scan;

use std::sync::Arc;

pub use fetch::{ObjectBody, S3Objects};
pub use scan::{CUT_LOOKAHEAD, CutGuard, Entry, ObjectStream, Step, is_later_piece};

use crate::record::{Origin, Record};

/// One object to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// The key as stored (notifications' form encoding already undone).
    pub key: String,
    /// The size the event reports, when it does.
    pub size: Option<u64>,
    /// The bucket's region, when the event names it.
    pub region: String,
    /// The bucket owner's account, when the event names it (EventBridge does).
    pub account: String,
    /// The version the event names, in a versioned bucket: `GetObject` reads that one, so a later
    /// overwrite of the key does not change what is forwarded.
    pub version_id: Option<String>,
}

impl ObjectRef {
    /// The version asked for, as error messages name it.
    pub fn version(&self) -> Version {
        Version(self.version_id.clone())
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}{}", self.bucket, self.key, self.version())
    }
}

/// The version of an object an error names: nothing for the current version (no version asked
/// for), ` (versionId …)` otherwise, written after `s3://bucket/key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Version(pub Option<String>);

impl Version {
    fn asked(&self) -> bool {
        self.0.is_some()
    }

    /// What a missing object means, and what to check.
    fn not_found(&self) -> &'static str {
        if self.asked() {
            "no such version (NoSuchVersion): the version was deleted before it was read \
             (overwriting the key keeps it, deleting the version does not), or the event names a \
             version that does not exist; check who deletes object versions there (a lifecycle rule \
             expiring noncurrent versions, another consumer)"
        } else {
            "no such key (NoSuchKey): the object was deleted or renamed before it was read, or the \
             event names a key that does not exist; check who deletes objects there (a lifecycle \
             rule, another consumer)"
        }
    }

    /// The action `GetObject` needs: a version is read with `s3:GetObjectVersion`.
    fn action(&self) -> &'static str {
        if self.asked() {
            "s3:GetObjectVersion"
        } else {
            "s3:GetObject"
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(id) => write!(f, " (versionId {id})"),
            None => Ok(()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("S3 event notification: {0}")]
    Notification(String),
    #[error("s3://{bucket}/{key}{version}: {}", .version.not_found())]
    NoSuchKey {
        bucket: String,
        key: String,
        version: Version,
    },
    #[error(
        "s3://{bucket}/{key}{version}: no such bucket (NoSuchBucket): check the bucket the \
         notification or rule names"
    )]
    NoSuchBucket {
        bucket: String,
        key: String,
        version: Version,
    },
    #[error(
        "s3://{bucket}/{key}{version}: access denied ({detail}): the function's role needs {} on \
         arn:aws:s3:::{bucket}/{key} (the template grants s3:GetObject and s3:GetObjectVersion on \
         S3BucketArns, each bucket ARN with an optional key prefix); check also the bucket policy, \
         and for an object encrypted with SSE-KMS kms:Decrypt on its key (S3KmsKeyArn) and the key \
         policy",
        .version.action()
    )]
    AccessDenied {
        bucket: String,
        key: String,
        version: Version,
        detail: String,
    },
    #[error("s3://{bucket}/{key}{version}: GetObject failed: {message}")]
    Api {
        bucket: String,
        key: String,
        version: Version,
        message: String,
    },
    #[error(
        "s3://{bucket}/{key}: reading the object failed after {bytes} bytes: {message}; the retry \
         reads it again from the start"
    )]
    Read {
        bucket: String,
        key: String,
        bytes: usize,
        message: String,
    },
    #[error(
        "s3://{bucket}/{key}{version}: starts like gzip but is not valid gzip ({source}); the \
         object is corrupt or truncated"
    )]
    Gzip {
        bucket: String,
        key: String,
        version: Version,
        source: std::io::Error,
    },
    #[error(
        "s3://{bucket}/{key}{version}: decompresses to more than {limit} bytes, over \
         S3_MAX_OBJECT_BYTES; raise S3_MAX_OBJECT_BYTES if such objects are expected (they are \
         streamed, so memory does not grow with them; time does), or keep them out of the \
         notification's prefix"
    )]
    TooLarge {
        bucket: String,
        key: String,
        version: Version,
        limit: usize,
    },
    #[error("s3://{bucket}/{key}{version}: CloudTrail record {index} is {reason}")]
    Record {
        bucket: String,
        key: String,
        version: Version,
        /// Counting from 1.
        index: usize,
        reason: String,
    },
    #[error("s3://{bucket}/{key}{version}: at decompressed byte {offset}: {reason}")]
    Layout {
        bucket: String,
        key: String,
        version: Version,
        offset: usize,
        reason: String,
    },
    #[error(
        "s3://{bucket}/{key}: the invocation's deadline came after {bytes} decompressed bytes of the \
         object; raise the function's Timeout, or its MemorySize (which also raises its CPU and \
         network share), so that the object can be read whole; the retry reads it from the start"
    )]
    Deadline {
        bucket: String,
        key: String,
        bytes: usize,
    },
}

/// What every record of a CloudTrail log file shares, for records of `account` and `region`:
/// HOSTNAME the account, APP-NAME `cloudtrail`, Event Source the bucket.
pub fn cloudtrail_origin(object: &ObjectRef, account: &str, region: &str) -> Arc<Origin> {
    let account = if account.is_empty() {
        account_of(object)
    } else {
        account.to_owned()
    };
    let region = if region.is_empty() {
        object.region.clone()
    } else {
        region.to_owned()
    };
    origin(object, account, region, "cloudtrail")
}

/// What every record (line) of any other object shares: HOSTNAME the bucket owner's account when
/// known, APP-NAME `s3`, Event Source the bucket.
pub fn lines_origin(object: &ObjectRef) -> Arc<Origin> {
    origin(object, account_of(object), object.region.clone(), "s3")
}

fn origin(object: &ObjectRef, account: String, region: String, app_name: &str) -> Arc<Origin> {
    Arc::new(Origin {
        hostname: account.clone(),
        app_name: app_name.to_owned(),
        source: object.bucket.clone(),
        params: vec![
            ("account", account),
            ("region", region),
            ("bucket", object.bucket.clone()),
            ("key", object.key.clone()),
            // Empty (left out of the SD) when the event names no version.
            ("versionId", object.version_id.clone().unwrap_or_default()),
        ],
        tags: Vec::new(),
    })
}

/// The account an object belongs to: the event's, else the one AWS log delivery writes into the
/// key (`AWSLogs/[o-…/]ACCOUNT/…`), else unknown (empty).
fn account_of(object: &ObjectRef) -> String {
    if !object.account.is_empty() {
        return object.account.clone();
    }
    let mut segments = object
        .key
        .split('/')
        .skip_while(|s| *s != "AWSLogs")
        .skip(1);
    let first = segments.next().unwrap_or_default();
    let candidate = if first.starts_with("o-") {
        segments.next().unwrap_or_default()
    } else {
        first
    };
    if candidate.len() == 12 && candidate.bytes().all(|b| b.is_ascii_digit()) {
        candidate.to_owned()
    } else {
        String::new()
    }
}

/// A log record of `origin` with empty fields, to be filled per entry.
pub fn log_record(origin: Arc<Origin>) -> Record {
    crate::sources::cloudwatch::log_record(origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(key: &str) -> ObjectRef {
        ObjectRef {
            bucket: "trail".into(),
            key: key.into(),
            size: None,
            region: "eu-west-1".into(),
            account: String::new(),
            version_id: None,
        }
    }

    #[test]
    fn the_account_comes_from_the_event_or_the_aws_logs_key() {
        let o = object("p/AWSLogs/o-abc123/111122223333/CloudTrail/eu-west-1/x.json.gz");
        assert_eq!(account_of(&o), "111122223333");
        let o = object("AWSLogs/444455556666/elasticloadbalancing/x.log.gz");
        assert_eq!(account_of(&o), "444455556666");
        assert_eq!(account_of(&object("logs/app.log")), "");
        let mut o = object("logs/app.log");
        o.account = "777788889999".into();
        assert_eq!(account_of(&o), "777788889999");
    }

    #[test]
    fn origins_name_the_bucket_and_key() {
        let o = object("AWSLogs/111122223333/CloudTrail/x.json.gz");
        let trail = cloudtrail_origin(&o, "222233334444", "us-east-2");
        assert_eq!(
            (
                trail.hostname.as_str(),
                trail.app_name.as_str(),
                trail.source.as_str()
            ),
            ("222233334444", "cloudtrail", "trail")
        );
        assert_eq!(trail.params[1], ("region", "us-east-2".to_owned()));
        assert_eq!(trail.params[3], ("key", o.key.clone()));
        let fallback = cloudtrail_origin(&o, "", "");
        assert_eq!(fallback.hostname, "111122223333");
        assert_eq!(fallback.params[1], ("region", "eu-west-1".to_owned()));
        assert_eq!(lines_origin(&object("a.log")).app_name, "s3");
        assert_eq!(
            o.to_string(),
            "s3://trail/AWSLogs/111122223333/CloudTrail/x.json.gz"
        );
    }

    #[test]
    fn a_version_is_in_the_sd_and_the_errors_only_when_the_event_names_one() {
        let current = object("logs/app.log");
        let names = |origin: &Origin| origin.params.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        let unversioned = lines_origin(&current);
        assert!(
            unversioned
                .params
                .iter()
                .all(|(n, v)| *n != "versionId" || v.is_empty()),
            "{:?}",
            unversioned.params
        );
        let mut versioned = object("logs/app.log");
        versioned.version_id = Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into());
        for origin in [
            lines_origin(&versioned),
            cloudtrail_origin(&versioned, "111122223333", "eu-west-1"),
        ] {
            assert_eq!(
                names(&origin),
                ["account", "region", "bucket", "key", "versionId"]
            );
            assert_eq!(
                origin.params[4],
                ("versionId", "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".to_owned())
            );
        }
        assert_eq!(
            versioned.to_string(),
            "s3://trail/logs/app.log (versionId 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY)"
        );
        assert_eq!(current.to_string(), "s3://trail/logs/app.log");

        let missing = |o: &ObjectRef| S3Error::NoSuchKey {
            bucket: o.bucket.clone(),
            key: o.key.clone(),
            version: o.version(),
        };
        let text = missing(&versioned).to_string();
        assert!(
            text.starts_with(
                "s3://trail/logs/app.log (versionId 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY): no such version"
            ),
            "{text}"
        );
        let text = missing(&current).to_string();
        assert!(
            text.starts_with("s3://trail/logs/app.log: no such key (NoSuchKey)"),
            "{text}"
        );
        let denied = |o: &ObjectRef| S3Error::AccessDenied {
            bucket: o.bucket.clone(),
            key: o.key.clone(),
            version: o.version(),
            detail: "AccessDenied".into(),
        };
        let text = denied(&versioned).to_string();
        assert!(
            text.contains("(versionId 3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY): access denied")
                && text.contains("needs s3:GetObjectVersion on arn:aws:s3:::trail/logs/app.log"),
            "{text}"
        );
        let text = denied(&current).to_string();
        assert!(
            text.contains("needs s3:GetObject on arn:aws:s3:::trail/logs/app.log"),
            "{text}"
        );
    }
}
