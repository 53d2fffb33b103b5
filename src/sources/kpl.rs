//! Kinesis Producer Library (KPL) aggregated records: one Kinesis record that carries many user
//! records.
//!
//! An aggregated record's data is the magic [`KPL_MAGIC`], then a protobuf `AggregatedRecord`, then
//! the 16-byte MD5 digest of those protobuf bytes:
//!
//! ```text
//! message AggregatedRecord {
//!   repeated string partition_key_table = 1;
//!   repeated string explicit_hash_key_table = 2;
//!   repeated Record records = 3;
//! }
//! message Record {
//!   required uint64 partition_key_index = 1;
//!   optional uint64 explicit_hash_key_index = 2;
//!   required bytes data = 3;
//!   repeated Tag tags = 4;
//! }
//! message Tag { required string key = 1; optional string value = 2; }
//! ```
//!
//! Data without the magic is a plain record. [`deaggregate`] checks the digest and the whole message
//! before it gives out any user record, so a caller forwards all of an aggregate or none of it (the
//! KCL instead passes a record whose digest or protobuf is wrong on whole, as a plain record; that
//! choice is the caller's here). User records borrow their data and partition key from the input:
//! no data is copied, and the only allocation is the partition key table, one `&str` (16 bytes) per
//! key in it, each of which takes at least 2 bytes of the input.

// Hand-written, not prost: prost accepts proto2 messages that lack required fields (tokio-rs/prost#986),
// decodes every record into an owned buffer up front, and its errors cannot say which record is wrong.

use std::fmt;
use std::iter::FusedIterator;

use md5::{Digest, Md5};

/// The first four bytes of an aggregated record's data.
pub const KPL_MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];

/// The MD5 digest at the end of an aggregated record's data.
const DIGEST_LEN: usize = 16;

/// The largest protobuf field number (2^29 - 1).
const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// Whether `data` is a KPL aggregate: it starts with the magic and is long enough to hold the magic
/// and the digest. Anything else is a plain record.
pub fn is_aggregated(data: &[u8]) -> bool {
    data.len() >= KPL_MAGIC.len() + DIGEST_LEN && data.starts_with(&KPL_MAGIC)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KplError {
    #[error("KPL aggregate: the data does not start with the magic bytes F3 89 9A C2")]
    NoMagic,
    #[error("KPL aggregate: {bytes} bytes, too short for the magic and the 16-byte MD5 digest")]
    TooShort { bytes: usize },
    #[error("KPL aggregate: MD5 digest does not match")]
    Digest,
    #[error("KPL aggregate: malformed protobuf ({0})")]
    Malformed(Malformed),
}

/// What is wrong in the protobuf, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub place: Place,
    pub problem: Problem,
}

impl fmt::Display for Malformed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.place {
            Place::Aggregate => Ok(()),
            Place::PartitionKey(i) => write!(f, "partition key {i}: "),
            Place::ExplicitHashKey(i) => write!(f, "explicit hash key {i}: "),
            Place::Record(i) => write!(f, "record {i}: "),
            Place::Tag { record, tag } => write!(f, "record {record}, tag {tag}: "),
        }?;
        write!(f, "{}", self.problem)
    }
}

/// Where in the aggregate a problem is; indices count from 0 in the order of the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The `AggregatedRecord` itself (its field structure).
    Aggregate,
    PartitionKey(usize),
    ExplicitHashKey(usize),
    Record(usize),
    Tag {
        record: usize,
        tag: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    TruncatedVarint,
    /// A varint of more than 64 bits.
    VarintOverflow,
    InvalidFieldNumber(u64),
    /// Wire type 6 or 7, which protobuf does not define.
    InvalidWireType {
        field: u32,
        wire_type: u8,
    },
    /// Wire type 3 or 4: groups, which this format never holds.
    Group {
        field: u32,
        wire_type: u8,
    },
    WrongWireType {
        field: &'static str,
        found: u8,
        expected: u8,
    },
    /// A length-delimited or fixed-size field that runs past the end of its message.
    PastEnd {
        length: u64,
        left: usize,
    },
    MissingField(&'static str),
    IndexPastTable {
        field: &'static str,
        index: u64,
        table: usize,
    },
    InvalidUtf8,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Problem::TruncatedVarint => write!(f, "truncated varint"),
            Problem::VarintOverflow => write!(f, "varint over 64 bits"),
            Problem::InvalidFieldNumber(n) => write!(f, "invalid field number {n}"),
            Problem::InvalidWireType { field, wire_type } => {
                write!(f, "field {field} has invalid wire type {wire_type}")
            }
            Problem::Group { field, wire_type } => {
                write!(f, "field {field} has group wire type {wire_type}")
            }
            Problem::WrongWireType {
                field,
                found,
                expected,
            } => write!(f, "{field} has wire type {found}, expected {expected}"),
            Problem::PastEnd { length, left } => {
                write!(f, "field of {length} bytes past the end ({left} left)")
            }
            Problem::MissingField(field) => write!(f, "missing required {field}"),
            Problem::IndexPastTable {
                field,
                index,
                table,
            } => {
                let keys = if table == 1 { "key" } else { "keys" };
                write!(f, "{field} {index} past a table of {table} {keys}")
            }
            Problem::InvalidUtf8 => write!(f, "invalid UTF-8"),
        }
    }
}

