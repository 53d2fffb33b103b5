//! Wires the parts for one event: classify → decoders ([`decode`], [`objects`]) → the pipeline
//! ([`pipeline`]: screening, formatting into bounded batches, delivery) → the outcome. Every input
//! takes that one path; a Kinesis or SQS batch ([`items`]) is a sequence of items, each a span of
//! the pipeline's records, and answers with a partial batch response.

mod decode;
mod items;
mod objects;
mod pipeline;

use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::detections::Detections;
use crate::filters::Filters;
use crate::findings::FindingsSource;
use crate::metrics::Metrics;
use crate::record::Record;
use crate::sources::cloudwatch::tags::LogGroupTags;
use crate::sources::s3::S3Objects;
use crate::sources::{self, Limits, SourceError};
use crate::syslog::{Batch, FormatError, Formatter, SyslogSettings};
use crate::transport::{DeliveryError, Sink};

pub use items::{BatchResponse, ItemFailure};

/// What one event produced and delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub records: usize,
    /// Syslog messages, counting each part of a split record.
    pub messages: usize,
    /// Records the receiver confirmed.
    pub delivered: usize,
    /// For a Kinesis or SQS batch: the items to report back to Lambda (the whole response).
    #[serde(skip)]
    pub batch: Option<BatchResponse>,
}

impl Outcome {
    /// What the Lambda function returns: the partial batch response for a batch, this otherwise.
    pub fn into_response(self) -> serde_json::Value {
        let value = match &self.batch {
            Some(batch) => serde_json::to_value(batch),
            None => serde_json::to_value(&self),
        };
        // Plain structs of numbers and strings always serialize.
        value.unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("a record cannot be formatted: {0}")]
    Format(#[from] FormatError),
    #[error("delivery failed: {0}")]
    Delivery(#[from] DeliveryError),
    #[error(
        "nothing was sent: the invocation's deadline came while the event was being read (ECR \
         findings); raise the function's timeout"
    )]
    DeadlineWhileReading,
    #[error(
        "{delivered} records of the event were delivered before this: {error}; the retry sends \
         them again (same ids)"
    )]
    PartlyDelivered {
        delivered: usize,
        error: Box<ForwardError>,
    },
}

impl ForwardError {
    /// `self`, noting that `delivered` records went out before it happened.
    fn after(self, delivered: usize) -> ForwardError {
        if delivered == 0 {
            return self;
        }
        match self {
            ForwardError::Delivery(mut e) => {
                e.delivered += delivered;
                ForwardError::Delivery(e)
            }
            other => ForwardError::PartlyDelivered {
                delivered,
                error: Box::new(other),
            },
        }
    }
}

impl ForwardError {
    /// The invocation's deadline came: nothing more can be done in it.
    pub fn out_of_time(&self) -> bool {
        use crate::sources::s3::S3Error;
        use crate::transport::TransportError;
        match self {
            ForwardError::DeadlineWhileReading
            | ForwardError::Source(SourceError::S3(S3Error::Deadline { .. })) => true,
            ForwardError::Delivery(e) => matches!(e.cause, TransportError::DeadlineExceeded),
            ForwardError::PartlyDelivered { error, .. } => error.out_of_time(),
            _ => false,
        }
    }

