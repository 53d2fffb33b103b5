// The Lambda handler's future nests the whole pipeline; clippy's type walk needs the room.
#![recursion_limit = "256"]

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aws_syslog_forwarder::config::{Config, Transport};
use aws_syslog_forwarder::detections::Detections;
use aws_syslog_forwarder::filters::Filters;
use aws_syslog_forwarder::findings::{EcrFindings, FileFindings, FindingsSource};
use aws_syslog_forwarder::handler::Forwarder;
use aws_syslog_forwarder::replay;
use aws_syslog_forwarder::sources::Limits;
use aws_syslog_forwarder::transport::{RelpSender, Sink, SyslogSender, WriterSink};
use clap::{Parser, Subcommand};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::value::RawValue;

/// Forwards CloudWatch Logs and ECR image-scan events to a SIEM over syslog (TCP/TLS or RELP).
///
/// Under AWS Lambda (AWS_LAMBDA_RUNTIME_API set) it runs the Lambda runtime loop; `replay` processes
/// saved events from files or stdin. Configuration comes from the environment (see README).
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Process events exactly as the Lambda would. Without SYSLOG_HOST, print the framed syslog
    /// messages to stdout.
    Replay {
        /// A saved `aws ecr describe-image-scan-findings` output to use instead of calling ECR.
        #[arg(long, value_name = "FILE")]
        findings: Option<PathBuf>,
        /// Also write each event's CloudWatch EMF metrics line to stderr.
        #[arg(long)]
        metrics: bool,
        /// Files holding one JSON event each (or JSON Lines); none or `-` reads stdin.
        #[arg(value_name = "EVENT_FILE")]
        events: Vec<PathBuf>,
    },
}

/// Time kept back from the Lambda deadline, so a failing delivery reports instead of being killed:
/// the error reaches Lambda at least 500 ms before the deadline, with 250 ms left for the timers'
/// lateness and the answer itself.
const DEADLINE_MARGIN: Duration = Duration::from_millis(750);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Some(Command::Replay {
            findings,
            metrics,
            events,
        }) => runtime.block_on(run_replay(findings, events, metrics)),
        None if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() => {
            runtime.block_on(run_lambda())
        }
        None => {
            eprintln!(
                "AWS_LAMBDA_RUNTIME_API is not set, so this is not a Lambda environment.\n\
                 To process saved events, run: aws-syslog-forwarder replay [--findings FILE] [EVENT_FILE ...]"
            );
            ExitCode::from(2)
        }
    }
}

fn load_config() -> Result<Config, ExitCode> {
    Config::from_env().map_err(|e| {
        tracing::error!("configuration error: {e}");
        ExitCode::from(2)
    })
}