fn malformed(place: Place, problem: Problem) -> KplError {
    KplError::Malformed(Malformed { place, problem })
}

/// The user records of one aggregate, checked whole; iterate them with [`Aggregate::records`].
#[derive(Debug, Clone)]
pub struct Aggregate<'a> {
    /// The protobuf `AggregatedRecord`, between the magic and the digest.
    message: &'a [u8],
    partition_keys: Vec<&'a str>,
    len: usize,
}

/// One user record of an aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserRecord<'a> {
    /// Its place among the aggregate's records, from 0 (the KCL's sub-sequence number).
    pub index: usize,
    pub partition_key: &'a str,
    pub data: &'a [u8],
}

impl<'a> Aggregate<'a> {
    /// How many user records it holds (0 for an empty aggregate).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The partition key table, in the order of the wire.
    pub fn partition_keys(&self) -> &[&'a str] {
        &self.partition_keys
    }

    /// The user records, in order.
    pub fn records(&self) -> Records<'_, 'a> {
        Records {
            fields: Fields::new(self.message),
            partition_keys: &self.partition_keys,
            index: 0,
            remaining: self.len,
        }
    }
}

impl<'s, 'a> IntoIterator for &'s Aggregate<'a> {
    type Item = UserRecord<'a>;
    type IntoIter = Records<'s, 'a>;

    fn into_iter(self) -> Records<'s, 'a> {
        self.records()
    }
}

/// The user records of an [`Aggregate`], decoded one at a time as they are taken.
#[derive(Debug, Clone)]
pub struct Records<'s, 'a> {
    fields: Fields<'a>,
    partition_keys: &'s [&'a str],
    index: usize,
    remaining: usize,
}

impl<'a> Iterator for Records<'_, 'a> {
    type Item = UserRecord<'a>;

    fn next(&mut self) -> Option<UserRecord<'a>> {
        while self.remaining > 0 {
            let parsed = match self.fields.next() {
                Some(Ok((RECORDS, Value::Bytes(bytes)))) => {
                    parse_record(bytes, self.partition_keys, usize::MAX).ok()
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => None,
            };
            // deaggregate checked every field and record, so this is never taken.
            let Some(parsed) = parsed else {
                self.remaining = 0;
                return None;
            };
            let record = UserRecord {
                index: self.index,
                partition_key: parsed.partition_key,
                data: parsed.data,
            };
            self.index += 1;
            self.remaining -= 1;
            return Some(record);
        }
        None
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Records<'_, '_> {}

impl FusedIterator for Records<'_, '_> {}

/// Checks an aggregated record's digest and its whole protobuf message, and gives its user records
/// (borrowed from `data`). An aggregate of no records is valid and gives none.
pub fn deaggregate(data: &[u8]) -> Result<Aggregate<'_>, KplError> {
    let Some(body) = data.strip_prefix(&KPL_MAGIC) else {
        return Err(KplError::NoMagic);
    };
    let Some(split) = body.len().checked_sub(DIGEST_LEN) else {
        return Err(KplError::TooShort { bytes: data.len() });
    };
    let (message, digest) = body.split_at(split);
    if Md5::digest(message).as_slice() != digest {
        return Err(KplError::Digest);
    }

    // The fields may come in any order, so the tables are complete only after a first pass.
    let (mut keys, mut explicit_hash_keys, mut records) = (0, 0, 0);
    for item in TopLevel::new(message) {
        match item? {
            Top::PartitionKey(_) => keys += 1,
            Top::ExplicitHashKey => explicit_hash_keys += 1,
            Top::Record(_) => records += 1,
            Top::Other => {}
        }
    }
    let mut partition_keys = Vec::with_capacity(keys);
    partition_keys.extend(TopLevel::new(message).filter_map(|item| match item {
        Ok(Top::PartitionKey(key)) => Some(key),
        _ => None,
    }));
    let record_bytes = TopLevel::new(message).filter_map(|item| match item {
        Ok(Top::Record(bytes)) => Some(bytes),
        _ => None,
    });
    for (index, bytes) in record_bytes.enumerate() {
        parse_record(bytes, &partition_keys, explicit_hash_keys).map_err(|(tag, problem)| {
            let place = match tag {
                Some(tag) => Place::Tag { record: index, tag },
                None => Place::Record(index),
            };
            malformed(place, problem)
        })?;
    }
    Ok(Aggregate {
        message,
        partition_keys,
        len: records,
    })
}

