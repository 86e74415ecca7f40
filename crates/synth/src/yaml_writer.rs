//! The manifest's YAML writer: any [`Serialize`] value as block-style YAML, byte for byte what
//! `serde_saphyr::to_fmt_writer` writes with its default options, several times faster
//! ([ADR 0006](../../../docs/decisions/0006-yaml-writer.md)).
//!
//! serde-saphyr's serializer handles anchors, tags, comments, flow styles and block-string
//! wrappers through one state machine of pending flags; a manifest needs none of it, and that
//! generality cost more than a third of `synth`'s instructions. This writer keeps only the layout
//! a manifest uses: block mappings and sequences (compact sequences under keys, `- key: value`
//! items), `{}` / `[]` for empty collections, plain or double-quoted scalars, literal blocks (`|`)
//! for multi-line text and folded blocks (`>`) for long lines. Its quoting rules are
//! serde-saphyr's ([`quoting`]). A value with anything else (a float, a mapping key longer than
//! 1,024 characters, a non-scalar key, bytes, tuple or struct enum variants, serde-saphyr's own
//! wrapper types) is handed to serde-saphyr whole, so the output never differs.
//!
//! Shared plumbing of the crate, public for its property tests (`tests/yaml_writer.rs`, which
//! hold it to serde-saphyr's output) and hidden from the documentation: not API.

mod quoting;

use serde::ser::{self, Serialize};
use std::fmt::{self, Write as _};

/// Why a value could not be written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The value's `Serialize` implementation failed (or serde-saphyr, for a value handed to it).
    #[error("{0}")]
    Serialize(String),
}

/// Appends the YAML text of `value` to `out`: exactly what `serde_saphyr::to_fmt_writer(out,
/// value)` appends. On error `out` is left as it was.
pub fn write<T: Serialize>(out: &mut String, value: &T) -> Result<(), WriteError> {
    let start = out.len();
    let result = value.serialize(&mut Emitter {
        out: &mut *out,
        slot: Slot::Root,
    });
    match result {
        Ok(()) => Ok(()),
        Err(Error::Unsupported) => {
            out.truncate(start);
            serde_saphyr::to_fmt_writer(&mut *out, value).map_err(|e| {
                out.truncate(start);
                WriteError::Serialize(e.to_string())
            })
        }
        Err(Error::Custom(message)) => {
            out.truncate(start);
            Err(WriteError::Serialize(message))
        }
    }
}

/// `write` into a new string.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, WriteError> {
    let mut out = String::new();
    write(&mut out, value)?;
    Ok(out)
}

/// The serializer's error: a shape this writer leaves to serde-saphyr, or a failure of the
/// value's own `Serialize` implementation.
#[derive(Debug)]
enum Error {
    Unsupported,
    Custom(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unsupported => f.write_str("a shape left to serde-saphyr"),
            Error::Custom(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Error::Custom(msg.to_string())
    }
}

/// Where the next value goes; every layout decision depends on this alone.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// The document itself, at column 0.
    Root,
    /// After `key:` (no space yet), the key at column `key`.
    Value { key: usize },
    /// After `- `, the dash at column `dash`.
    Item { dash: usize },
}

impl Slot {
    /// The column a block scalar's indentation is measured from (its body is two further in).
    fn parent_column(self) -> usize {
        match self {
            Slot::Root => 0,
            Slot::Value { key } => key,
            Slot::Item { dash } => dash,
        }
    }

    /// The column of the keys of a mapping in this slot.
    fn map_keys(self) -> usize {
        match self {
            Slot::Root => 0,
            Slot::Value { key } => key + 2,
            Slot::Item { dash } => dash + 2,
        }
    }

    /// The column of the dashes of a sequence in this slot: under a key, the key's own column
    /// (serde-saphyr's `compact_list_indent`).
    fn seq_dashes(self) -> usize {
        match self {
            Slot::Root => 0,
            Slot::Value { key } => key,
            Slot::Item { dash } => dash + 2,
        }
    }
}

