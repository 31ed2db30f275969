//! Event arguments: JSON values whose binary parts travel as attachments,
//! to and from any serde type.
//!
//! Serialising, a top-level tuple is several arguments, `()` none, and
//! anything else one; bytes (`bytes::Bytes`, `serde_bytes`) become binary
//! attachments. Deserialising, the arguments read as a sequence (a tuple,
//! a `Vec`) and attachments as bytes.

use bytes::Bytes;
use serde::de::{self, DeserializeOwned, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize};
use serde_json::{Map, Number, Value};

use crate::protocol::packet::placeholder;

/// The arguments of an event or an acknowledgement: JSON values, with
/// binary values as placeholders that point into [`binary`](Args::binary).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Args {
    pub(crate) values: Vec<Value>,
    pub(crate) binary: Vec<Bytes>,
}

impl Args {
    pub(crate) fn new(values: Vec<Value>, binary: Vec<Bytes>) -> Args {
        Args { values, binary }
    }

    /// Arguments from JSON values and the attachments their placeholders
    /// (`{"_placeholder":true,"num":N}`) point into: what
    /// [`into_parts`](Self::into_parts) gave.
    pub fn from_parts(values: Vec<Value>, binary: Vec<Bytes>) -> Args {
        Args { values, binary }
    }

    /// Arguments from any serialisable value: a tuple gives several
    /// arguments, `()` none, anything else one. `Bytes` (or `serde_bytes`)
    /// anywhere inside become binary attachments.
    ///
    /// ```
    /// # use tornadio::Args;
    /// let args = Args::from_serialize(&("hi", 3, bytes::Bytes::from_static(b"\x01"))).unwrap();
    /// assert_eq!(args.len(), 3);
    /// assert_eq!(args.binary().len(), 1);
    /// ```
    ///
    /// # Errors
    /// When `data` cannot be serialised (a map with non-string keys...).
    pub fn from_serialize<T: Serialize + ?Sized>(data: &T) -> Result<Args, serde_json::Error> {
        let mut binary = Vec::new();
        let values = data.serialize(TopSerializer {
            binary: &mut binary,
        })?;
        Ok(Args { values, binary })
    }

    /// The JSON values; binary ones are `{"_placeholder":true,"num":N}`.
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The binary attachments, in placeholder order.
    pub fn binary(&self) -> &[Bytes] {
        &self.binary
    }

    /// The number of arguments.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The arguments as `T`, read as a sequence: a tuple of the argument
    /// types, a `Vec`, or a struct of them in order. Binary values read as
    /// bytes (`bytes::Bytes`, `serde_bytes::ByteBuf`).
    ///
    /// ```
    /// # use tornadio::Args;
    /// # use serde_json::json;
    /// # let args = Args::from_serialize(&("ann", json!({"age": 3}))).unwrap();
    /// #[derive(serde::Deserialize)]
    /// struct Person { age: u8 }
    /// let (name, person): (String, Person) = args.decode().unwrap();
    /// assert_eq!((name.as_str(), person.age), ("ann", 3));
    /// ```
    ///
    /// # Errors
    /// When the arguments do not fit `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(SeqDeserializer {
            items: &self.values,
            binary: &self.binary,
        })
    }

    /// Argument `index` as `T`.
    ///
    /// # Errors
    /// When there is no such argument, or it does not fit `T`.
    pub fn get<T: DeserializeOwned>(&self, index: usize) -> Result<T, serde_json::Error> {
        let value = self
            .values
            .get(index)
            .ok_or_else(|| de::Error::custom(format!("no argument {index}")))?;
        T::deserialize(ValueDeserializer {
            value,
            binary: &self.binary,
        })
    }

    /// The JSON values and the attachments.
    pub fn into_parts(self) -> (Vec<Value>, Vec<Bytes>) {
        (self.values, self.binary)
    }
}

// --- Serialising -----------------------------------------------------------

type Error = serde_json::Error;

fn ser_error(message: &str) -> Error {
    ser::Error::custom(message)
}

/// A binary value: its placeholder, the bytes kept aside.
fn attach(binary: &mut Vec<Bytes>, bytes: &[u8]) -> Value {
    let num = binary.len();
    binary.push(Bytes::copy_from_slice(bytes));
    let mut map = Map::new();
    map.insert("_placeholder".into(), Value::Bool(true));
    map.insert("num".into(), Value::from(num));
    Value::Object(map)
}

/// The top level: a tuple is the argument list.
struct TopSerializer<'a> {
    binary: &'a mut Vec<Bytes>,
}

/// Everything below the top: a JSON value, bytes as placeholders.
struct ValueSerializer<'a> {
    binary: &'a mut Vec<Bytes>,
}

