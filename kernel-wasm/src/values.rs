//! Typed values crossing the host/guest boundary in a call: parsing command-line text by an
//! export's signature, and printing results as `wasmtime run --invoke` does.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::error::{Error, Result};
use crate::module::{Signature, ValKind};

/// A value passed to or returned from an exported function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(v) => write!(f, "{v}"),
            Value::F64(v) => write!(f, "{v}"),
        }
    }
}

impl Value {
    pub fn kind(&self) -> ValKind {
        match self {
            Value::I32(_) => ValKind::I32,
            Value::I64(_) => ValKind::I64,
            Value::F32(_) => ValKind::F32,
            Value::F64(_) => ValKind::F64,
        }
    }

    pub(crate) fn to_wasmi(self) -> wasmi::Val {
        match self {
            Value::I32(v) => wasmi::Val::I32(v),
            Value::I64(v) => wasmi::Val::I64(v),
            Value::F32(v) => wasmi::Val::F32(v.into()),
            Value::F64(v) => wasmi::Val::F64(v.into()),
        }
    }

    pub(crate) fn from_wasmi(val: &wasmi::Val) -> Option<Self> {
        Some(match val {
            wasmi::Val::I32(v) => Value::I32(*v),
            wasmi::Val::I64(v) => Value::I64(*v),
            wasmi::Val::F32(v) => Value::F32((*v).into()),
            wasmi::Val::F64(v) => Value::F64((*v).into()),
            _ => return None,
        })
    }

    /// Parses `text` as a value of `kind`. Integers accept decimal (signed, or unsigned up to the
    /// type's width, wrapping as two's complement) and `0x` hex.
    pub fn parse(kind: ValKind, text: &str) -> Option<Value> {
        match kind {
            ValKind::I32 => parse_int(text).and_then(|v| {
                if v >= i128::from(i32::MIN) && v <= i128::from(u32::MAX) {
                    Some(Value::I32(v as i32))
                } else {
                    None
                }
            }),
            ValKind::I64 => parse_int(text).and_then(|v| {
                if v >= i128::from(i64::MIN) && v <= i128::from(u64::MAX) {
                    Some(Value::I64(v as i64))
                } else {
                    None
                }
            }),
            ValKind::F32 => text.parse::<f32>().ok().map(Value::F32),
            ValKind::F64 => text.parse::<f64>().ok().map(Value::F64),
            _ => None,
        }
    }
}

fn parse_int(text: &str) -> Option<i128> {
    let (neg, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (digits, radix) = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => (hex, 16),
        None => (digits, 10),
    };
    // Only digits: `from_str_radix` would take a second sign (`0x-5`, `-+5`).
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let magnitude = i128::from_str_radix(digits, radix).ok()?;
    Some(if neg { -magnitude } else { magnitude })
}

/// Checks that every type of `sig` can cross the typed-call API.
pub fn check_signature(func: &str, sig: &Signature) -> Result<()> {
    for ty in sig.params.iter().chain(&sig.results) {
        if !matches!(
            ty,
            ValKind::I32 | ValKind::I64 | ValKind::F32 | ValKind::F64
        ) {
            return Err(Error::UnsupportedType {
                func: func.to_string(),
                ty: ty.to_string(),
            });
        }
    }
    Ok(())
}

