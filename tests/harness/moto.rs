//! The moto server (PyPI `moto[server]`) as the ECR, S3, CloudWatch Logs, Secrets Manager and SSM
//! APIs, reached by the SDK clients through endpoint URLs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, is_listening, stop, test_dir, venv_bin, wait_until};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-east-1";

pub struct Moto {
    pub port: u16,
    pub endpoint: String,
    child: Child,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let log = std::fs::File::create(test_dir("moto").join("moto.log")).expect("moto log");
        let child = Command::new(venv_bin("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("moto log"))
            .stderr(log)
            .spawn()
            .expect("cannot start moto_server: run `make test`, which installs it");
        let mut moto = Moto {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let ready = wait_until(Duration::from_secs(30), || is_listening(port));
        if !ready {
            stop(&mut moto.child, false);
            panic!("moto_server did not listen on 127.0.0.1:{port}");
        }
        moto
    }

    /// The environment that points the standard SDK chain at this server.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL_ECR", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_S3", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_SECRETS_MANAGER", self.endpoint.as_str()),
            ("AWS_ENDPOINT_URL_SSM", self.endpoint.as_str()),
            ("AWS_REGION", REGION),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    pub fn ecr_client(&self) -> aws_sdk_ecr::Client {
        let config = aws_sdk_ecr::Config::builder()
            .behavior_version(aws_sdk_ecr::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_ecr::config::Region::new(REGION))
            .credentials_provider(aws_sdk_ecr::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        aws_sdk_ecr::Client::from_conf(config)
    }

    pub fn logs_client(&self) -> aws_sdk_cloudwatchlogs::Client {
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_cloudwatchlogs::config::Region::new(REGION))
            .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .build();
        aws_sdk_cloudwatchlogs::Client::from_conf(config)
    }

    /// An S3 client for this server: path-style, as a local endpoint needs.
    pub fn s3_client(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_s3::config::Region::new(REGION))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(aws_sdk_ecr::config::SharedCredentialsProvider::new(
                aws_sdk_ecr::config::Credentials::new("testing", "testing", None, None, "test"),
            ))
            .build()
    }

    /// Creates a Secrets Manager secret with `text` as its SecretString; returns its ARN.
    pub async fn create_secret(&self, name: &str, text: &str) -> String {
        let client = aws_sdk_secretsmanager::Client::new(&self.sdk_config());
        let output = client
            .create_secret()
            .name(name)
            .secret_string(text)
            .send()
            .await
            .expect("create the secret");
        output.arn.expect("the secret's ARN")
    }

    /// A new version of the secret (a rotation).
    pub async fn rotate_secret(&self, arn: &str, text: &str) {
        let client = aws_sdk_secretsmanager::Client::new(&self.sdk_config());
        client
            .put_secret_value()
            .secret_id(arn)
            .secret_string(text)
            .send()
            .await
            .expect("put the secret's new value");
    }

    pub async fn delete_secret(&self, arn: &str) {
        let client = aws_sdk_secretsmanager::Client::new(&self.sdk_config());
        client
            .delete_secret()
            .secret_id(arn)
            .force_delete_without_recovery(true)
            .send()
            .await
            .expect("delete the secret");
    }

    /// Creates an SSM SecureString parameter `name` (with its leading slash); returns its ARN.
    pub async fn put_secure_parameter(&self, name: &str, text: &str) -> String {
        let client = aws_sdk_ssm::Client::new(&self.sdk_config());
        client
            .put_parameter()
            .name(name)
            .value(text)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .expect("put the parameter");
        format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{name}")
    }

    pub async fn create_bucket(&self, bucket: &str) {
        self.s3_client()
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("moto create_bucket");
    }

    pub async fn put_object(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.put(bucket, key, body).await;
    }

    async fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> aws_sdk_s3::operation::put_object::PutObjectOutput {
        self.s3_client()
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
            .await
            .expect("moto put_object")
    }

    /// Turns versioning on for `bucket`: every put keeps the earlier versions of the key.
    pub async fn enable_versioning(&self, bucket: &str) {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        self.s3_client()
            .put_bucket_versioning()
            .bucket(bucket)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("moto put_bucket_versioning");
    }

    /// Puts a new version of `key` into a versioned bucket; returns its version id.
    pub async fn put_version(&self, bucket: &str, key: &str, body: Vec<u8>) -> String {
        self.put(bucket, key, body)
            .await
            .version_id
            .expect("a version id: is versioning enabled on the bucket?")
    }

    /// A bucket policy that denies `s3:GetObject` on the keys under `prefix` to everyone.
    pub async fn deny_reads(&self, bucket: &str, prefix: &str) {
        let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": format!("arn:aws:s3:::{bucket}/{prefix}*"),
        }]});
        self.s3_client()
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy.to_string())
            .send()
            .await
            .expect("moto put_bucket_policy");
    }

    /// Creates `repository` and pushes an image with exactly `digest`, then starts its scan (moto
    /// answers DescribeImageScanFindings only for scanned images).
    pub async fn push_scanned_image(&self, repository: &str, digest: &str, tag: &str) {
        self.push_image(repository, digest, tag).await;
        self.ecr_client()
            .start_image_scan()
            .repository_name(repository)
            .image_id(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_digest(digest)
                    .build(),
            )
            .send()
            .await
            .expect("moto start_image_scan");
    }

    /// Creates `repository` (if needed) and pushes an image with exactly `digest`, not scanned.
    pub async fn push_image(&self, repository: &str, digest: &str, tag: &str) {
        let ecr = self.ecr_client();
        let _ = ecr
            .create_repository()
            .repository_name(repository)
            .send()
            .await;
        let manifest = r#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1,"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000001"},"layers":[]}"#;
        ecr.put_image()
            .repository_name(repository)
            .image_manifest(manifest)
            .image_digest(digest)
            .image_tag(tag)
            .send()
            .await
            .expect("moto put_image");
    }

    /// Makes DescribeImageScanFindings return `response` (a full response body: `repositoryName`
    /// and `imageId.imageDigest` select the image; moto returns it verbatim).
    pub fn inject_findings(&self, response: serde_json::Value) {
        let body = serde_json::json!({"results": [response], "region": REGION}).to_string();
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let request = format!(
            "POST /moto-api/static/ecr/scan-finding-results HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send to moto");
        let mut answer = String::new();
        stream
            .read_to_string(&mut answer)
            .expect("read moto's answer");
        assert!(
            answer.starts_with("HTTP/1.1 201"),
            "moto refused the findings: {answer}"
        );
    }
}