macro_rules! forward_to_value {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method(self, $($arg: $ty),*) -> Result<Self::Ok, Error> {
                ValueSerializer { binary: self.binary }.$method($($arg),*).map(|v| vec![v])
            }
        )*
    };
}

impl<'a> ser::Serializer for TopSerializer<'a> {
    type Ok = Vec<Value>;
    type Error = Error;
    type SerializeSeq = Collect<'a, Vec<Value>>;
    type SerializeTuple = Collect<'a, Vec<Value>>;
    type SerializeTupleStruct = Collect<'a, Vec<Value>>;
    type SerializeTupleVariant = Collect<'a, Vec<Value>>;
    type SerializeMap = Collect<'a, Vec<Value>>;
    type SerializeStruct = Collect<'a, Vec<Value>>;
    type SerializeStructVariant = Collect<'a, Vec<Value>>;

    forward_to_value! {
        serialize_bool(v: bool);
        serialize_i8(v: i8);
        serialize_i16(v: i16);
        serialize_i32(v: i32);
        serialize_i64(v: i64);
        serialize_i128(v: i128);
        serialize_u8(v: u8);
        serialize_u16(v: u16);
        serialize_u32(v: u32);
        serialize_u64(v: u64);
        serialize_u128(v: u128);
        serialize_f32(v: f32);
        serialize_f64(v: f64);
        serialize_char(v: char);
        serialize_str(v: &str);
        serialize_bytes(v: &[u8]);
        serialize_none();
        serialize_unit_struct(name: &'static str);
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str);
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Vec<Value>, Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Vec<Value>, Error> {
        Ok(Vec::new())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Vec<Value>, Error> {
        value
            .serialize(ValueSerializer {
                binary: self.binary,
            })
            .map(|v| vec![v])
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Vec<Value>, Error> {
        ValueSerializer {
            binary: self.binary,
        }
        .serialize_newtype_variant(name, index, variant, value)
        .map(|v| vec![v])
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::Seq(Vec::with_capacity(len.unwrap_or(0))),
        ))
    }

    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        // The argument list itself.
        Ok(Collect::many(self.binary, len))
    }

    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::Seq(Vec::with_capacity(len)),
        ))
    }

    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::Variant(variant, Vec::with_capacity(len)),
        ))
    }

    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Ok(Collect::one(self.binary, Shape::Map(Map::new(), None)))
    }

    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Ok(Collect::one(self.binary, Shape::Map(Map::new(), None)))
    }

    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::StructVariant(variant, Map::new()),
        ))
    }
}

impl<'a> ser::Serializer for ValueSerializer<'a> {
    type Ok = Value;
    type Error = Error;
    type SerializeSeq = Collect<'a, Value>;
    type SerializeTuple = Collect<'a, Value>;
    type SerializeTupleStruct = Collect<'a, Value>;
    type SerializeTupleVariant = Collect<'a, Value>;
    type SerializeMap = Collect<'a, Value>;
    type SerializeStruct = Collect<'a, Value>;
    type SerializeStructVariant = Collect<'a, Value>;

    fn serialize_bool(self, v: bool) -> Result<Value, Error> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Error> {
        serde_json::to_value(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Error> {
        Ok(Value::from(v))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Error> {
        serde_json::to_value(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Error> {
        Ok(Number::from_f64(f64::from(v)).map_or(Value::Null, Value::Number))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Error> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn serialize_char(self, v: char) -> Result<Value, Error> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Error> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Error> {
        Ok(attach(self.binary, v))
    }
    fn serialize_none(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Error> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Error> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Error> {
        let mut map = Map::new();
        map.insert(variant.to_owned(), value.serialize(self)?);
        Ok(Value::Object(map))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::Seq(Vec::with_capacity(len.unwrap_or(0))),
        ))
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::Seq(Vec::with_capacity(len)),
        ))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::Seq(Vec::with_capacity(len)),
        ))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::Variant(variant, Vec::with_capacity(len)),
        ))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        Ok(Collect::one(self.binary, Shape::Map(Map::new(), None)))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        Ok(Collect::one(self.binary, Shape::Map(Map::new(), None)))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Ok(Collect::one(
            self.binary,
            Shape::StructVariant(variant, Map::new()),
        ))
    }
}

/// A compound value under construction.
enum Shape {
    Seq(Vec<Value>),
    Variant(&'static str, Vec<Value>),
    /// A map, and the key whose value comes next.
    Map(Map<String, Value>, Option<String>),
    StructVariant(&'static str, Map<String, Value>),
    /// The top-level tuple: the argument list.
    Args(Vec<Value>),
}

/// Collects a compound value; `O` is what it ends as (a value, or the
/// argument list at the top).
struct Collect<'a, O> {
    binary: &'a mut Vec<Bytes>,
    shape: Shape,
    _out: std::marker::PhantomData<O>,
}

impl<'a, O> Collect<'a, O> {
    fn one(binary: &'a mut Vec<Bytes>, shape: Shape) -> Self {
        Collect {
            binary,
            shape,
            _out: std::marker::PhantomData,
        }
    }