/// Parses command-line arguments for `func` by its signature.
pub fn parse_args(func: &str, sig: &Signature, args: &[&str]) -> Result<Vec<Value>> {
    check_signature(func, sig)?;
    if args.len() != sig.params.len() {
        return Err(Error::WrongArgCount {
            func: func.to_string(),
            expected: sig.params.len(),
            given: args.len(),
        });
    }
    sig.params
        .iter()
        .zip(args)
        .enumerate()
        .map(|(index, (&kind, text))| {
            Value::parse(kind, text).ok_or_else(|| Error::BadArgument {
                func: func.to_string(),
                index,
                expected: kind.to_string(),
                given: String::from(*text),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn parses_by_type() {
        assert_eq!(Value::parse(ValKind::I32, "-5"), Some(Value::I32(-5)));
        assert_eq!(
            Value::parse(ValKind::I32, "4294967295"),
            Some(Value::I32(-1))
        );
        assert_eq!(Value::parse(ValKind::I32, "4294967296"), None);
        assert_eq!(Value::parse(ValKind::I32, "0x10"), Some(Value::I32(16)));
        assert_eq!(
            Value::parse(ValKind::I64, "-9223372036854775808"),
            Some(Value::I64(i64::MIN))
        );
        assert_eq!(Value::parse(ValKind::F64, "2.5"), Some(Value::F64(2.5)));
        assert_eq!(Value::parse(ValKind::I32, "abc"), None);
        assert_eq!(Value::parse(ValKind::I32, "--1"), None);
        assert_eq!(Value::parse(ValKind::I32, ""), None);
    }

    #[test]
    fn integers_take_one_sign_and_only_digits() {
        for bad in [
            "0x-5", "0x+5", "-0x-5", "+-5", "-+5", "0x", "-", "+", "1_000", " 1", "1 ", "1e3",
            "0b1", "٣", "0x1g",
        ] {
            assert_eq!(Value::parse(ValKind::I32, bad), None, "{bad:?}");
            assert_eq!(Value::parse(ValKind::I64, bad), None, "{bad:?}");
        }
        assert_eq!(Value::parse(ValKind::I32, "-0x10"), Some(Value::I32(-16)));
        assert_eq!(Value::parse(ValKind::I32, "+0X1f"), Some(Value::I32(31)));
        assert_eq!(
            Value::parse(ValKind::I32, "0xffffffff"),
            Some(Value::I32(-1))
        );
        assert_eq!(Value::parse(ValKind::I32, "0x100000000"), None);
        assert_eq!(Value::parse(ValKind::I32, "-2147483649"), None);
        assert_eq!(
            Value::parse(ValKind::I64, "18446744073709551615"),
            Some(Value::I64(-1))
        );
        assert_eq!(Value::parse(ValKind::I64, "18446744073709551616"), None);
        assert_eq!(Value::parse(ValKind::I64, "-9223372036854775809"), None);
        // Far beyond i128: refused, not wrapped.
        assert_eq!(Value::parse(ValKind::I64, &"9".repeat(60)), None);
        assert_eq!(Value::parse(ValKind::I64, &"f".repeat(60)), None);
    }

    #[test]
    fn floats_parse_as_rust_and_wasmtime_do() {
        // `nan`, `inf`, `infinity` in any case, with a sign; overflow rounds to infinity.
        assert!(matches!(Value::parse(ValKind::F32, "nan"), Some(Value::F32(v)) if v.is_nan()));
        assert!(matches!(Value::parse(ValKind::F64, "NaN"), Some(Value::F64(v)) if v.is_nan()));
        assert_eq!(
            Value::parse(ValKind::F32, "inf"),
            Some(Value::F32(f32::INFINITY))
        );
        assert_eq!(
            Value::parse(ValKind::F64, "-Infinity"),
            Some(Value::F64(f64::NEG_INFINITY))
        );
        assert_eq!(
            Value::parse(ValKind::F32, "1e50"),
            Some(Value::F32(f32::INFINITY))
        );
        assert_eq!(Value::parse(ValKind::F32, "0x10"), None);
        assert_eq!(Value::parse(ValKind::F64, "1,5"), None);
        assert_eq!(Value::parse(ValKind::F64, ""), None);
        assert_eq!(Value::F32(f32::NAN).to_string(), "NaN");
        assert_eq!(Value::F64(f64::NEG_INFINITY).to_string(), "-inf");
    }

    #[test]
    fn argument_errors_name_the_problem() {
        let sig = Signature {
            params: vec![ValKind::I32, ValKind::I32],
            results: vec![ValKind::I32],
        };
        assert_eq!(
            parse_args("add", &sig, &["2", "3"]).unwrap(),
            vec![Value::I32(2), Value::I32(3)]
        );
        let err = parse_args("add", &sig, &["2"]).unwrap_err();
        assert_eq!(err.to_string(), "function add takes 2 argument(s), 1 given");
        let err = parse_args("add", &sig, &["2", "x"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "argument 2 of add: \"x\" is not a valid i32"
        );
        let v128 = Signature {
            params: vec![ValKind::V128],
            results: vec![],
        };
        assert!(matches!(
            parse_args("f", &v128, &["1"]),
            Err(Error::UnsupportedType { .. })
        ));
    }
}
