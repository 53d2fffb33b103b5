//! The TLS client key read from a secret store (SYSLOG_TLS_CLIENT_KEY_SECRET_ARN): a Secrets Manager
//! secret's SecretString, or an SSM SecureString parameter decrypted. The clients are built on first
//! use, with the short timeouts of every AWS client ([`crate::aws`]), and ask the region of the ARN.
//!
//! The value never appears in an error or a log line: errors name the ARN and what to fix.

use aws_smithy_types::error::display::DisplayErrorContext;

use crate::aws::{self, EndpointRecorder, Service};
use crate::config::KeyStore;

pub const SECRETS_MANAGER: Service = Service {
    name: "Secrets Manager",
    vpc_endpoint: "secretsmanager",
    endpoint_kind: "an interface",
};
pub const SSM: Service = Service {
    name: "SSM",
    vpc_endpoint: "ssm",
    endpoint_kind: "an interface",
};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "cannot read the TLS client key from {arn} (SYSLOG_TLS_CLIENT_KEY_SECRET_ARN): {message}; \
         check that it exists and that the function's role may {action} it (and kms:Decrypt with \
         its KMS key: SyslogTlsClientKeyKmsKeyArn)"
    )]
    Read {
        arn: String,
        action: &'static str,
        message: String,
    },
    #[error(
        "{arn} (SYSLOG_TLS_CLIENT_KEY_SECRET_ARN) holds no text: store the PEM private key as the \
         secret's text value (SecretString) or as the parameter's SecureString value"
    )]
    NotText { arn: String },
}

/// Reads the client key from where the configuration says; one client per store, built on first use.
#[derive(Debug, Default)]
pub struct KeyReader {
    secrets_manager: tokio::sync::OnceCell<aws_sdk_secretsmanager::Client>,
    ssm: tokio::sync::OnceCell<aws_sdk_ssm::Client>,
}

impl KeyReader {
    /// The stored PEM text.
    pub async fn read(&self, store: &KeyStore) -> Result<String, SecretError> {
        match store {
            KeyStore::SecretsManager { arn, region } => self.secret(arn, region).await,
            KeyStore::SsmParameter { arn, region } => self.parameter(arn, region).await,
        }
    }

    async fn secret(&self, arn: &str, region: &str) -> Result<String, SecretError> {
        let client = self
            .secrets_manager
            .get_or_init(|| async {
                let shared = aws::sdk_config_loader()
                    .region(aws_config::Region::new(region.to_owned()))
                    .load()
                    .await;
                aws_sdk_secretsmanager::Client::new(&shared)
            })
            .await;
        let endpoint = EndpointRecorder::default();
        let output = client
            .get_secret_value()
            .secret_id(arn)
            .customize()
            .interceptor(endpoint.clone())
            .send()
            .await
            .map_err(|e| SecretError::Read {
                arn: arn.to_owned(),
                action: "secretsmanager:GetSecretValue",
                message: aws::unanswered(SECRETS_MANAGER, region, endpoint.endpoint(), &e)
                    .unwrap_or_else(|| DisplayErrorContext(&e).to_string()),
            })?;
        output
            .secret_string
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| SecretError::NotText {
                arn: arn.to_owned(),
            })
    }

    async fn parameter(&self, arn: &str, region: &str) -> Result<String, SecretError> {
        let client = self
            .ssm
            .get_or_init(|| async {
                let shared = aws::sdk_config_loader()
                    .region(aws_config::Region::new(region.to_owned()))
                    .load()
                    .await;
                aws_sdk_ssm::Client::new(&shared)
            })
            .await;
        let endpoint = EndpointRecorder::default();
        // GetParameter takes the ARN as the name; a SecureString needs WithDecryption.
        let output = client
            .get_parameter()
            .name(arn)
            .with_decryption(true)
            .customize()
            .interceptor(endpoint.clone())
            .send()
            .await
            .map_err(|e| SecretError::Read {
                arn: arn.to_owned(),
                action: "ssm:GetParameter",
                message: aws::unanswered(SSM, region, endpoint.endpoint(), &e)
                    .unwrap_or_else(|| DisplayErrorContext(&e).to_string()),
            })?;
        output
            .parameter
            .and_then(|p| p.value)
            .filter(|text| !text.trim().is_empty())
            .ok_or_else(|| SecretError::NotText {
                arn: arn.to_owned(),
            })
    }
}