    fn many(binary: &'a mut Vec<Bytes>, len: usize) -> Self {
        Collect::one(binary, Shape::Args(Vec::with_capacity(len)))
    }

    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let value = value.serialize(ValueSerializer {
            binary: self.binary,
        })?;
        match &mut self.shape {
            Shape::Seq(items) | Shape::Variant(_, items) | Shape::Args(items) => items.push(value),
            Shape::Map(map, key) => {
                let key = key
                    .take()
                    .ok_or_else(|| ser_error("map value without a key"))?;
                map.insert(key, value);
            }
            Shape::StructVariant(..) => return Err(ser_error("a value outside a field")),
        }
        Ok(())
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), Error> {
        let value = value.serialize(ValueSerializer {
            binary: self.binary,
        })?;
        match &mut self.shape {
            Shape::Map(map, _) | Shape::StructVariant(_, map) => {
                map.insert(key.to_owned(), value);
                Ok(())
            }
            _ => Err(ser_error("a field outside a struct")),
        }
    }

    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        let key = match key.serialize(ValueSerializer {
            binary: self.binary,
        })? {
            Value::String(key) => key,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return Err(ser_error("map keys must be strings or numbers")),
        };
        match &mut self.shape {
            Shape::Map(_, slot) => {
                *slot = Some(key);
                Ok(())
            }
            _ => Err(ser_error("a key outside a map")),
        }
    }

    fn value(self) -> Value {
        match self.shape {
            Shape::Seq(items) | Shape::Args(items) => Value::Array(items),
            Shape::Variant(name, items) => {
                let mut map = Map::new();
                map.insert(name.to_owned(), Value::Array(items));
                Value::Object(map)
            }
            Shape::Map(map, _) => Value::Object(map),
            Shape::StructVariant(name, fields) => {
                let mut map = Map::new();
                map.insert(name.to_owned(), Value::Object(fields));
                Value::Object(map)
            }
        }
    }
}

/// How a finished compound value becomes `O`.
trait Finish: Sized {
    fn finish(collect: Collect<'_, Self>) -> Self;
}

impl Finish for Value {
    fn finish(collect: Collect<'_, Value>) -> Value {
        collect.value()
    }
}

impl Finish for Vec<Value> {
    fn finish(collect: Collect<'_, Vec<Value>>) -> Vec<Value> {
        match collect.shape {
            Shape::Args(items) => items,
            _ => vec![collect.value()],
        }
    }
}

macro_rules! compound {
    ($trait:ident, $method:ident) => {
        impl<O: Finish> ser::$trait for Collect<'_, O> {
            type Ok = O;
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.push(value)
            }
            fn end(self) -> Result<O, Error> {
                Ok(O::finish(self))
            }
        }
    };
}

compound!(SerializeSeq, serialize_element);
compound!(SerializeTuple, serialize_element);
compound!(SerializeTupleStruct, serialize_field);
compound!(SerializeTupleVariant, serialize_field);

impl<O: Finish> ser::SerializeMap for Collect<'_, O> {
    type Ok = O;
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.push(value)
    }
    fn end(self) -> Result<O, Error> {
        Ok(O::finish(self))
    }
}

impl<O: Finish> ser::SerializeStruct for Collect<'_, O> {
    type Ok = O;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<O, Error> {
        Ok(O::finish(self))
    }
}

impl<O: Finish> ser::SerializeStructVariant for Collect<'_, O> {
    type Ok = O;
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.field(key, value)
    }
    fn end(self) -> Result<O, Error> {
        Ok(O::finish(self))
    }
}

// --- Deserialising ---------------------------------------------------------

/// The argument list as a sequence.
struct SeqDeserializer<'a> {
    items: &'a [Value],
    binary: &'a [Bytes],
}

/// One value; placeholders read as bytes.
#[derive(Clone, Copy)]
struct ValueDeserializer<'a> {
    value: &'a Value,
    binary: &'a [Bytes],
}

struct Items<'a> {
    iter: std::slice::Iter<'a, Value>,
    binary: &'a [Bytes],
}

impl<'de> SeqAccess<'de> for Items<'_> {
    type Error = Error;
    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.iter.next() {
            Some(value) => seed
                .deserialize(ValueDeserializer {
                    value,
                    binary: self.binary,
                })
                .map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        Some(self.iter.len())
    }
}