    /// The `errorType` Lambda records for this failure (the failure destination's
    /// `responsePayload.errorType` and the function's log): one name per kind, listed in README.
    pub fn error_type(&self) -> &'static str {
        use crate::findings::FindingsError;
        use crate::sources::ecr::ScanError;
        use crate::sources::s3::S3Error;
        use crate::transport::TransportError;
        match self {
            ForwardError::Source(SourceError::Unsupported(_)) => "UnsupportedEvent",
            ForwardError::Source(SourceError::CloudWatch(_))
            | ForwardError::Source(SourceError::Kinesis(_))
            | ForwardError::Source(SourceError::Sqs(_))
            | ForwardError::Source(SourceError::Scan(ScanError::Detail { .. }))
            | ForwardError::Source(SourceError::Scan(ScanError::MissingField { .. })) => {
                "DecodeError"
            }
            ForwardError::Source(SourceError::EventTooLarge { .. })
            | ForwardError::Source(SourceError::EventTooDeep { .. }) => "EventTooLarge",
            ForwardError::Source(SourceError::OwnLogGroup(_)) => "OwnLogGroup",
            ForwardError::Source(SourceError::S3(e)) => match e {
                S3Error::Notification(_)
                | S3Error::Gzip { .. }
                | S3Error::Record { .. }
                | S3Error::Layout { .. } => "DecodeError",
                S3Error::NoSuchKey { .. } | S3Error::NoSuchBucket { .. } => "S3ObjectNotFound",
                S3Error::AccessDenied { .. } => "S3AccessDenied",
                S3Error::Api { .. } | S3Error::Read { .. } => "S3ReadFailed",
                S3Error::TooLarge { .. } => "S3ObjectTooLarge",
                S3Error::Deadline { .. } => "DeadlineExceeded",
            },
            ForwardError::Source(SourceError::Scan(ScanError::Findings(
                FindingsError::File { .. } | FindingsError::Mismatch { .. },
            ))) => "FindingsFileError",
            ForwardError::Source(SourceError::Scan(ScanError::Findings(_))) => "FindingsError",
            ForwardError::Format(_) => "FormatError",
            ForwardError::DeadlineWhileReading => "DeadlineExceeded",
            ForwardError::PartlyDelivered { error, .. } => error.error_type(),
            ForwardError::Delivery(e) => match e.cause {
                TransportError::DeadlineExceeded => "DeadlineExceeded",
                TransportError::ClientKey(_) | TransportError::StoredKey(_) => "ClientKeyError",
                _ if e.cause.is_permanent() => "ReceiverRefused",
                _ => "DeliveryFailed",
            },
        }
    }
}

impl From<ForwardError> for lambda_runtime::Diagnostic {
    fn from(error: ForwardError) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// The filters' verdict on the record streamed last, which the later pieces of its line take.
#[derive(Debug, Default)]
pub(super) struct LineVerdict {
    /// The record's id (empty: no record yet, or one without an id).
    id: String,
    kept: bool,
}

impl LineVerdict {
    fn clear(&mut self) {
        self.id.clear();
    }

    fn set(&mut self, id: &str, kept: bool) {
        self.id.clear();
        self.id.push_str(id);
        self.kept = kept;
    }

