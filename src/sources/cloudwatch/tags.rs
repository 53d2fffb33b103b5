//! The tags of a source log group (`LOG_GROUP_TAGS`), read with `logs:ListTagsForResource` and kept
//! per warm instance. A lookup never fails a record and never waits longer than one bounded call:
//! whatever goes wrong, the records go out without tags.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata};
use tokio::time::Instant;

use crate::syslog::sanitize::tag_param_name;

/// How long a log group's tags (or a failed lookup) are kept before they are read again.
pub const TAGS_TTL: Duration = Duration::from_secs(5 * 60);
/// Log groups kept at once: a central destination may carry thousands.
const CACHE_ENTRIES: usize = 1024;
/// The one call a lookup may make: connect and answer within this, no retry.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// A log group's tags as SD-PARAMs (`tag.<key>`), in key order.
pub type TagParams = Arc<Vec<(String, String)>>;

/// What a lookup did, for the invocation's metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// From the cache, or no lookup was needed (another account's log group).
    NotCalled,
    Read,
    Failed,
}

/// The function's own account and partition, from its ARN: only its log groups are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Home {
    partition: String,
    region: String,
    account: String,
}

struct Entry {
    tags: TagParams,
    read_at: Instant,
    /// A failed lookup of this group was logged already.
    warned: bool,
}

/// Log group tags, read on first use of each group and kept for [`TAGS_TTL`].
#[derive(Default)]
pub struct LogGroupTags {
    client: tokio::sync::OnceCell<aws_sdk_cloudwatchlogs::Client>,
    home: OnceLock<Home>,
    cache: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for LogGroupTags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogGroupTags")
            .field("home", &self.home.get())
            .finish_non_exhaustive()
    }
}

impl LogGroupTags {
    /// Notes the function's ARN (`arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME`), which says
    /// which log groups are the function's own account's. The first well-formed one is kept.
    pub fn note_function_arn(&self, arn: &str) {
        if self.home.get().is_some() {
            return;
        }
        let mut parts = arn.split(':');
        let (Some("arn"), Some(partition), Some("lambda"), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return;
        };
        let _ = self.home.set(Home {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
        });
    }

    /// The tags of `owner`'s log group `log_group`; none for another account's group, and none
    /// (with a WARN once per group) when the lookup fails.
    pub async fn of(&self, owner: &str, log_group: &str, deadline: Instant) -> (TagParams, Lookup) {
        // Lambda always names the function's ARN; a local emulator may not, and then the owner
        // is taken as the function's account, in the client's region.
        let (partition, region) = match self.home.get() {
            Some(home) if home.account == owner => {
                (home.partition.as_str(), Some(home.region.as_str()))
            }
            Some(_) => return (TagParams::default(), Lookup::NotCalled),
            None => ("aws", None),
        };
        let now = Instant::now();
        let warned = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            match cache.get(log_group) {
                Some(entry) if now.duration_since(entry.read_at) < TAGS_TTL => {
                    return (Arc::clone(&entry.tags), Lookup::NotCalled);
                }
                Some(entry) => entry.warned,
                None => false,
            }
        };
        let client = self.client().await;
        let region = region
            .map(str::to_owned)
            .or_else(|| client.config().region().map(|r| r.to_string()))
            .unwrap_or_default();
        let arn = format!("arn:{partition}:logs:{region}:{owner}:log-group:{log_group}");
        let (tags, lookup, warned) = match read(client, &arn, deadline).await {
            Ok(tags) => (Arc::new(tags), Lookup::Read, warned),
            Err(error) => {
                if !warned {
                    tracing::warn!(
                        log_group,
                        %error,
                        "cannot read the log group's tags; its records go out without them \
                         (check logs:ListTagsForResource in the function's role, and in a VPC \
                         the CloudWatch Logs endpoint)"
                    );
                }
                (TagParams::default(), Lookup::Failed, true)
            }
        };
        self.keep(log_group, Arc::clone(&tags), now, warned);
        (tags, lookup)
    }

    fn keep(&self, log_group: &str, tags: TagParams, read_at: Instant, warned: bool) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= CACHE_ENTRIES && !cache.contains_key(log_group) {
            cache.retain(|_, entry| read_at.duration_since(entry.read_at) < TAGS_TTL);
            if cache.len() >= CACHE_ENTRIES {
                let oldest = cache
                    .iter()
                    .min_by_key(|(_, entry)| entry.read_at)
                    .map(|(group, _)| group.clone());
                if let Some(oldest) = oldest {
                    cache.remove(&oldest);
                }
            }
        }
        cache.insert(
            log_group.to_owned(),
            Entry {
                tags,
                read_at,
                warned,
            },
        );
    }

    /// Built on first use from the standard SDK chain (`AWS_ENDPOINT_URL_CLOUDWATCH_LOGS` too),
    /// with one attempt and a bounded connect: tags are never worth a delay.
    async fn client(&self) -> &aws_sdk_cloudwatchlogs::Client {
        self.client
            .get_or_init(|| async {
                let shared = crate::aws::sdk_config_loader().load().await;
                let timeouts = aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(CALL_TIMEOUT)
                    .operation_timeout(CALL_TIMEOUT)
                    .build();
                let config = aws_sdk_cloudwatchlogs::config::Builder::from(&shared)
                    .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
                    .timeout_config(timeouts)
                    .build();
                aws_sdk_cloudwatchlogs::Client::from_conf(config)
            })
            .await
    }

    #[cfg(test)]
    fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or_default()
    }
}