struct Entries<'a> {
    iter: serde_json::map::Iter<'a>,
    value: Option<&'a Value>,
    binary: &'a [Bytes],
}

impl<'de> MapAccess<'de> for Entries<'_> {
    type Error = Error;
    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.iter.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(key.as_str().into_deserializer()).map(Some)
            }
            None => Ok(None),
        }
    }
    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let value = self
            .value
            .take()
            .ok_or_else(|| <Error as de::Error>::custom("value without a key"))?;
        seed.deserialize(ValueDeserializer {
            value,
            binary: self.binary,
        })
    }
}

impl<'de> de::Deserializer<'de> for SeqDeserializer<'_> {
    type Error = Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Items {
            iter: self.items.iter(),
            binary: self.binary,
        })
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'a> ValueDeserializer<'a> {
    fn attachment(&self) -> Option<&'a Bytes> {
        let num = usize::try_from(placeholder(self.value)?).ok()?;
        self.binary.get(num)
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        // A placeholder read as anything but bytes is what it is: an object
        // (a `serde_json::Value` target keeps it, to be sent on as is).
        match self.value {
            Value::Array(items) => visitor.visit_seq(Items {
                iter: items.iter(),
                binary: self.binary,
            }),
            Value::Object(map) => visitor.visit_map(Entries {
                iter: map.iter(),
                value: None,
                binary: self.binary,
            }),
            // Scalars: serde_json's own visitor calls, on an owned copy.
            other => other.clone().deserialize_any(visitor),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.attachment() {
            Some(bytes) => visitor.visit_bytes(bytes),
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.attachment() {
            // `Vec<u8>` and friends read bytes as a sequence.
            Some(bytes) => {
                visitor.visit_seq(de::value::SeqDeserializer::new(bytes.iter().copied()))
            }
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        match self.value {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.value.clone().deserialize_enum(name, variants, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        unit unit_struct tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[test]
    fn tuples_are_argument_lists() {
        let args = Args::from_serialize(&("a", 1, json!({"b": [true]}))).unwrap();
        assert_eq!(args.values(), &[json!("a"), json!(1), json!({"b": [true]})]);
        assert!(Args::from_serialize(&()).unwrap().is_empty());
        assert_eq!(Args::from_serialize(&"x").unwrap().values(), &[json!("x")]);
        assert_eq!(
            Args::from_serialize(&vec![1, 2]).unwrap().values(),
            &[json!([1, 2])]
        );
        assert_eq!(Args::from_serialize(&(7,)).unwrap().values(), &[json!(7)]);
    }

    #[test]
    fn bytes_become_numbered_attachments() {
        #[derive(serde::Serialize)]
        struct File {
            name: &'static str,
            data: Bytes,
        }
        let file = File {
            name: "f",
            data: Bytes::from_static(b"\x01\x02"),
        };
        let args = Args::from_serialize(&(Bytes::from_static(b"\x09"), file)).unwrap();
        assert_eq!(
            args.values(),
            &[
                json!({"_placeholder": true, "num": 0}),
                json!({"name": "f", "data": {"_placeholder": true, "num": 1}}),
            ]
        );
        assert_eq!(
            args.binary(),
            &[Bytes::from_static(b"\x09"), Bytes::from_static(b"\x01\x02")]
        );
    }

    #[test]
    fn decodes_into_types_with_binary() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct File {
            name: String,
            data: Bytes,
            size: Option<u32>,
        }
        let args = Args::new(
            vec![
                json!("hi"),
                json!({"name": "f", "data": {"_placeholder": true, "num": 0}, "size": null}),
                json!([1, 2]),
            ],
            vec![Bytes::from_static(b"abc")],
        );
        let (text, file, list): (String, File, Vec<u8>) = args.decode().unwrap();
        assert_eq!(text, "hi");
        assert_eq!(
            file,
            File {
                name: "f".into(),
                data: Bytes::from_static(b"abc"),
                size: None
            }
        );
        assert_eq!(list, vec![1, 2]);
        let first: String = args.get(0).unwrap();
        assert_eq!(first, "hi");
        assert!(args.get::<String>(5).is_err());
        assert!(args.decode::<(u32,)>().is_err());
        // A JSON target keeps placeholders as they are.
        let all: Vec<Value> = args.decode().unwrap();
        assert_eq!(all, args.values());
        let raw: (String, File, Vec<u8>) = Args::new(
            vec![
                json!("x"),
                args.values()[1].clone(),
                json!({"_placeholder": true, "num": 0}),
            ],
            args.binary().to_vec(),
        )
        .decode()
        .unwrap();
        assert_eq!(raw.2, b"abc");
    }
}