const PARTITION_KEY_TABLE: u32 = 1;
const EXPLICIT_HASH_KEY_TABLE: u32 = 2;
const RECORDS: u32 = 3;

const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LENGTH_DELIMITED: u8 = 2;
const FIXED32: u8 = 5;

/// A field's value as the wire gives it (fixed-size values are skipped unread: no field here has
/// one).
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32,
}

impl Value<'_> {
    fn wire_type(self) -> u8 {
        match self {
            Value::Varint(_) => VARINT,
            Value::Fixed64 => FIXED64,
            Value::Bytes(_) => LENGTH_DELIMITED,
            Value::Fixed32 => FIXED32,
        }
    }
}

/// The fields of one message, in wire order; after an error, nothing more.
#[derive(Debug, Clone)]
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    fn new(message: &'a [u8]) -> Fields<'a> {
        Fields { rest: message }
    }

    fn varint(&mut self) -> Result<u64, Problem> {
        let mut value = 0u64;
        for (i, &byte) in self.rest.iter().enumerate().take(10) {
            // The tenth byte holds the 64th bit alone.
            if i == 9 && byte > 1 {
                return Err(Problem::VarintOverflow);
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.rest = &self.rest[i + 1..];
                return Ok(value);
            }
        }
        Err(Problem::TruncatedVarint)
    }

    fn take(&mut self, length: u64) -> Result<&'a [u8], Problem> {
        match usize::try_from(length) {
            Ok(n) if n <= self.rest.len() => {
                let (taken, rest) = self.rest.split_at(n);
                self.rest = rest;
                Ok(taken)
            }
            _ => Err(Problem::PastEnd {
                length,
                left: self.rest.len(),
            }),
        }
    }

    fn field(&mut self) -> Result<(u32, Value<'a>), Problem> {
        let key = self.varint()?;
        let number = key >> 3;
        if number == 0 || number > MAX_FIELD_NUMBER {
            return Err(Problem::InvalidFieldNumber(number));
        }
        let field = number as u32;
        let wire_type = (key & 7) as u8;
        let value = match wire_type {
            VARINT => Value::Varint(self.varint()?),
            FIXED64 => {
                self.take(8)?;
                Value::Fixed64
            }
            LENGTH_DELIMITED => {
                let length = self.varint()?;
                Value::Bytes(self.take(length)?)
            }
            FIXED32 => {
                self.take(4)?;
                Value::Fixed32
            }
            3 | 4 => return Err(Problem::Group { field, wire_type }),
            _ => return Err(Problem::InvalidWireType { field, wire_type }),
        };
        Ok((field, value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), Problem>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = self.field();
        if field.is_err() {
            self.rest = &[];
        }
        Some(field)
    }
}

fn varint_field(name: &'static str, value: Value<'_>) -> Result<u64, Problem> {
    match value {
        Value::Varint(v) => Ok(v),
        other => Err(Problem::WrongWireType {
            field: name,
            found: other.wire_type(),
            expected: VARINT,
        }),
    }
}

fn bytes_field<'a>(name: &'static str, value: Value<'a>) -> Result<&'a [u8], Problem> {
    match value {
        Value::Bytes(bytes) => Ok(bytes),
        other => Err(Problem::WrongWireType {
            field: name,
            found: other.wire_type(),
            expected: LENGTH_DELIMITED,
        }),
    }
}

fn string_field<'a>(name: &'static str, value: Value<'a>) -> Result<&'a str, Problem> {
    std::str::from_utf8(bytes_field(name, value)?).map_err(|_| Problem::InvalidUtf8)
}

/// One field of the `AggregatedRecord`.
enum Top<'a> {
    PartitionKey(&'a str),
    ExplicitHashKey,
    /// A `Record` message, not yet decoded.
    Record(&'a [u8]),
    Other,
}

/// The fields of the `AggregatedRecord`, with the tables' strings checked.
struct TopLevel<'a> {
    fields: Fields<'a>,
    keys: usize,
    explicit_hash_keys: usize,
}

