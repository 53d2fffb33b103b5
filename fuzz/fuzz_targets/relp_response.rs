//! What a RELP receiver sends, as the client reads it: any bytes, in any two reads, give frames or
//! an error, never a panic; a frame taken is within the bounds, and encoding it gives bytes that
//! parse back to the same frame.

#![no_main]

use aws_syslog_forwarder::transport::relp::codec::{
    Decoder, MAX_RESPONSE_DATA, MAX_TXNR, Response, encode_frame, parse_frame, parse_response,
    printable,
};
use aws_syslog_forwarder::transport::relp::offers::check_server_offers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // The first byte picks where the stream is cut into two reads.
    let Some((&cut, stream)) = input.split_first() else {
        return;
    };
    let cut = usize::from(cut).min(stream.len());
    let mut decoder = Decoder::default();
    decoder.feed(&stream[..cut]);
    let mut frames = Vec::new();
    let mut failed = false;
    for part in [&stream[cut..], &[][..]] {
        loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => {
                    assert!(frame.txnr <= MAX_TXNR);
                    assert!(frame.data.len() <= MAX_RESPONSE_DATA);
                    assert!((1..=32).contains(&frame.command.len()));
                    if let Ok(Response::Status { body, text, .. }) = parse_response(frame.data) {
                        let _ = printable(text);
                        let _ = check_server_offers(body);
                    }
                    frames.push((frame.txnr, frame.command.to_vec(), frame.data.to_vec()));
                }
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
        }
        decoder.feed(part);
    }
    assert!(decoder.pending() <= stream.len());
    for (txnr, command, data) in &frames {
        let command = std::str::from_utf8(command).expect("a command is ASCII letters");
        let mut encoded = Vec::new();
        encode_frame(&mut encoded, *txnr, command, data).expect("a parsed frame encodes");
        let (again, length) = parse_frame(&encoded)
            .expect("an encoded frame parses")
            .expect("an encoded frame is complete");
        assert_eq!(length, encoded.len());
        assert_eq!(
            (again.txnr, again.command, again.data),
            (*txnr, command.as_bytes(), &data[..])
        );
    }
    if let Ok(Some((frame, length))) = parse_frame(stream) {
        assert!(length <= stream.len());
        assert_eq!(frame.txnr, frames.first().map_or(frame.txnr, |f| f.0));
    }
});