    /// Whether `id` is a later piece of the line the verdict is for.
    fn holds_piece(&self, id: &str) -> bool {
        !self.id.is_empty() && sources::s3::is_later_piece(&self.id, id)
    }
}

/// The forwarder: shared by every invocation of a warm Lambda instance (its connection included).
pub struct Forwarder<F> {
    formatter: Formatter,
    findings: F,
    limits: Limits,
    own_log_group: Option<String>,
    detections: Option<Detections>,
    filters: Filters,
    /// The source log groups' tags, when `LOG_GROUP_TAGS` asks for them.
    log_group_tags: Option<LogGroupTags>,
    /// Where S3 objects are read from (the client is built on the first S3 event).
    objects: S3Objects,
    sink: Mutex<Sink>,
    /// The pipeline's buffers, kept for the next invocation of a warm instance.
    buffers: std::sync::Mutex<pipeline::Buffers>,
}

impl<F: FindingsSource> Forwarder<F> {
    pub fn new(settings: SyslogSettings, findings: F, sink: Sink) -> Forwarder<F> {
        Forwarder {
            formatter: Formatter::new(settings),
            findings,
            limits: Limits::default(),
            own_log_group: None,
            detections: None,
            filters: Filters::default(),
            objects: S3Objects::lazy(),
            log_group_tags: None,
            sink: Mutex::new(sink),
            buffers: std::sync::Mutex::default(),
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Forwarder<F> {
        self.limits = limits;
        self
    }

    /// Refuses subscription payloads from `log_group`: the function's own logs would loop.
    pub fn with_own_log_group(mut self, log_group: Option<String>) -> Forwarder<F> {
        self.own_log_group = log_group.filter(|g| !g.is_empty());
        self
    }

    /// Tags CloudTrail records of risky ECR activity (severity and a detection SD element).
    pub fn with_detections(mut self, detections: Option<Detections>) -> Forwarder<F> {
        self.detections = detections;
        self
    }

    /// Redacts and drops records as `FILTER_*`, `REDACT` and `REDACT_REGEX` say.
    pub fn with_filters(mut self, filters: Filters) -> Forwarder<F> {
        self.filters = filters;
        self
    }

    /// Adds the tags of each record's source log group (this account's) as `tag.<key>` SD-PARAMs.
    pub fn with_log_group_tags(mut self, on: bool) -> Forwarder<F> {
        self.log_group_tags = on.then(LogGroupTags::default);
        self
    }

    /// Notes the ARN Lambda invoked: its account is the one whose log groups' tags are read.
    pub fn note_function_arn(&self, arn: &str) {
        if let Some(tags) = &self.log_group_tags {
            tags.note_function_arn(arn);
        }
    }

    /// Reads S3 objects through `objects` (a client of its own, e.g. for a local S3).
    pub fn with_objects(mut self, objects: S3Objects) -> Forwarder<F> {
        self.objects = objects;
        self
    }

    /// Decodes one JSON event that is not a batch into records (ECR scans read their findings
    /// here), as they are sent: redacted, tagged by the detections and filtered.
    pub async fn records(&self, raw_event: &str) -> Result<Vec<Record>, SourceError> {
        sources::check_bounds(raw_event, self.limits)?;
        self.event_records(sources::classify(raw_event)?, &mut Metrics::default())
            .await
    }

    /// Formats records; fails before anything is sent.
    pub fn batch(&self, records: &[Record]) -> Result<Batch, FormatError> {
        self.formatter.batch(records)
    }

    /// Forwards one JSON event. Success means every record was delivered before `deadline`.
    pub async fn forward(
        &self,
        raw_event: &str,
        deadline: Instant,
    ) -> Result<Outcome, ForwardError> {
        self.forward_measured(raw_event, deadline).await.1
    }

    /// [`Forwarder::forward`], also returning the invocation's metrics (filled as far as it got).
    pub async fn forward_measured(
        &self,
        raw_event: &str,
        deadline: Instant,
    ) -> (Metrics, Result<Outcome, ForwardError>) {
        let mut metrics = Metrics::default();
        let result = self.forward_into(raw_event, deadline, &mut metrics).await;
        (metrics, result)
    }

    async fn forward_into(
        &self,
        raw_event: &str,
        deadline: Instant,
        metrics: &mut Metrics,
    ) -> Result<Outcome, ForwardError> {
        sources::check_bounds(raw_event, self.limits)?;
        let event = match sources::classify(raw_event)? {
            sources::Event::Kinesis(raws) => {
                return self.forward_kinesis(&raws, deadline, metrics).await;
            }
            sources::Event::Sqs(raws) => return self.forward_sqs(&raws, deadline, metrics).await,
            event => event,
        };
        let (mut pipeline, mut buffers) = pipeline::Pipeline::open(self, deadline, metrics).await;
        let result = match pipeline.event(event, &mut buffers).await {
            Ok(()) => pipeline.finish().await,
            Err(error @ ForwardError::Delivery(_)) => Err(error),
            Err(error) => {
                pipeline.abandon().await;
                Err(error)
            }
        };
        let totals = pipeline.close(buffers);
        match result {
            Ok(()) => Ok(Outcome {
                records: totals.records,
                messages: totals.messages,
                delivered: totals.delivered,
                batch: None,
            }),
            Err(error @ ForwardError::Delivery(_)) => Err(error),
            Err(error) => Err(error.after(totals.delivered)),
        }
    }

    /// The records of one event that is not a batch, screened ([`Forwarder::screen_one`]).
    async fn event_records(
        &self,
        event: sources::Event<'_>,
        metrics: &mut Metrics,
    ) -> Result<Vec<Record>, SourceError> {
        let mut records = sources::event_records(
            event,
            self.limits,
            self.own_log_group.as_deref(),
            &self.findings,
        )
        .await?;
        let mut line = LineVerdict::default();
        records.retain_mut(|record| self.screen(record, &mut line, metrics));
        Ok(records)
    }

    /// Every decoded record passes here before it is formatted, one at a time: redaction first (no
    /// detection, split part or structured-data value sees a secret), then detections, then the
    /// filters (which keep whatever a detection tagged). Returns whether it is forwarded; a
    /// dropped record is handled, not failed. `line` carries the filters' verdict from the first
    /// piece of a cut S3 line (`<key>:<line>`) to its later pieces (`<key>:<line>/2`, …), so
    /// `FILTER_INCLUDE` and `FILTER_EXCLUDE` never forward part of a line.
    fn screen(&self, record: &mut Record, line: &mut LineVerdict, metrics: &mut Metrics) -> bool {
        if !self.filters.is_noop() {
            self.filters.redact(record, &mut metrics.redactions);
        }
        if let Some(detections) = &self.detections {
            detections.apply(std::slice::from_mut(record));
        }
        if !self.filters.selects() {
            return true;
        }
        let id = record.id.as_deref().unwrap_or_default();
        let keep = if line.holds_piece(id) {
            line.kept
        } else {
            let keep = self.filters.keep(record);
            line.set(id, keep);
            keep
        };
        metrics.records_filtered += u64::from(!keep);
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::StaticFindings;
    use crate::test_support::{base64, gzip};
    use crate::transport::WriterSink;

    fn subscription(log_group: &str) -> String {
        let data = serde_json::json!({
            "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": log_group,
            "logStream": "s", "subscriptionFilters": ["f"],
            "logEvents": [{"id": "1", "timestamp": 1_795_341_600_000_i64, "message": "hello"}],
        });
        let b64 = base64(&gzip(data.to_string().as_bytes()));
        serde_json::json!({"awslogs": {"data": b64}}).to_string()
    }

    fn forwarder() -> Forwarder<StaticFindings> {
        let settings = SyslogSettings {
            organisation: "Acme".into(),
            ..SyslogSettings::default()
        };
        Forwarder::new(
            settings,
            StaticFindings::default(),
            Sink::Writer(WriterSink::new(tokio::io::sink())),
        )
        .with_own_log_group(Some("/aws/lambda/forwarder".into()))
    }

    #[test]
    fn the_pieces_of_a_cut_line_share_the_first_piece_verdict() {
        use crate::config::FilterSettings;
        use crate::sources::s3::{self, ObjectRef};
        let filters = Filters::from_config(&FilterSettings {
            include: Some("^keep".into()),
            exclude: Some("drop me".into()),
            redact: vec!["aws-secret-access-key".into()],
            ..FilterSettings::default()
        })
        .unwrap();
        let forwarder = forwarder().with_filters(filters);
        let object = ObjectRef {
            bucket: "b".into(),
            key: "logs/a.log".into(),
            size: None,
            region: "us-east-1".into(),
            account: String::new(),
            version_id: None,
        };
        let mut record = s3::log_record(s3::lines_origin(&object));
        let mut line = LineVerdict::default();
        let mut metrics = Metrics::default();
        let mut screen = |id: &str, payload: &str| {
            record.id = Some(id.into());
            record.payload = payload.into();
            let kept = forwarder.screen(&mut record, &mut line, &mut metrics);
            (kept, record.payload.clone())
        };
        let secret = "secret_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        // Kept by its first piece: the later ones are forwarded whatever they hold, redacted.
        assert!(screen("logs/a.log:1", "keep this line, cut").0);
        let (kept, payload) = screen("logs/a.log:1/2", &format!("{secret} drop me"));
        assert!(kept);
        assert_eq!(
            payload,
            "secret_key=[REDACTED:aws-secret-access-key] drop me"
        );
        assert!(screen("logs/a.log:1/3", "rest").0);
        // Dropped by its first piece: so are the later ones, even one the include matches.
        assert!(!screen("logs/a.log:2", "not this one").0);
        assert!(!screen("logs/a.log:2/2", "keep? no").0);
        // A new line decides for itself; a line that only looks like a later piece of another
        // is not one.
        assert!(screen("logs/a.log:3", "keep").0);
        assert!(!screen("logs/a.log:30/2", "no").0);
        assert!(screen("logs/a.log:4", "keep").0);
        assert!(!screen("logs/a.log:4/x", "no").0);
        assert!(!screen("logs/a.log:5/2", "no").0);
        assert_eq!(metrics.records_filtered, 5);
        assert_eq!(metrics.redactions.total(), 1);
    }

    #[tokio::test]
    async fn refuses_its_own_log_group() {
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let err = forwarder()
            .forward(&subscription("/aws/lambda/forwarder"), deadline)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ForwardError::Source(SourceError::OwnLogGroup(_))),
            "{err}"
        );
        let (metrics, result) = forwarder()
            .forward_measured(&subscription("/aws/lambda/orders"), deadline)
            .await;
        assert_eq!(result.unwrap().delivered, 1);
        assert_eq!((metrics.records_in, metrics.records_forwarded), (1, 1));
        assert!(metrics.bytes_sent > 0);
    }

    fn sqs(bodies: &[String], queue: &str) -> String {
        let records: Vec<serde_json::Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                serde_json::json!({"messageId": format!("m-{i}"), "body": body,
                    "eventSource": "aws:sqs", "eventSourceARN": format!("arn:aws:sqs:us-east-1:1:{queue}")})
            })
            .collect();
        serde_json::json!({ "Records": records }).to_string()
    }

