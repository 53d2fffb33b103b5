//! The KPL de-aggregator on arbitrary Kinesis record data: any bytes give user records or an error,
//! never a panic; the records given lie inside the input, in order, with keys from its table, and an
//! error is one short line. The first byte picks whether the rest is the data as sent (almost always
//! a digest mismatch) or a protobuf message to frame with the magic and its MD5 digest, so the
//! fuzzer reaches the decoder.

#![no_main]

use aws_syslog_forwarder::sources::kpl::{self, KplError};
use libfuzzer_sys::fuzz_target;
use md5::{Digest, Md5};

fuzz_target!(|input: &[u8]| {
    let Some((&mode, rest)) = input.split_first() else {
        return;
    };
    let data = if mode % 2 == 0 {
        rest.to_vec()
    } else {
        [&kpl::KPL_MAGIC[..], rest, &Md5::digest(rest)[..]].concat()
    };
    let aggregated = kpl::is_aggregated(&data);
    match kpl::deaggregate(&data) {
        Ok(aggregate) => {
            assert!(aggregated);
            let inside = data.as_ptr_range();
            let mut taken = 0;
            for (i, record) in aggregate.records().enumerate() {
                assert_eq!(record.index, i);
                assert!(aggregate.partition_keys().contains(&record.partition_key));
                let span = record.data.as_ptr_range();
                assert!(inside.start <= span.start && span.end <= inside.end);
                taken += 1;
            }
            assert_eq!(taken, aggregate.len());
        }
        Err(error) => {
            if !aggregated {
                assert!(matches!(error, KplError::NoMagic | KplError::TooShort { .. }));
            }
            let message = error.to_string();
            assert!(message.starts_with("KPL aggregate: ") && message.len() <= 200, "{message}");
        }
    }
});