impl<'a> TopLevel<'a> {
    fn new(message: &'a [u8]) -> TopLevel<'a> {
        TopLevel {
            fields: Fields::new(message),
            keys: 0,
            explicit_hash_keys: 0,
        }
    }

    fn top(&mut self, field: Result<(u32, Value<'a>), Problem>) -> Result<Top<'a>, KplError> {
        let (number, value) = field.map_err(|p| malformed(Place::Aggregate, p))?;
        let wire = |p| malformed(Place::Aggregate, p);
        Ok(match number {
            PARTITION_KEY_TABLE => {
                bytes_field("partition_key_table", value).map_err(wire)?;
                let key = string_field("partition_key_table", value)
                    .map_err(|p| malformed(Place::PartitionKey(self.keys), p))?;
                self.keys += 1;
                Top::PartitionKey(key)
            }
            EXPLICIT_HASH_KEY_TABLE => {
                bytes_field("explicit_hash_key_table", value).map_err(wire)?;
                string_field("explicit_hash_key_table", value)
                    .map_err(|p| malformed(Place::ExplicitHashKey(self.explicit_hash_keys), p))?;
                self.explicit_hash_keys += 1;
                Top::ExplicitHashKey
            }
            RECORDS => Top::Record(bytes_field("records", value).map_err(wire)?),
            _ => Top::Other,
        })
    }
}

impl<'a> Iterator for TopLevel<'a> {
    type Item = Result<Top<'a>, KplError>;

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.fields.next()?;
        let top = self.top(field);
        if top.is_err() {
            self.fields.rest = &[];
        }
        Some(top)
    }
}

/// The fields of a `Record` that are used, its key resolved.
struct Parsed<'a> {
    partition_key: &'a str,
    data: &'a [u8],
}

/// Decodes and checks one `Record` against the tables; an error says which tag, if a tag's.
/// A field given twice takes its last value, as protobuf has it.
fn parse_record<'a>(
    bytes: &'a [u8],
    partition_keys: &[&'a str],
    explicit_hash_keys: usize,
) -> Result<Parsed<'a>, (Option<usize>, Problem)> {
    let (mut partition_key_index, mut explicit_hash_key_index, mut data) = (None, None, None);
    let mut tags = 0;
    for field in Fields::new(bytes) {
        let (number, value) = field.map_err(|p| (None, p))?;
        match number {
            1 => {
                partition_key_index =
                    Some(varint_field("partition_key_index", value).map_err(|p| (None, p))?);
            }
            2 => {
                explicit_hash_key_index =
                    Some(varint_field("explicit_hash_key_index", value).map_err(|p| (None, p))?);
            }
            3 => data = Some(bytes_field("data", value).map_err(|p| (None, p))?),
            4 => {
                let tag = bytes_field("tags", value).map_err(|p| (None, p))?;
                check_tag(tag).map_err(|p| (Some(tags), p))?;
                tags += 1;
            }
            _ => {}
        }
    }
    let partition_key_index =
        partition_key_index.ok_or((None, Problem::MissingField("partition_key_index")))?;
    let data = data.ok_or((None, Problem::MissingField("data")))?;
    let past = |field, index, table| {
        (
            None,
            Problem::IndexPastTable {
                field,
                index,
                table,
            },
        )
    };
    let Some(&partition_key) = usize::try_from(partition_key_index)
        .ok()
        .and_then(|i| partition_keys.get(i))
    else {
        return Err(past(
            "partition_key_index",
            partition_key_index,
            partition_keys.len(),
        ));
    };
    if let Some(index) = explicit_hash_key_index
        && !usize::try_from(index).is_ok_and(|i| i < explicit_hash_keys)
    {
        return Err(past("explicit_hash_key_index", index, explicit_hash_keys));
    }
    Ok(Parsed {
        partition_key,
        data,
    })
}