fn syslog_sink(config: &Config) -> Result<Option<Sink>, ExitCode> {
    let Some(destination) = &config.destination else {
        return Ok(None);
    };
    let sink = match destination.transport {
        Transport::Tcp => SyslogSender::new(destination).map(|s| Sink::Syslog(Box::new(s))),
        Transport::Relp { window } => {
            RelpSender::new(destination, window).map(|s| Sink::Relp(Box::new(s)))
        }
    };
    match sink {
        Ok(sink) => Ok(Some(sink)),
        Err(e) => {
            tracing::error!("configuration error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

async fn run_lambda() -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber();
    let config = match load_config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let sink = match syslog_sink(&config) {
        Ok(Some(sink)) => sink,
        Ok(None) => {
            tracing::error!(
                "configuration error: SYSLOG_HOST is not set: set it to the SIEM's syslog receiver"
            );
            return ExitCode::from(2);
        }
        Err(code) => return code,
    };
    tracing::info!(?sink, "forwarder ready");
    // Lambda names the function's own log group; a subscription of it would loop.
    let own_log_group = std::env::var("AWS_LAMBDA_LOG_GROUP_NAME").ok();
    let detections = detections(&config);
    let filters = match filters(&config) {
        Ok(filters) => filters,
        Err(code) => return code,
    };
    let limits = limits(&config);
    let forwarder = Arc::new(
        Forwarder::new(config.syslog, EcrFindings::lazy(), sink)
            .with_limits(limits)
            .with_own_log_group(own_log_group)
            .with_detections(detections)
            .with_filters(filters)
            .with_log_group_tags(config.log_group_tags),
    );
    let handler = service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let forwarder = Arc::clone(&forwarder);
        async move { handle(&forwarder, event).await }
    });
    match lambda_runtime::run(handler).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("Lambda runtime stopped: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn handle<F: FindingsSource>(
    forwarder: &Forwarder<F>,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<serde_json::Value, lambda_runtime::Diagnostic> {
    let now_ms = aws_syslog_forwarder::time::now_ms().max(0) as u64;
    let remaining = time_left(event.context.deadline, now_ms);
    let deadline = tokio::time::Instant::now() + remaining.saturating_sub(DEADLINE_MARGIN);
    tracing::debug!(
        deadline_ms = event.context.deadline,
        function_arn = %event.context.invoked_function_arn,
        remaining_ms = remaining.as_millis() as u64,
        "invocation"
    );
    forwarder.note_function_arn(&event.context.invoked_function_arn);
    let (metrics, result) = forwarder
        .forward_measured(event.payload.get(), deadline)
        .await;
    // One EMF line per invocation on stdout, which Lambda sends to CloudWatch Logs.
    println!(
        "{}",
        metrics.to_emf(&event.context.env_config.function_name, now_ms as i64)
    );
    match result {
        Ok(outcome) => {
            tracing::info!(
                records = outcome.records,
                messages = outcome.messages,
                delivered = outcome.delivered,
                failed_items = outcome.batch.as_ref().map(|b| b.batch_item_failures.len()),
                "forwarded"
            );
            Ok(outcome.into_response())
        }
        Err(e) => {
            tracing::error!(request_id = %event.context.request_id, error_type = e.error_type(), "{e}");
            Err(e.into())
        }
    }
}

/// The decode bounds, with the configured S3 object bound.
fn limits(config: &Config) -> Limits {
    Limits {
        max_object_bytes: config.max_object_bytes,
        ..Limits::default()
    }
}

/// The detection rules the configuration turns on, or none.
fn detections(config: &Config) -> Option<Detections> {
    config
        .detections
        .enabled
        .then(|| Detections::new(&config.detections.disabled, config.syslog.sd_id.as_deref()))
}

/// The filters and redaction the configuration asks for; a bad rule name or pattern stops start-up.
fn filters(config: &Config) -> Result<Filters, ExitCode> {
    Filters::from_config(&config.filters).map_err(|e| {
        tracing::error!("configuration error: {e}");
        ExitCode::from(2)
    })
}

/// Time left until the Runtime API's deadline (epoch milliseconds). Some local emulators send the
/// function timeout instead of an instant; a value before 2001 is taken as such a duration.
fn time_left(deadline_ms: u64, now_ms: u64) -> Duration {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    if deadline_ms < YEAR_2001_MS {
        Duration::from_millis(deadline_ms)
    } else {
        Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    }
}

async fn run_replay(findings: Option<PathBuf>, events: Vec<PathBuf>, metrics: bool) -> ExitCode {
    lambda_runtime::tracing::init_default_subscriber_with_writer(std::io::stderr);
    let config = match load_config() {
        Ok(config) => config,
        Err(code) => return code,
    };
    let sink = match syslog_sink(&config) {
        Ok(sink) => sink.unwrap_or_else(|| Sink::Writer(WriterSink::stdout())),
        Err(code) => return code,
    };
    let detections = detections(&config);
    let filters = match filters(&config) {
        Ok(filters) => filters,
        Err(code) => return code,
    };
    let limits = limits(&config);
    let summary = match findings {
        Some(path) => match FileFindings::load(&path) {
            Ok(file) => {
                let forwarder = Forwarder::new(config.syslog, file, sink)
                    .with_limits(limits)
                    .with_detections(detections)
                    .with_filters(filters);
                replay::run(&forwarder, &events, metrics).await
            }
            Err(e) => {
                eprintln!("replay: {e}");
                return ExitCode::from(2);
            }
        },
        None => {
            let forwarder = Forwarder::new(config.syslog, EcrFindings::lazy(), sink)
                .with_limits(limits)
                .with_detections(detections)
                .with_filters(filters);
            replay::run(&forwarder, &events, metrics).await
        }
    };
    eprintln!("{summary}");
    if summary.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_an_instant_or_an_emulator_duration() {
        let now = 1_795_341_600_000;
        assert_eq!(time_left(now + 3_000, now), Duration::from_millis(3_000));
        assert_eq!(time_left(now - 1, now), Duration::ZERO);
        assert_eq!(time_left(600_000, now), Duration::from_secs(600));
    }
}