/// One `ListTagsForResource` call, bounded: the tags as SD-PARAMs, in key order.
async fn read(
    client: &aws_sdk_cloudwatchlogs::Client,
    arn: &str,
    deadline: Instant,
) -> Result<Vec<(String, String)>, String> {
    let call = client.list_tags_for_resource().resource_arn(arn).send();
    let until = deadline.min(Instant::now() + CALL_TIMEOUT);
    let answer = match tokio::time::timeout_at(until, call).await {
        Ok(answer) => answer,
        Err(_) => return Err(format!("no answer within {CALL_TIMEOUT:?}")),
    };
    let tags = match answer {
        Ok(output) => output.tags.unwrap_or_default(),
        // A group deleted since its events were written has no tags to add.
        Err(e) if e.code() == Some("ResourceNotFoundException") => HashMap::new(),
        Err(e) => return Err(DisplayErrorContext(&e).to_string()),
    };
    let mut tags: Vec<(String, String)> = tags.into_iter().collect();
    tags.sort();
    let mut params: Vec<(String, String)> = tags
        .into_iter()
        .map(|(key, value)| (tag_param_name(&key), value))
        .collect();
    // Two keys that map to one name: the first in key order stays (the sort is stable).
    params.sort_by(|a, b| a.0.cmp(&b.0));
    params.dedup_by(|later, earlier| later.0 == earlier.0);
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_function_arn_names_the_home_account() {
        let tags = LogGroupTags::default();
        tags.note_function_arn("not an arn");
        assert!(tags.home.get().is_none());
        tags.note_function_arn("arn:aws-us-gov:lambda:us-gov-west-1:111122223333:function:fwd");
        tags.note_function_arn("arn:aws:lambda:eu-west-1:444455556666:function:other");
        assert_eq!(
            tags.home.get(),
            Some(&Home {
                partition: "aws-us-gov".into(),
                region: "us-gov-west-1".into(),
                account: "111122223333".into(),
            })
        );
    }

    #[tokio::test]
    async fn another_accounts_log_group_is_not_looked_up() {
        let tags = LogGroupTags::default();
        tags.note_function_arn("arn:aws:lambda:eu-west-1:111122223333:function:fwd");
        let deadline = Instant::now() + Duration::from_secs(1);
        let (found, lookup) = tags.of("999988887777", "/aws/lambda/app", deadline).await;
        assert!(found.is_empty());
        assert_eq!(lookup, Lookup::NotCalled);
        assert_eq!(tags.cached(), 0);
    }

    #[test]
    fn the_cache_stays_bounded() {
        let tags = LogGroupTags::default();
        let now = Instant::now();
        for i in 0..CACHE_ENTRIES + 10 {
            tags.keep(&format!("/g/{i}"), TagParams::default(), now, false);
        }
        assert_eq!(tags.cached(), CACHE_ENTRIES);
    }
}