    fn failed_items(outcome: &Outcome) -> Vec<&str> {
        outcome
            .batch
            .as_ref()
            .map(|b| {
                b.batch_item_failures
                    .iter()
                    .map(|f| f.item_identifier.as_str())
                    .collect()
            })
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_record_that_cannot_be_formatted_fails_only_its_own_item() {
        let settings = SyslogSettings {
            organisation: "Acme".into(),
            max_message_bytes: 400,
            ..SyslogSettings::default()
        };
        let forwarder = Forwarder::new(
            settings,
            StaticFindings::default(),
            Sink::Writer(WriterSink::new(tokio::io::sink())),
        );
        // A log group name long enough that its header leaves no room for the payload.
        let long_group = format!("/aws/lambda/{}", "g".repeat(380));
        let bodies = [
            subscription("/aws/lambda/orders"),
            subscription(&long_group),
            subscription("/aws/lambda/billing"),
        ];
        let deadline = Instant::now() + std::time::Duration::from_secs(5);
        let (metrics, outcome) = forwarder
            .forward_measured(&sqs(&bodies, "logs"), deadline)
            .await;
        let outcome = outcome.expect("a batch is judged per item");
        assert_eq!(failed_items(&outcome), ["m-1"]);
        assert_eq!(outcome.delivered, 2);
        assert_eq!(metrics.records_failed, 1);
        // From a FIFO queue, the item after it is not sent either.
        let outcome = forwarder
            .forward(&sqs(&bodies, "logs.fifo"), deadline)
            .await
            .expect("a batch is judged per item");
        assert_eq!(failed_items(&outcome), ["m-1", "m-2"]);
        assert_eq!(outcome.delivered, 1);
    }
}
