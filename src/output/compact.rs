//! The JSON writer of the report lines: the bytes `serde_json::to_writer` would write, from a
//! serializer of our own whose strings (most of the report) are checked eight bytes at a time
//! and copied whole where nothing needs an escape; serde_json tests each byte.

use serde::Serialize;
use serde::ser;
use std::fmt;

/// Appends `value` as compact JSON to `out`.
pub fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

/// What cannot be written as JSON (a map key that is not a string or a number, a failing
/// `Serialize`).
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::other(e)
    }
}

/// Whether any of the 8 bytes of `word` needs an escape: a control character (below 0x20),
/// `"` or `\`. Bytes of 0x80 and above (UTF-8 beyond ASCII) never do.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Whether some byte of `v` is zero: the classic test, exact for whether any byte is,
    // though the bits it leaves do not say which. XOR with a repeated byte zeroes that byte.
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH != 0;
    // The same test for a byte below 0x20 (exact for any bound up to 0x80).
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
    below_space
        || zero_byte(word ^ (ONES * u64::from(b'"')))
        || zero_byte(word ^ (ONES * u64::from(b'\\')))
}

/// The bytes [`needs_escape`] looks for, one by one (strings of under 8 bytes, and the word
/// that holds an escape).
static NEEDS_ESCAPE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b == b'"' as usize || b == b'\\' as usize;
        b += 1;
    }
    table
};

/// Appends `s` as a JSON string, escaped as serde_json does: `\"`, `\\`, `\b`, `\f`, `\n`,
/// `\r`, `\t`, other control characters as `\u00XX` (lowercase hex), everything else as it is.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let len = bytes.len();
    out.reserve(len + 2);
    out.push(b'"');
    // Start of the bytes not yet copied.
    let mut run = 0;
    let mut escape_in = |out: &mut Vec<u8>, range: std::ops::Range<usize>| {
        for i in range {
            if NEEDS_ESCAPE[usize::from(bytes[i])] {
                out.extend_from_slice(&bytes[run..i]);
                write_escape(out, bytes[i]);
                run = i + 1;
            }
        }
    };
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        if needs_escape(u64::from_le_bytes(chunk.try_into().unwrap_or_default())) {
            escape_in(out, at..at + 8);
        }
        at += 8;
    }
    if at < len {
        // The last bytes of a string of 8 or more are checked in the word that ends with
        // them (overlapping bytes already checked); a shorter string goes byte by byte.
        let clean = len >= 8
            && !needs_escape(u64::from_le_bytes(
                bytes[len - 8..].try_into().unwrap_or_default(),
            ));
        if !clean {
            escape_in(out, at..len);
        }
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// The escape of a byte that needs one.
#[cold]
fn write_escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0C => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            let (high, low) = (HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]);
            out.extend_from_slice(&[b'\\', b'u', b'0', b'0', high, low]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

/// The `serialize_*` methods of every integer type, each calling the serializer's `integer`.
macro_rules! integer_methods {
    () => {
        integer_methods!(
            serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64,
            serialize_i128: i128, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
            serialize_u64: u64, serialize_u128: u128
        );
    };
    ($($method:ident: $ty:ty),*) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            self.integer(v)
        })*
    };
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
}

impl Writer<'_> {
    fn integer(&mut self, v: impl itoa::Integer) -> Result<(), Error> {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        Ok(())
    }

    /// Floats as serde_json writes them (`null` when not finite).
    fn float<F: Serialize>(&mut self, v: F) -> Result<(), Error> {
        serde_json::to_writer(&mut *self.out, &v).map_err(ser::Error::custom)
    }
}

/// A sequence or map being written: whether an element came yet.
pub struct Compound<'w, 'a> {
    writer: &'w mut Writer<'a>,
    first: bool,
    /// The closing bytes: `]`, `}`, or `]}` / `}}` for an enum variant's content.
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !self.first {
            self.writer.out.push(b',');
        }
        self.first = false;
    }

    fn key(&mut self, key: &str) {
        self.comma();
        let out = &mut *self.writer.out;
        // A struct's field names (most of the keys) are short and never need an escape: one
        // pass to check, one copy, instead of the word-at-a-time string writer.
        if key.len() <= 32 && key.bytes().all(|b| !NEEDS_ESCAPE[usize::from(b)]) {
            out.reserve(key.len() + 3);
            out.push(b'"');
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
        } else {
            write_str(out, key);
            out.push(b':');
        }
    }
}

impl<'w, 'a> ser::Serializer for &'w mut Writer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'w, 'a>;
    type SerializeTuple = Compound<'w, 'a>;
    type SerializeTupleStruct = Compound<'w, 'a>;
    type SerializeTupleVariant = Compound<'w, 'a>;
    type SerializeMap = Compound<'w, 'a>;
    type SerializeStruct = Compound<'w, 'a>;
    type SerializeStructVariant = Compound<'w, 'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integer_methods!();
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'[');
        Ok(Compound {
            writer: self,
            first: true,
            close: b"]",
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":[");
        Ok(Compound {
            writer: self,
            first: true,
            close: b"]}",
        })
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        Ok(Compound {
            writer: self,
            first: true,
            close: b"}",
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'w, 'a>, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w, 'a>, Error> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.extend_from_slice(b":{");
        Ok(Compound {
            writer: self,
            first: true,
            close: b"}}",
        })
    }
}

impl Compound<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.comma();
        value.serialize(&mut *self.writer)
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Error> {
        self.key(key);
        value.serialize(&mut *self.writer)
    }

    fn close(self) -> Result<(), Error> {
        self.writer.out.extend_from_slice(self.close);
        Ok(())
    }
}

