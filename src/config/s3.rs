//! The S3 source's bound: the largest object read, decompressed (S3_MAX_OBJECT_BYTES).

use super::ConfigError;
use super::parse::{invalid, parse_number};

pub(super) fn max_object_bytes(
    get: &impl Fn(&'static str) -> Option<String>,
) -> Result<usize, ConfigError> {
    Ok(match get("S3_MAX_OBJECT_BYTES") {
        None => crate::sources::DEFAULT_MAX_OBJECT_BYTES,
        Some(v) => match parse_number::<usize>("S3_MAX_OBJECT_BYTES", &v)? {
            0 => {
                return Err(invalid(
                    "S3_MAX_OBJECT_BYTES",
                    &v,
                    "use a number of bytes greater than 0 (the default is 1073741824, 1 GiB)",
                ));
            }
            n => n,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::config::tests::config;

    #[test]
    fn the_s3_object_bound_defaults_to_one_gib() {
        let c = config(&[("ORGANISATION", "Acme")]).unwrap();
        assert_eq!(c.max_object_bytes, 1 << 30);
        let c = config(&[("ORGANISATION", "Acme"), ("S3_MAX_OBJECT_BYTES", "5000000")]).unwrap();
        assert_eq!(c.max_object_bytes, 5_000_000);
    }
}
