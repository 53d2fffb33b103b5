//! What every AWS SDK client of the forwarder shares: timeouts short enough that an API without a
//! route (a VPC with neither an endpoint nor a NAT gateway) fails the call in seconds instead of
//! holding the invocation until its deadline, and an error that names the endpoint tried and what
//! to add.
//!
//! The SDK retries timeouts, so the bound that matters is the operation's: every attempt and the
//! backoff between them. The invocation's own deadline still applies on top (the handler stops
//! reading at it), so a call never outlives the invocation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use aws_smithy_types::error::display::DisplayErrorContext;

/// Time to open a TCP connection (and finish TLS) to an AWS endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time one attempt may take, from sending the request to the response's headers.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time the whole call may take, retries and their backoff included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// The timeouts of every AWS SDK client (see the module's documentation).
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// The shared SDK configuration from the standard chain (region, credentials, `AWS_ENDPOINT_URL_*`)
/// with [`timeout_config`].
pub fn sdk_config_loader() -> aws_config::ConfigLoader {
    aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeout_config())
}

/// An AWS service as the error hint names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// How people call it: `ECR`, `S3`.
    pub name: &'static str,
    /// The VPC endpoint's service name after `com.amazonaws.<region>.`: `ecr.api`, `s3`.
    pub vpc_endpoint: &'static str,
    /// `an interface` or `a gateway` (S3 can use the free gateway endpoint).
    pub endpoint_kind: &'static str,
}

pub const ECR: Service = Service {
    name: "ECR",
    vpc_endpoint: "ecr.api",
    endpoint_kind: "an interface",
};
pub const S3: Service = Service {
    name: "S3",
    vpc_endpoint: "s3",
    endpoint_kind: "a gateway",
};

/// Remembers where a call's last attempt went, so that an error without a response (a timeout, a
/// refused connection) can still name the endpoint: the SDK's own error does not.
#[derive(Debug, Clone, Default)]
pub struct EndpointRecorder(Arc<Mutex<Option<String>>>);

impl EndpointRecorder {
    /// `scheme://host[:port]` of the last attempt, if one was sent.
    pub fn endpoint(&self) -> Option<String> {
        self.0.lock().ok().and_then(|last| last.clone())
    }
}

impl Intercept for EndpointRecorder {
    fn name(&self) -> &'static str {
        "EndpointRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let uri = context.request().uri();
        // Scheme and authority only: the path and query name the object or repository, which the
        // error already says.
        let end = uri
            .find("://")
            .map(|scheme| {
                let host = scheme + 3;
                uri[host..].find('/').map_or(uri.len(), |path| host + path)
            })
            .unwrap_or(uri.len());
        if let Ok(mut last) = self.0.lock() {
            *last = Some(uri[..end].to_owned());
        }
        Ok(())
    }
}

/// For a call that got no answer (timed out, or could not connect), what happened, the endpoint and
/// what to check; `None` when the service answered (its own error says more).
pub fn unanswered<E, R>(
    service: Service,
    region: &str,
    endpoint: Option<String>,
    error: &SdkError<E, R>,
) -> Option<String>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let endpoint = endpoint.unwrap_or_else(|| format!("the {} endpoint of {region}", service.name));
    let what = match error {
        SdkError::TimeoutError(_) => format!(
            "no answer from {endpoint} within {} s (each attempt {} s, retries included)",
            OPERATION_TIMEOUT.as_secs(),
            ATTEMPT_TIMEOUT.as_secs()
        ),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => format!(
            "no connection to {endpoint} within {} s",
            CONNECT_TIMEOUT.as_secs()
        ),
        SdkError::DispatchFailure(failure) if failure.is_io() => format!(
            "cannot connect to {endpoint} ({})",
            DisplayErrorContext(error)
        ),
        _ => return None,
    };
    let region = if region.is_empty() { "REGION" } else { region };
    Some(format!(
        "{what}; in a VPC the function needs {} VPC endpoint for com.amazonaws.{region}.{} or a \
         route to a NAT gateway (README, Network (VPC)), and its security groups must allow HTTPS \
         to it",
        service.endpoint_kind, service.vpc_endpoint
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::result::ConnectorError;

    type Error = SdkError<std::io::Error, ()>;

    #[test]
    fn unanswered_calls_name_the_endpoint_and_the_vpc_endpoint() {
        let timeout: Error = SdkError::timeout_error("operation timeout");
        let text = unanswered(
            ECR,
            "eu-west-1",
            Some("https://api.ecr.eu-west-1.amazonaws.com".into()),
            &timeout,
        )
        .expect("a timeout is unanswered");
        assert!(
            text.contains("no answer from https://api.ecr.eu-west-1.amazonaws.com within 15 s"),
            "{text}"
        );
        assert!(
            text.contains("an interface VPC endpoint for com.amazonaws.eu-west-1.ecr.api"),
            "{text}"
        );
        assert!(text.contains("NAT gateway"), "{text}");

        let refused: Error = SdkError::dispatch_failure(ConnectorError::io(Box::new(
            std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
        )));
        let text = unanswered(S3, "us-east-1", None, &refused).expect("a refused connection");
        assert!(
            text.starts_with("cannot connect to the S3 endpoint of us-east-1"),
            "{text}"
        );
        assert!(
            text.contains("a gateway VPC endpoint for com.amazonaws.us-east-1.s3"),
            "{text}"
        );

        let connect: Error = SdkError::dispatch_failure(ConnectorError::timeout(Box::new(
            std::io::Error::from(std::io::ErrorKind::TimedOut),
        )));
        let text = unanswered(S3, "", Some("http://127.0.0.1:9".into()), &connect)
            .expect("connect timeout");
        assert!(
            text.starts_with("no connection to http://127.0.0.1:9 within 3 s"),
            "{text}"
        );
        assert!(text.contains("com.amazonaws.REGION.s3"), "{text}");
    }

    #[test]
    fn answers_of_the_service_are_not_unanswered() {
        let answered: Error = SdkError::construction_failure(std::io::Error::other("bad input"));
        assert_eq!(unanswered(ECR, "eu-west-1", None, &answered), None);
    }

    #[test]
    fn timeouts_bound_the_connection_the_attempt_and_the_operation() {
        let config = timeout_config();
        assert_eq!(config.connect_timeout(), Some(CONNECT_TIMEOUT));
        assert_eq!(config.operation_attempt_timeout(), Some(ATTEMPT_TIMEOUT));
        assert_eq!(config.operation_timeout(), Some(OPERATION_TIMEOUT));
        assert!(CONNECT_TIMEOUT < ATTEMPT_TIMEOUT && ATTEMPT_TIMEOUT < OPERATION_TIMEOUT);
    }
}