/// The traits of sequences (each element by `$method`) and of structs (each field by name),
/// all written by [`Compound`].
macro_rules! compound_impls {
    ($($seq:ident::$method:ident),* ; $($fields:ident),*) => {
        $(impl ser::$seq for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.element(value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        })*
        $(impl ser::$fields for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Error> {
                self.close()
            }
        })*
    };
}

compound_impls!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field;
    SerializeStruct,
    SerializeStructVariant
);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        key.serialize(MapKey {
            out: &mut *self.writer.out,
        })?;
        self.writer.out.push(b':');
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.writer)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

/// A map key: strings as they are, numbers, booleans and characters quoted, as serde_json
/// writes them; anything else is an error.
struct MapKey<'a> {
    out: &'a mut Vec<u8>,
}

impl MapKey<'_> {
    fn quoted(self, text: &str) -> Result<(), Error> {
        write_str(self.out, text);
        Ok(())
    }

    fn integer(self, v: impl itoa::Integer) -> Result<(), Error> {
        self.quoted(itoa::Buffer::new().format(v))
    }

    fn refuse() -> Error {
        Error("key must be a string".to_owned())
    }
}

impl ser::Serializer for MapKey<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.quoted(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.quoted(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.quoted(if v { "true" } else { "false" })
    }
    integer_methods!();
    fn serialize_f32(self, _v: f32) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_f64(self, _v: f64) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_none(self) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.quoted(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<(), Error> {
        Err(Self::refuse())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Self::refuse())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Self::refuse())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Self::refuse())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Self::refuse())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Self::refuse())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Err(Self::refuse())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Self::refuse())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn ours<T: Serialize + ?Sized>(value: &T) -> String {
        let mut out = Vec::new();
        write(&mut out, value).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn every_escape_is_serde_jsons() {
        let all: String = (0u32..0x300).filter_map(char::from_u32).collect();
        for s in [
            "",
            "plain ascii text of some length",
            "\"",
            "\\",
            "a\"b\\c\u{7f}\u{1f}\u{0}\u{8}\u{c}\n\r\t",
            "Überall ☃ 日本語 🦀 with \"quotes\" inside a long run",
            &all,
        ] {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap());
        }
        // Every position of an escape within and across 8-byte chunks.
        for at in 0..20 {
            for esc in ['"', '\\', '\n', '\u{1}'] {
                let mut s: String = "x".repeat(19);
                s.insert(at, esc);
                assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        New(u8),
        Tuple(u8, String),
        Struct { a: i64, b: Option<f64> },
    }

    #[derive(Serialize)]
    struct Inner {
        x: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        y: Option<String>,
    }

    #[derive(Serialize)]
    struct Outer<'a> {
        #[serde(rename = "type")]
        kind: &'static str,
        #[serde(flatten)]
        inner: &'a Inner,
        shapes: Vec<Shape>,
        map: BTreeMap<String, u64>,
        numbers: BTreeMap<u16, bool>,
        floats: [f64; 5],
        pair: (i8, char),
        bytes: &'a [u8],
        unit: (),
    }

    #[test]
    fn every_shape_is_serde_jsons() {
        let value = Outer {
            kind: "session",
            inner: &Inner {
                x: 7,
                y: Some("y".into()),
            },
            shapes: vec![
                Shape::Unit,
                Shape::New(3),
                Shape::Tuple(1, "t".into()),
                Shape::Struct {
                    a: i64::MIN,
                    b: Some(0.1),
                },
                Shape::Struct { a: 1, b: None },
            ],
            map: [("k\"ey".to_owned(), u64::MAX), ("".to_owned(), 0)].into(),
            numbers: [(80, true), (443, false)].into(),
            floats: [0.0, -1.5, 1e300, f64::NAN, 123_456.789_012],
            pair: (-8, 'ç'),
            bytes: &[0, 255],
            unit: (),
        };
        assert_eq!(ours(&value), serde_json::to_string(&value).unwrap());
        let empty = Inner { x: 0, y: None };
        assert_eq!(ours(&empty), serde_json::to_string(&empty).unwrap());
        // Field names that need an escape, or are long, take the string writer.
        #[derive(Serialize)]
        struct Keys {
            #[serde(rename = "we\"ird\\key\n")]
            weird: u8,
            a_field_name_longer_than_thirty_two_bytes: u8,
            #[serde(rename = "ünïcode")]
            unicode: u8,
        }
        let keys = Keys {
            weird: 1,
            a_field_name_longer_than_thirty_two_bytes: 2,
            unicode: 3,
        };
        assert_eq!(ours(&keys), serde_json::to_string(&keys).unwrap());
    }

    #[test]
    fn keys_that_are_not_strings_or_numbers_are_refused() {
        let map: BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        assert!(write(&mut Vec::new(), &map).is_err());
        assert!(serde_json::to_string(&map).is_err());
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_does(s in any::<String>()) {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn ascii_with_controls_is_escaped_as_serde_json_does(s in "[\\x00-\\x7f]{0,40}") {
            prop_assert_eq!(ours(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
