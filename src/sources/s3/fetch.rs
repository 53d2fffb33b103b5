//! `GetObject` through `aws-sdk-s3`: the client, and the service's answers turned into errors that
//! name the object and what to check.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;

use super::{ObjectRef, S3Error};

/// Objects read from S3. The client is built on first use, from the standard SDK chain (region,
/// credentials, `AWS_ENDPOINT_URL_S3`), so invocations without an S3 event never pay for it.
#[derive(Debug, Default)]
pub struct S3Objects {
    client: tokio::sync::OnceCell<aws_sdk_s3::Client>,
}

/// An object's body as it arrives, with what `GetObject` said about the object.
pub struct ObjectBody {
    body: ByteStream,
    /// Bytes stored (compressed, for a gzip object).
    pub content_length: Option<u64>,
    pub last_modified_ms: Option<i64>,
}

impl ObjectBody {
    /// The next chunk of the body; `None` at its end.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, String>> {
        self.body
            .next()
            .await
            .map(|chunk| chunk.map_err(|e| DisplayErrorContext(&e).to_string()))
    }
}

/// A local S3 (an endpoint set in the environment) answers at its own address, where
/// virtual-host addressing would ask for `bucket.127.0.0.1`.
fn endpoint_set() -> bool {
    ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
        .iter()
        .any(|var| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))
}

impl S3Objects {
    pub fn lazy() -> S3Objects {
        S3Objects::default()
    }

    pub fn with_client(client: aws_sdk_s3::Client) -> S3Objects {
        S3Objects {
            client: tokio::sync::OnceCell::new_with(Some(client)),
        }
    }

    async fn client(&self) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async {
                // Short timeouts: S3 without a route fails in seconds, naming the endpoint.
                let shared = crate::aws::sdk_config_loader().load().await;
                let config = aws_sdk_s3::config::Builder::from(&shared)
                    .force_path_style(endpoint_set())
                    .build();
                aws_sdk_s3::Client::from_conf(config)
            })
            .await
    }

    /// Starts reading `object` (the version the event names, when it names one): the body arrives
    /// through [`ObjectBody::next_chunk`].
    pub async fn open(&self, object: &ObjectRef) -> Result<ObjectBody, S3Error> {
        let client = self.client().await;
        let mut request = client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .customize();
        let endpoint = crate::aws::EndpointRecorder::default();
        request = request.interceptor(endpoint.clone());
        let client_region = client.config().region().map(|r| r.as_ref().to_owned());
        let region = if object.region.is_empty() {
            client_region.clone().unwrap_or_default()
        } else {
            object.region.clone()
        };
        if !object.region.is_empty() && client_region.as_deref() != Some(object.region.as_str()) {
            // The bucket lives in the event's region; ask that region's endpoint.
            request = request.config_override(
                aws_sdk_s3::config::Builder::default()
                    .region(aws_sdk_s3::config::Region::new(object.region.clone())),
            );
        }
        let output = request
            .send()
            .await
            .map_err(|e| api_error(object, &region, endpoint.endpoint(), e))?;
        Ok(ObjectBody {
            body: output.body,
            content_length: output.content_length.and_then(|l| u64::try_from(l).ok()),
            last_modified_ms: output.last_modified.and_then(|t| t.to_millis().ok()),
        })
    }
}

/// The answers that mean "not there" or "not allowed" become errors that say what to check; the
/// SDK reads the code from the response whoever sends it (S3, a local S3). Some answers to a
/// denied `GetObject` carry no body, so a bare 403 is taken as denied too. A version that is not
/// there is `NoSuchVersion`. A call that got no answer names the endpoint it tried and the VPC
/// endpoint it needs.
fn api_error(
    object: &ObjectRef,
    region: &str,
    endpoint: Option<String>,
    error: SdkError<GetObjectError, HttpResponse>,
) -> S3Error {
    let (bucket, key, version) = (object.bucket.clone(), object.key.clone(), object.version());
    if let Some(message) = crate::aws::unanswered(crate::aws::S3, region, endpoint, &error) {
        return S3Error::Api {
            bucket,
            key,
            version,
            message,
        };
    }
    let status = error.raw_response().map(|r| r.status().as_u16());
    let code = error.code().map(str::to_owned);
    if matches!(error.as_service_error(), Some(GetObjectError::NoSuchKey(_)))
        || matches!(code.as_deref(), Some("NoSuchKey" | "NoSuchVersion"))
    {
        return S3Error::NoSuchKey {
            bucket,
            key,
            version,
        };
    }
    if code.as_deref() == Some("NoSuchBucket") {
        return S3Error::NoSuchBucket {
            bucket,
            key,
            version,
        };
    }
    if code.as_deref() == Some("AccessDenied") || status == Some(403) {
        let detail = match (code, error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code,
            (None, _) => "HTTP 403".to_owned(),
        };
        return S3Error::AccessDenied {
            bucket,
            key,
            version,
            detail,
        };
    }
    S3Error::Api {
        bucket,
        key,
        version,
        message: DisplayErrorContext(&error).to_string(),
    }
}
