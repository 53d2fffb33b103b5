//! Which detection rules tag CloudTrail records of ECR: DETECTIONS, DETECTIONS_DISABLE.

use crate::syslog::sanitize::is_sd_name;

use super::ConfigError;
use super::parse::{invalid, parse_bool};

/// Which detection rules tag CloudTrail records of ECR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetectionSettings {
    pub enabled: bool,
    /// Rule ids turned off (each a known rule).
    pub disabled: Vec<String>,
}

/// The detection settings; when detections are on, the SD-ID of their element, derived from the
/// configured SYSLOG_SD_ID (`sd_id`), must be a valid one.
pub(super) fn settings(
    get: &impl Fn(&'static str) -> Option<String>,
    sd_id: Option<&str>,
) -> Result<DetectionSettings, ConfigError> {
    let detections = DetectionSettings {
        enabled: match get("DETECTIONS") {
            None => true,
            Some(v) => parse_bool("DETECTIONS", &v)?,
        },
        disabled: match get("DETECTIONS_DISABLE") {
            None => Vec::new(),
            Some(v) => parse_rule_ids(&v)?,
        },
    };

    let detection_sd_id = crate::detections::sd_id(sd_id);
    if detections.enabled && !is_sd_name(&detection_sd_id) {
        return Err(invalid(
            "SYSLOG_SD_ID",
            sd_id.unwrap_or_default(),
            &format!(
                "the detection element's SD-ID derived from it, {detection_sd_id}, is longer than \
                 RFC 5424's 32 characters: use a name@number form with a private enterprise \
                 number (e.g. aws@32473)"
            ),
        ));
    }
    Ok(detections)
}

fn parse_rule_ids(value: &str) -> Result<Vec<String>, ConfigError> {
    let mut ids = Vec::new();
    for id in value.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        if !crate::detections::rule_ids().any(|known| known == id) {
            let known: Vec<&str> = crate::detections::rule_ids().collect();
            return Err(ConfigError::Invalid {
                var: "DETECTIONS_DISABLE",
                reason: format!(
                    "unknown rule id {id:?}; use comma-separated ids among {}",
                    known.join(", ")
                ),
            });
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use crate::config::DetectionSettings;
    use crate::config::tests::{config, error_var};

    #[test]
    fn detections_are_on_by_default_and_rules_can_be_turned_off() {
        let c = config(&[("ORGANISATION", "Acme")]).unwrap();
        assert_eq!(
            c.detections,
            DetectionSettings {
                enabled: true,
                disabled: Vec::new()
            }
        );
        let c = config(&[
            ("ORGANISATION", "Acme"),
            ("DETECTIONS", "False"),
            ("DETECTIONS_DISABLE", "ecr-image-pulled, ecr-image-pushed,"),
        ])
        .unwrap();
        assert!(!c.detections.enabled);
        assert_eq!(
            c.detections.disabled,
            vec!["ecr-image-pulled", "ecr-image-pushed"]
        );
        let err = config(&[
            ("ORGANISATION", "Acme"),
            ("DETECTIONS_DISABLE", "ecr-image-pulld"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("DETECTIONS_DISABLE"), "{err}");
        assert!(
            err.to_string().contains("ecr-image-pulled"),
            "lists the ids: {err}"
        );
        assert_eq!(
            error_var(&[("ORGANISATION", "Acme"), ("DETECTIONS", "yes")]),
            "DETECTIONS"
        );
    }
}