/// Checks one `Tag` message: a key, and strings of UTF-8.
fn check_tag(bytes: &[u8]) -> Result<(), Problem> {
    let mut key = false;
    for field in Fields::new(bytes) {
        let (number, value) = field?;
        match number {
            1 => {
                string_field("key", value)?;
                key = true;
            }
            2 => {
                string_field("value", value)?;
            }
            _ => {}
        }
    }
    if key {
        Ok(())
    } else {
        Err(Problem::MissingField("key"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The messages as the KPL's own `.proto` declares them, for prost to encode (and, in the
    /// differential property, to decode) independently of the decoder under test.
    mod pb {
        #[derive(Clone, PartialEq, prost::Message)]
        pub struct AggregatedRecord {
            #[prost(string, repeated, tag = "1")]
            pub partition_key_table: Vec<String>,
            #[prost(string, repeated, tag = "2")]
            pub explicit_hash_key_table: Vec<String>,
            #[prost(message, repeated, tag = "3")]
            pub records: Vec<Record>,
        }

        #[derive(Clone, PartialEq, prost::Message)]
        pub struct Record {
            #[prost(uint64, required, tag = "1")]
            pub partition_key_index: u64,
            #[prost(uint64, optional, tag = "2")]
            pub explicit_hash_key_index: Option<u64>,
            #[prost(bytes = "vec", required, tag = "3")]
            pub data: Vec<u8>,
            #[prost(message, repeated, tag = "4")]
            pub tags: Vec<Tag>,
        }

        #[derive(Clone, PartialEq, prost::Message)]
        pub struct Tag {
            #[prost(string, required, tag = "1")]
            pub key: String,
            #[prost(string, optional, tag = "2")]
            pub value: Option<String>,
        }
    }

    /// Magic, `message`, and the digest of `message`: an aggregated record's data.
    fn frame(message: &[u8]) -> Vec<u8> {
        let mut data = KPL_MAGIC.to_vec();
        data.extend_from_slice(message);
        data.extend_from_slice(&Md5::digest(message));
        data
    }

    fn encode(aggregate: &pb::AggregatedRecord) -> Vec<u8> {
        frame(&prost::Message::encode_to_vec(aggregate))
    }

    // A tiny encoder for what prost will not write: unknown fields, wrong wire types, bad lengths.
    fn varint(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    }

    fn key(field: u32, wire_type: u8) -> Vec<u8> {
        varint(u64::from(field) << 3 | u64::from(wire_type))
    }

    fn vint(field: u32, v: u64) -> Vec<u8> {
        [key(field, VARINT), varint(v)].concat()
    }

    fn ld(field: u32, bytes: &[u8]) -> Vec<u8> {
        [
            key(field, LENGTH_DELIMITED),
            varint(bytes.len() as u64),
            bytes.to_vec(),
        ]
        .concat()
    }

    fn fixed64(field: u32) -> Vec<u8> {
        [key(field, FIXED64), vec![0xAB; 8]].concat()
    }

    fn fixed32(field: u32) -> Vec<u8> {
        [key(field, FIXED32), vec![0xCD; 4]].concat()
    }

    /// A `Record` with a partition key index and data.
    fn record(index: u64, data: &[u8]) -> Vec<u8> {
        [vint(1, index), ld(3, data)].concat()
    }

    fn collect(data: &[u8]) -> Vec<(usize, String, Vec<u8>)> {
        deaggregate(data)
            .unwrap()
            .records()
            .map(|r| (r.index, r.partition_key.to_owned(), r.data.to_vec()))
            .collect()
    }

    fn error(message: &[u8]) -> String {
        deaggregate(&frame(message)).unwrap_err().to_string()
    }

    #[test]
    fn plain_records_are_not_aggregates() {
        assert!(!is_aggregated(b""));
        assert!(!is_aggregated(br#"{"user":"alice"}"#));
        assert!(!is_aggregated(&[0x1f, 0x8b, 8, 0]));
        // The magic alone, or with less than a digest after it, is a plain record.
        let mut short = KPL_MAGIC.to_vec();
        short.extend_from_slice(&[0; 15]);
        assert!(!is_aggregated(&KPL_MAGIC));
        assert!(!is_aggregated(&short));
        assert!(is_aggregated(&frame(b"")));
        assert!(matches!(deaggregate(b"plain text"), Err(KplError::NoMagic)));
        assert!(matches!(
            deaggregate(&short),
            Err(KplError::TooShort { bytes: 19 })
        ));
        assert_eq!(
            deaggregate(&short).unwrap_err().to_string(),
            "KPL aggregate: 19 bytes, too short for the magic and the 16-byte MD5 digest"
        );
    }

    #[test]
    fn records_share_the_key_table_in_order_and_borrow_the_input() {
        let aggregate = pb::AggregatedRecord {
            partition_key_table: vec!["alpha".into(), "beta".into()],
            explicit_hash_key_table: vec!["170141183460469231731687303715884105728".into()],
            records: [(0, "one"), (1, "two"), (0, "three"), (1, ""), (1, "five")]
                .into_iter()
                .enumerate()
                .map(|(i, (key, data))| pb::Record {
                    partition_key_index: key,
                    explicit_hash_key_index: (i == 2).then_some(0),
                    data: data.as_bytes().to_vec(),
                    tags: vec![pb::Tag {
                        key: "k".into(),
                        value: (i % 2 == 0).then(|| "v".into()),
                    }],
                })
                .collect(),
        };
        let data = encode(&aggregate);
        assert!(is_aggregated(&data));
        let decoded = deaggregate(&data).unwrap();
        assert_eq!(decoded.len(), 5);
        assert_eq!(decoded.partition_keys(), ["alpha", "beta"]);
        let records: Vec<UserRecord> = decoded.records().collect();
        let expected = [
            ("alpha", "one"),
            ("beta", "two"),
            ("alpha", "three"),
            ("beta", ""),
            ("beta", "five"),
        ];
        assert_eq!(records.len(), expected.len());
        for (i, (record, (key, text))) in records.iter().zip(expected).enumerate() {
            assert_eq!(record.index, i);
            assert_eq!(record.partition_key, key);
            assert_eq!(record.data, text.as_bytes());
            // Borrowed from the input, not copied.
            assert!(data.as_ptr_range().contains(&record.data.as_ptr()) || record.data.is_empty());
            assert!(data.as_ptr_range().contains(&record.partition_key.as_ptr()));
        }
        // The iterator knows its length and can be taken again.
        let mut again = (&decoded).into_iter();
        assert_eq!(again.len(), 5);
        again.next();
        assert_eq!(again.size_hint(), (4, Some(4)));
        assert_eq!(again.count(), 4);
    }

    #[test]
    fn an_empty_aggregate_has_no_records() {
        let data = frame(b"");
        let decoded = deaggregate(&data).unwrap();
        assert!(decoded.is_empty());
        assert_eq!(decoded.records().next(), None);
        // A key table with no records is empty too.
        let data = frame(&ld(1, b"unused"));
        let decoded = deaggregate(&data).unwrap();
        assert_eq!(
            (decoded.len(), decoded.partition_keys()),
            (0, &["unused"][..])
        );
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped_at_every_level() {
        let unknown = |field| {
            [
                vint(field, u64::MAX),
                fixed64(field + 1),
                ld(field + 2, b"\xff\xfe not even UTF-8"),
                fixed32(field + 3),
            ]
            .concat()
        };
        let tag = [unknown(10), ld(1, b"key"), unknown(20), ld(2, b"value")].concat();
        let first = [
            unknown(5),
            vint(1, 1),
            unknown(9),
            ld(4, &tag),
            ld(3, b"first"),
            unknown(536_870_908),
        ]
        .concat();
        let message = [
            unknown(4),
            ld(3, &first),
            ld(1, b"a"),
            unknown(100),
            ld(3, &record(0, b"second")),
            ld(1, b"b"),
            unknown(1_000_000),
        ]
        .concat();
        assert_eq!(
            collect(&frame(&message)),
            [
                (0, "b".to_owned(), b"first".to_vec()),
                (1, "a".to_owned(), b"second".to_vec())
            ]
        );
    }

    #[test]
    fn a_field_given_twice_takes_its_last_value() {
        let twice = [vint(1, 5), ld(3, b"old"), vint(1, 1), ld(3, b"new")].concat();
        let message = [ld(1, b"a"), ld(1, b"b"), ld(3, &twice)].concat();
        assert_eq!(
            collect(&frame(&message)),
            [(0, "b".to_owned(), b"new".to_vec())]
        );
        // Only the last index has to be within the table.
        let twice = [record(0, b"x"), vint(2, 9), vint(2, 0)].concat();
        let message = [ld(1, b"a"), ld(2, b"1"), ld(3, &twice)].concat();
        assert_eq!(collect(&frame(&message)).len(), 1);
    }

    #[test]
    fn a_wrong_digest_is_refused() {
        let mut data = frame(&[ld(1, b"a"), ld(3, &record(0, b"x"))].concat());
        let last = data.len() - 1;
        data[last] ^= 1;
        assert_eq!(deaggregate(&data).unwrap_err(), KplError::Digest);
        assert_eq!(
            KplError::Digest.to_string(),
            "KPL aggregate: MD5 digest does not match"
        );
        // A change in the message is caught by the digest too.
        let mut data = frame(&[ld(1, b"a"), ld(3, &record(0, b"x"))].concat());
        data[6] ^= 0x20;
        assert_eq!(deaggregate(&data).unwrap_err(), KplError::Digest);
    }

    #[test]
    fn each_malformation_is_named_with_its_place() {
        let key_a = ld(1, b"a");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            // Varints.
            (vec![0x80], "truncated varint"),
            (
                [key_a.clone(), vec![0x1a, 0xff]].concat(),
                "truncated varint",
            ),
            (
                [key(9, VARINT), vec![0xff; 9], vec![0x02]].concat(),
                "varint over 64 bits",
            ),
            (
                [key(9, VARINT), vec![0xff; 10]].concat(),
                "varint over 64 bits",
            ),
            (
                ld(3, &[vec![0x08], vec![0x80; 3]].concat()),
                "record 0: truncated varint",
            ),
            // Field numbers and wire types.
            (vec![0x00, 0x00], "invalid field number 0"),
            (varint(1 << 32), "invalid field number 536870912"),
            (vec![0x0e], "field 1 has invalid wire type 6"),
            (vec![0x3f], "field 7 has invalid wire type 7"),
            (key(5, 3), "field 5 has group wire type 3"),
            ([key(5, 4)].concat(), "field 5 has group wire type 4"),
            (
                ld(3, &[record(0, b"x"), key(9, 3)].concat()),
                "record 0: field 9 has group wire type 3",
            ),
            (
                vint(1, 3),
                "partition_key_table has wire type 0, expected 2",
            ),
            (
                fixed32(2),
                "explicit_hash_key_table has wire type 5, expected 2",
            ),
            (fixed64(3), "records has wire type 1, expected 2"),
            (
                [key_a.clone(), ld(3, &[ld(1, b"0"), ld(3, b"x")].concat())].concat(),
                "record 0: partition_key_index has wire type 2, expected 0",
            ),
            (
                [
                    key_a.clone(),
                    ld(3, &[record(0, b"x"), fixed64(2)].concat()),
                ]
                .concat(),
                "record 0: explicit_hash_key_index has wire type 1, expected 0",
            ),
            (
                [key_a.clone(), ld(3, &[vint(1, 0), vint(3, 7)].concat())].concat(),
                "record 0: data has wire type 0, expected 2",
            ),
            (
                [
                    key_a.clone(),
                    ld(3, &[record(0, b"x"), vint(4, 1)].concat()),
                ]
                .concat(),
                "record 0: tags has wire type 0, expected 2",
            ),
            (
                [
                    key_a.clone(),
                    ld(3, &record(0, b"x")),
                    ld(3, &[record(0, b"x"), ld(4, &vint(1, 1))].concat()),
                ]
                .concat(),
                "record 1, tag 0: key has wire type 0, expected 2",
            ),
            // Lengths.
            (
                [key(1, LENGTH_DELIMITED), varint(10), b"abc".to_vec()].concat(),
                "field of 10 bytes past the end (3 left)",
            ),
            (
                [key(1, LENGTH_DELIMITED), varint(u64::MAX)].concat(),
                "field of 18446744073709551615 bytes past the end (0 left)",
            ),
            (
                [key(9, FIXED64), vec![0; 7]].concat(),
                "field of 8 bytes past the end (7 left)",
            ),
            (
                [key(9, FIXED32), vec![0; 3]].concat(),
                "field of 4 bytes past the end (3 left)",
            ),
            (
                [
                    key_a.clone(),
                    ld(
                        3,
                        &[
                            vint(1, 0),
                            key(3, LENGTH_DELIMITED),
                            varint(5),
                            b"ab".to_vec(),
                        ]
                        .concat(),
                    ),
                ]
                .concat(),
                "record 0: field of 5 bytes past the end (2 left)",
            ),
            // Required fields.
            (
                [key_a.clone(), ld(3, &ld(3, b"x"))].concat(),
                "record 0: missing required partition_key_index",
            ),
            (
                [key_a.clone(), ld(3, &vint(1, 0))].concat(),
                "record 0: missing required data",
            ),
            (
                [key_a.clone(), ld(3, b"")].concat(),
                "record 0: missing required partition_key_index",
            ),
            (
                [
                    key_a.clone(),
                    ld(
                        3,
                        &[record(0, b"x"), ld(4, &ld(1, b"k")), ld(4, &ld(2, b"v"))].concat(),
                    ),
                ]
                .concat(),
                "record 0, tag 1: missing required key",
            ),
            // Indices.
            (
                [
                    key_a.clone(),
                    ld(1, b"b"),
                    ld(3, &record(0, b"x")),
                    ld(3, &record(1, b"x")),
                    ld(3, &record(0, b"x")),
                    ld(3, &record(7, b"x")),
                ]
                .concat(),
                "record 3: partition_key_index 7 past a table of 2 keys",
            ),
            (
                ld(3, &record(0, b"x")),
                "record 0: partition_key_index 0 past a table of 0 keys",
            ),
            (
                [key_a.clone(), ld(3, &record(u64::MAX, b"x"))].concat(),
                "record 0: partition_key_index 18446744073709551615 past a table of 1 key",
            ),
            (
                [
                    key_a.clone(),
                    ld(3, &[record(0, b"x"), vint(2, 0)].concat()),
                ]
                .concat(),
                "record 0: explicit_hash_key_index 0 past a table of 0 keys",
            ),
            // UTF-8.
            (
                [key_a.clone(), ld(1, b"\xc3\x28")].concat(),
                "partition key 1: invalid UTF-8",
            ),
            (
                [ld(2, b"1"), ld(2, b"2"), ld(2, b"\xff")].concat(),
                "explicit hash key 2: invalid UTF-8",
            ),
            (
                [
                    key_a.clone(),
                    ld(
                        3,
                        &[record(0, b"x"), ld(4, &ld(1, b"\xed\xa0\x80"))].concat(),
                    ),
                ]
                .concat(),
                "record 0, tag 0: invalid UTF-8",
            ),
            (
                [
                    key_a.clone(),
                    ld(
                        3,
                        &[
                            record(0, b"x"),
                            ld(4, &[ld(1, b"k"), ld(2, b"\x80")].concat()),
                        ]
                        .concat(),
                    ),
                ]
                .concat(),
                "record 0, tag 0: invalid UTF-8",
            ),
        ];
        for (message, expected) in cases {
            assert_eq!(
                error(&message),
                format!("KPL aggregate: malformed protobuf ({expected})"),
                "{message:02x?}"
            );
        }
    }

    #[test]
    fn errors_are_typed_too() {
        let message = [ld(1, b"a"), ld(3, &[record(0, b"x"), vint(2, 3)].concat())].concat();
        assert_eq!(
            deaggregate(&frame(&message)).unwrap_err(),
            KplError::Malformed(Malformed {
                place: Place::Record(0),
                problem: Problem::IndexPastTable {
                    field: "explicit_hash_key_index",
                    index: 3,
                    table: 0
                },
            })
        );
    }

    #[test]
    fn a_malformed_record_anywhere_fails_the_whole_aggregate() {
        // Two good records before the bad one: none is given out.
        let message = [
            ld(1, b"a"),
            ld(3, &record(0, b"x")),
            ld(3, &record(0, b"y")),
            ld(3, &vint(1, 0)),
        ]
        .concat();
        assert!(deaggregate(&frame(&message)).is_err());
        // The key table may follow the records that use it.
        let message = [ld(3, &record(1, b"x")), ld(1, b"a"), ld(1, b"b")].concat();
        assert_eq!(
            collect(&frame(&message)),
            [(0, "b".to_owned(), b"x".to_vec())]
        );
    }

    fn arb_record(keys: usize, hash_keys: usize) -> impl Strategy<Value = pb::Record> {
        let tag = ("\\PC{0,8}", proptest::option::of("\\PC{0,8}"))
            .prop_map(|(key, value)| pb::Tag { key, value });
        (
            0..keys as u64,
            if hash_keys == 0 {
                Just(None).boxed()
            } else {
                proptest::option::of(0..hash_keys as u64).boxed()
            },
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(tag, 0..3),
        )
            .prop_map(
                |(partition_key_index, explicit_hash_key_index, data, tags)| pb::Record {
                    partition_key_index,
                    explicit_hash_key_index,
                    data,
                    tags,
                },
            )
    }

    fn arb_aggregate() -> impl Strategy<Value = pb::AggregatedRecord> {
        (
            proptest::collection::vec("\\PC{0,12}", 1..6),
            proptest::collection::vec("[0-9]{1,39}", 0..3),
        )
            .prop_flat_map(|(keys, hash_keys)| {
                let records =
                    proptest::collection::vec(arb_record(keys.len(), hash_keys.len()), 0..12);
                (Just(keys), Just(hash_keys), records)
            })
            .prop_map(|(partition_key_table, explicit_hash_key_table, records)| {
                pb::AggregatedRecord {
                    partition_key_table,
                    explicit_hash_key_table,
                    records,
                }
            })
    }

    /// What a decoded aggregate must satisfy whatever the input.
    fn check_consistent(data: &[u8], decoded: &Aggregate) {
        let records: Vec<UserRecord> = decoded.records().collect();
        assert_eq!(records.len(), decoded.len());
        for (i, record) in records.iter().enumerate() {
            assert_eq!(record.index, i);
            assert!(decoded.partition_keys().contains(&record.partition_key));
            let inside = data.as_ptr_range();
            let end = record.data.as_ptr_range().end;
            assert!(inside.start <= record.data.as_ptr() && end <= inside.end);
        }
    }

    proptest! {
        #[test]
        fn encoded_aggregates_decode_to_their_records(aggregate in arb_aggregate()) {
            let data = encode(&aggregate);
            let decoded = deaggregate(&data).unwrap();
            prop_assert_eq!(decoded.len(), aggregate.records.len());
            prop_assert_eq!(decoded.partition_keys(), &aggregate.partition_key_table[..]);
            for (user, original) in decoded.records().zip(&aggregate.records) {
                let key = &aggregate.partition_key_table[original.partition_key_index as usize];
                prop_assert_eq!(user.partition_key, key);
                prop_assert_eq!(user.data, &original.data[..]);
            }
        }

        #[test]
        fn random_bytes_after_the_magic_never_panic(
            body in proptest::collection::vec(any::<u8>(), 0..256),
        ) {
            // As they come (almost always a digest mismatch), and with a digest that matches.
            let raw = [&KPL_MAGIC[..], &body].concat();
            if let Ok(decoded) = deaggregate(&raw) {
                check_consistent(&raw, &decoded);
            }
            let framed = frame(&body);
            if let Ok(decoded) = deaggregate(&framed) {
                check_consistent(&framed, &decoded);
            }
        }

        /// Damaged encodings, decoded here and by prost: what this decoder accepts, prost accepts
        /// with the same records (prost is laxer: it skips groups and does not check required
        /// fields or indices).
        #[test]
        fn damaged_aggregates_decode_as_prost_does_or_fail(
            aggregate in arb_aggregate(),
            damage in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
            cut in any::<prop::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let mut message = prost::Message::encode_to_vec(&aggregate);
            if !message.is_empty() {
                for (at, byte) in &damage {
                    let at = at.index(message.len());
                    message[at] = *byte;
                }
                if truncate {
                    message.truncate(cut.index(message.len()));
                }
            }
            let data = frame(&message);
            let ours = deaggregate(&data);
            let theirs = <pb::AggregatedRecord as prost::Message>::decode(&message[..]);
            if let Ok(decoded) = ours {
                check_consistent(&data, &decoded);
                let theirs = theirs.expect("prost decodes what this decoder accepts");
                prop_assert_eq!(decoded.partition_keys(), &theirs.partition_key_table[..]);
                prop_assert_eq!(decoded.len(), theirs.records.len());
                for (user, record) in decoded.records().zip(&theirs.records) {
                    let key = &theirs.partition_key_table[record.partition_key_index as usize];
                    prop_assert_eq!(user.partition_key, key);
                    prop_assert_eq!(user.data, &record.data[..]);
                }
            }
        }
    }
}