/// A DescribeImageScanFindings response body as ECR sends it (timestamps in epoch seconds).
pub fn findings_response(
    repository: &str,
    digest: &str,
    basic: usize,
    enhanced: usize,
) -> serde_json::Value {
    let severities = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"];
    let findings: Vec<serde_json::Value> = (0..basic)
        .map(|i| {
            serde_json::json!({
                "name": format!("CVE-2026-{i:04}"),
                "description": format!("basic finding {i}"),
                "uri": format!("https://security-tracker.debian.org/tracker/CVE-2026-{i:04}"),
                "severity": severities[i % severities.len()],
                "attributes": [
                    {"key": "package_name", "value": format!("pkg{i}")},
                    {"key": "package_version", "value": "1.0"},
                    {"key": "CVSS2_SCORE", "value": "7.5"},
                ],
            })
        })
        .collect();
    let enhanced_findings: Vec<serde_json::Value> = (0..enhanced)
        .map(|i| {
            serde_json::json!({
                "awsAccountId": ACCOUNT,
                "findingArn": format!("arn:aws:inspector2:{REGION}:{ACCOUNT}:finding/{i:032x}"),
                "description": format!("enhanced finding {i}"),
                "severity": "HIGH",
                "status": "ACTIVE",
                "type": "PACKAGE_VULNERABILITY",
                "score": 8.1,
                "fixAvailable": "YES",
                "firstObservedAt": 1_795_340_000.5,
                "packageVulnerabilityDetails": {
                    "vulnerabilityId": format!("CVE-2025-{i:04}"),
                    "source": "NVD",
                    "sourceUrl": format!("https://nvd.nist.gov/vuln/detail/CVE-2025-{i:04}"),
                    "vulnerablePackages": [{"name": "openssl", "version": "3.0.1", "fixedInVersion": "3.0.2"}],
                    "cvss": [{"baseScore": 8.1, "scoringVector": "CVSS:3.1/AV:N", "source": "NVD", "version": "3.1"}],
                },
            })
        })
        .collect();
    serde_json::json!({
        "registryId": ACCOUNT,
        "repositoryName": repository,
        "imageId": {"imageDigest": digest},
        "imageScanStatus": {"status": "COMPLETE", "description": "The scan was completed successfully."},
        "imageScanFindings": {
            "imageScanCompletedAt": 1_795_342_530,
            "findingSeverityCounts": {"CRITICAL": 1, "HIGH": 1 + enhanced, "MEDIUM": 1},
            "findings": findings,
            "enhancedFindings": enhanced_findings,
        },
    })
}

impl Drop for Moto {
    fn drop(&mut self) {
        stop(&mut self.child, false);
    }
}