/// Folded block lines are wrapped at this many characters (serde-saphyr's
/// `folded_wrap_chars`), and single-line strings longer than this are folded.
const FOLD_WIDTH: usize = 80;

/// Mapping keys longer than this (in characters) need YAML's explicit `? key` form.
const SIMPLE_KEY_MAX: usize = 1024;

struct Emitter<'a> {
    out: &'a mut String,
    slot: Slot,
}

impl Emitter<'_> {
    fn indent(&mut self, columns: usize) {
        const SPACES: &str = "                                                                ";
        let mut left = columns;
        while left > 0 {
            let n = left.min(SPACES.len());
            self.out.push_str(&SPACES[..n]);
            left -= n;
        }
    }

    /// A scalar's text on the current line, then the line's end.
    fn scalar(&mut self, text: &str) {
        if let Slot::Value { .. } = self.slot {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn string(&mut self, v: &str) {
        // serde-saphyr picks a block style first: literal for multi-line text a block scalar can
        // hold, folded for long single lines that could be plain.
        if v.contains('\n') {
            if quoting::block_safe(v) {
                return self.literal(v);
            }
        } else if v.len() > FOLD_WIDTH {
            let probe = v.trim_end_matches(' ');
            if !probe.is_empty() && quoting::plain_value(probe) && v.chars().count() > FOLD_WIDTH {
                if quoting::block_safe(v) {
                    return self.folded(v);
                }
                return self.double_quoted(v);
            }
        }
        if let Slot::Value { .. } = self.slot {
            self.out.push(' ');
        }
        if matches!(v, "." | "#" | "-") {
            // serde-saphyr's special case: these three single-quoted.
            self.out.push('\'');
            self.out.push_str(v);
            self.out.push('\'');
        } else if quoting::plain_value(v) {
            self.out.push_str(v);
        } else {
            quoting::push_double_quoted(self.out, v);
        }
        self.out.push('\n');
    }

    fn double_quoted(&mut self, v: &str) {
        if let Slot::Value { .. } = self.slot {
            self.out.push(' ');
        }
        quoting::push_double_quoted(self.out, v);
        self.out.push('\n');
    }

    /// `|`, `|-` or `|+` (chomping from the trailing newlines), an indentation indicator when the
    /// text starts with spaces, then the lines two columns past the parent.
    fn literal(&mut self, v: &str) {
        let body = self.slot.parent_column() + 2;
        if let Slot::Value { .. } = self.slot {
            self.out.push(' ');
        }
        let content = v.trim_end_matches('\n');
        let trailing = v.len() - content.len();
        self.out.push('|');
        if quoting::first_line_leading_spaces(content) > 0 {
            self.out.push('2');
        }
        match trailing {
            0 => self.out.push('-'),
            1 if !content.is_empty() => {}
            _ => self.out.push('+'),
        }
        self.out.push('\n');
        if content.is_empty() {
            for _ in 0..trailing {
                self.out.push('\n');
            }
            return;
        }
        for line in content.split('\n') {
            if !line.is_empty() {
                self.indent(body);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
        for _ in 1..trailing {
            self.out.push('\n');
        }
    }

    /// `>-` and the line wrapped at runs of spaces (serde-saphyr's `write_folded_block`: a run
    /// of n spaces at a break keeps n - 1 at the end of the line, the fold adds the last one;
    /// no break before a tab, which would make the next line more-indented).
    fn folded(&mut self, v: &str) {
        let body = self.slot.parent_column() + 2;
        if let Slot::Value { .. } = self.slot {
            self.out.push(' ');
        }
        self.out.push('>');
        if quoting::first_line_leading_spaces(v) > 0 {
            self.out.push('2');
        }
        self.out.push_str("-\n");
        let mut start = 0;
        let mut col = 0;
        // (start, end, length in characters) of the last run of spaces that may be a break.
        let mut last_run: Option<(usize, usize, usize)> = None;
        let mut run: Option<(usize, usize)> = None;
        let mut prev_end = 0;
        for (i, ch) in v.char_indices() {
            if let Some((run_start, run_len)) = run
                && ch != ' '
            {
                if ch != '\t' {
                    last_run = Some((run_start, prev_end, run_len));
                }
                run = None;
            }
            if ch == ' ' {
                run = Some(match run {
                    Some((run_start, run_len)) => (run_start, run_len + 1),
                    None => (i, 1),
                });
            }
            col += 1;
            if col > FOLD_WIDTH {
                let Some((ws_start, ws_end, ws_len)) = last_run else {
                    break;
                };
                self.indent(body);
                self.out.push_str(&v[start..ws_start]);
                self.indent(ws_len - 1);
                self.out.push('\n');
                start = ws_end;
                col = 0;
                last_run = None;
            }
            prev_end = i + ch.len_utf8();
        }
        self.indent(body);
        self.out.push_str(&v[start..]);
        self.out.push('\n');
    }

    fn number(&mut self, v: impl fmt::Display) -> Result<(), Error> {
        if let Slot::Value { .. } = self.slot {
            self.out.push(' ');
        }
        write!(self.out, "{v}").map_err(|_| Error::Custom("formatting failed".to_owned()))?;
        self.out.push('\n');
        Ok(())
    }

    fn float<F: Serialize>(&mut self, v: F) -> Result<(), Error> {
        let text = float_text(v)?;
        self.scalar(&text);
        Ok(())
    }

    /// A mapping key (a scalar) at the current position, then `:`.
    fn key<K: Serialize + ?Sized>(&mut self, key: &K) -> Result<(), Error> {
        let start = self.out.len();
        key.serialize(KeySink {
            out: &mut *self.out,
        })?;
        let text = &self.out[start..];
        if text.len() > SIMPLE_KEY_MAX && text.chars().count() > SIMPLE_KEY_MAX {
            return Err(Error::Unsupported);
        }
        self.out.push(':');
        Ok(())
    }
}

/// A float as serde-saphyr writes it (shortest round-trip digits, always a `.` or an exponent
/// with a sign, `.inf`, `.nan`): asked of serde-saphyr itself, floats being rare in manifests.
fn float_text<F: Serialize>(v: F) -> Result<String, Error> {
    let mut text = serde_saphyr::to_string(&v).map_err(|_| Error::Unsupported)?;
    if text.ends_with('\n') {
        text.pop();
    }
    Ok(text)
}

impl<'a, 'b> ser::Serializer for &'a mut Emitter<'b> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = SeqEmitter<'a, 'b>;
    type SerializeTuple = SeqEmitter<'a, 'b>;
    type SerializeTupleStruct = SeqEmitter<'a, 'b>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = MapEmitter<'a, 'b>;
    type SerializeStruct = MapEmitter<'a, 'b>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.float(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.string(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.string(v);
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        // serde-saphyr writes `!!binary` or a sequence, depending on the position.
        Err(Error::Unsupported)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.scalar("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.scalar("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.scalar("null");
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.string(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // serde-saphyr's wrapper types (`LitStr`, `FlowSeq`, ...) are newtypes named `__yaml_*`.
        if name.starts_with("__yaml") {
            return Err(Error::Unsupported);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        // `Variant: value`, laid out as a one-entry mapping, except at the root, where
        // serde-saphyr indents a sequence value differently.
        if let Slot::Root = self.slot {
            return Err(Error::Unsupported);
        }
        let mut map = MapEmitter::new(self);
        ser::SerializeMap::serialize_entry(&mut map, variant, value)?;
        ser::SerializeMap::end(map)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<SeqEmitter<'a, 'b>, Error> {
        Ok(SeqEmitter::new(self))
    }
    fn serialize_tuple(self, _: usize) -> Result<SeqEmitter<'a, 'b>, Error> {
        Ok(SeqEmitter::new(self))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        _: usize,
    ) -> Result<SeqEmitter<'a, 'b>, Error> {
        if name.starts_with("__yaml") {
            return Err(Error::Unsupported);
        }
        Ok(SeqEmitter::new(self))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapEmitter<'a, 'b>, Error> {
        Ok(MapEmitter::new(self))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapEmitter<'a, 'b>, Error> {
        Ok(MapEmitter::new(self))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::Unsupported)
    }
}

/// A block mapping. Nothing is written until the first key, so an empty mapping can still
/// become `{}` on the key's line.
struct MapEmitter<'a, 'b> {
    e: &'a mut Emitter<'b>,
    slot: Slot,
    keys: usize,
    entries: usize,
}

impl<'a, 'b> MapEmitter<'a, 'b> {
    fn new(e: &'a mut Emitter<'b>) -> Self {
        let slot = e.slot;
        Self {
            e,
            slot,
            keys: slot.map_keys(),
            entries: 0,
        }
    }

    fn start_key(&mut self) {
        if self.entries == 0 {
            // The first key goes on the current line, except under a key.
            if let Slot::Value { .. } = self.slot {
                self.e.out.push('\n');
                self.e.indent(self.keys);
            }
        } else {
            self.e.indent(self.keys);
        }
        self.entries += 1;
    }

    fn value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.e.slot = Slot::Value { key: self.keys };
        value.serialize(&mut *self.e)
    }

    fn finish(self) {
        if self.entries == 0 {
            self.e.slot = self.slot;
            self.e.scalar("{}");
        }
    }
}

impl ser::SerializeMap for MapEmitter<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.start_key();
        self.e.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeStruct for MapEmitter<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.start_key();
        self.e.key(key)?;
        self.value(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

/// A block sequence; like [`MapEmitter`], it writes nothing before its first item.
struct SeqEmitter<'a, 'b> {
    e: &'a mut Emitter<'b>,
    slot: Slot,
    dashes: usize,
    items: usize,
}

impl<'a, 'b> SeqEmitter<'a, 'b> {
    fn new(e: &'a mut Emitter<'b>) -> Self {
        let slot = e.slot;
        Self {
            e,
            slot,
            dashes: slot.seq_dashes(),
            items: 0,
        }
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        if self.items == 0 {
            // The first dash goes on the current line, except under a key.
            if let Slot::Value { .. } = self.slot {
                self.e.out.push('\n');
                self.e.indent(self.dashes);
            }
        } else {
            self.e.indent(self.dashes);
        }
        self.items += 1;
        self.e.out.push_str("- ");
        self.e.slot = Slot::Item { dash: self.dashes };
        value.serialize(&mut *self.e)
    }

    fn finish(self) {
        if self.items == 0 {
            self.e.slot = self.slot;
            self.e.scalar("[]");
        }
    }
}

impl ser::SerializeSeq for SeqEmitter<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTuple for SeqEmitter<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

impl ser::SerializeTupleStruct for SeqEmitter<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.finish();
        Ok(())
    }
}

/// Writes a mapping key: a string, number, bool or null (serde-saphyr's `KeyScalarSink`); any
/// other key is left to serde-saphyr.
struct KeySink<'a> {
    out: &'a mut String,
}

impl KeySink<'_> {
    fn number(self, v: impl fmt::Display) -> Result<(), Error> {
        write!(self.out, "{v}").map_err(|_| Error::Custom("formatting failed".to_owned()))
    }
}

impl ser::Serializer for KeySink<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push_str(if v { "true" } else { "false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.number(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.out.push_str(&float_text(v)?);
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.out.push_str(&float_text(v)?);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        if quoting::plain_key(v) {
            self.out.push_str(v);
        } else {
            quoting::push_double_quoted(self.out, v);
        }
        Ok(())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(Error::Unsupported)
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.out.push_str("null");
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        if name.starts_with("__yaml") {
            return Err(Error::Unsupported);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(Error::Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Err(Error::Unsupported)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(Error::Unsupported)
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(Error::Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(Error::Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Err(Error::Unsupported)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct, Error> {
        Err(Error::Unsupported)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(Error::Unsupported)
    }
}
