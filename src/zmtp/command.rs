//! The body of a ZMTP command frame: a length-prefixed name followed by command data. This
//! module splits bodies into name and data, and reads and writes the pieces commands are made
//! of: the property lists of READY (and later of PLAIN/CURVE), PING, PONG and ERROR.

use super::ProtocolError;

pub const READY: &[u8] = b"READY";
pub const ERROR: &[u8] = b"ERROR";
pub const PING: &[u8] = b"PING";
pub const PONG: &[u8] = b"PONG";
pub const SUBSCRIBE: &[u8] = b"SUBSCRIBE";
pub const CANCEL: &[u8] = b"CANCEL";

/// The most context bytes a PING may carry and a PONG echoes back (ZMTP 3.1).
pub const MAX_PING_CONTEXT: usize = 16;

/// A command frame split into its name and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command<'a> {
    pub name: &'a [u8],
    pub data: &'a [u8],
}

impl Command<'_> {
    /// The name for error messages.
    pub fn name_lossy(&self) -> String {
        String::from_utf8_lossy(self.name).into_owned()
    }
}

/// Splits a command frame body.
pub fn parse(body: &[u8]) -> Result<Command<'_>, ProtocolError> {
    let (&len, rest) = body
        .split_first()
        .ok_or(ProtocolError::MalformedCommand(""))?;
    let len = len as usize;
    if len == 0 || rest.len() < len {
        return Err(ProtocolError::MalformedCommand(""));
    }
    let (name, data) = rest.split_at(len);
    Ok(Command { name, data })
}

/// One property as it goes on the wire: 1-byte name length, name, 4-byte value length, value.
pub fn write_property(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    // Names longer than 255 bytes or values of 4 GiB cannot be encoded; the option layer
    // refuses such metadata before it gets here.
    let (Ok(name_len), Ok(value_len)) = (u8::try_from(name.len()), u32::try_from(value.len()))
    else {
        debug_assert!(false, "unencodable property {name:?}");
        return;
    };
    out.reserve(1 + name.len() + 4 + value.len());
    out.push(name_len);
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(&value_len.to_be_bytes());
    out.extend_from_slice(value);
}

/// Parses a property list; any truncated name or value is an error. Names are kept as sent
/// (invalid UTF-8 replaced), duplicates are kept in order.
pub fn parse_properties(mut data: &[u8]) -> Result<Vec<(String, Vec<u8>)>, ProtocolError> {
    let mut props = Vec::new();
    while let Some((&name_len, rest)) = data.split_first() {
        let name_len = name_len as usize;
        if rest.len() < name_len + 4 {
            return Err(ProtocolError::InvalidMetadata);
        }
        let (name, rest) = rest.split_at(name_len);
        let (len, rest) = rest.split_at(4);
        let value_len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if rest.len() < value_len {
            return Err(ProtocolError::InvalidMetadata);
        }
        let (value, rest) = rest.split_at(value_len);
        props.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
        data = rest;
    }
    Ok(props)
}

/// The value of the first property called `name`.
pub fn property<'a>(props: &'a [(String, Vec<u8>)], name: &str) -> Option<&'a [u8]> {
    props
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_slice())
}

/// PING data: the TTL in deciseconds and the context to echo.
pub fn parse_ping(data: &[u8]) -> Result<(u16, &[u8]), ProtocolError> {
    match data {
        [hi, lo, context @ ..] => Ok((u16::from_be_bytes([*hi, *lo]), context)),
        _ => Err(ProtocolError::MalformedCommand("PING")),
    }
}

/// ERROR data: a 1-byte length and the reason.
pub fn parse_error(data: &[u8]) -> Result<String, ProtocolError> {
    match data.split_first() {
        Some((&len, reason)) if reason.len() >= len as usize => {
            Ok(String::from_utf8_lossy(&reason[..len as usize]).into_owned())
        }
        _ => Err(ProtocolError::MalformedCommand("ERROR")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_name_and_data() {
        let c = parse(b"\x05READYabc").unwrap();
        assert_eq!(c.name, b"READY");
        assert_eq!(c.data, b"abc");
        let c = parse(b"\x04PONG").unwrap();
        assert_eq!((c.name, c.data), (&b"PONG"[..], &b""[..]));
        assert!(parse(b"").is_err());
        assert!(parse(b"\x00").is_err());
        assert!(parse(b"\x06READY").is_err());
    }

    #[test]
    fn property_roundtrip() {
        let mut out = Vec::new();
        write_property(&mut out, "Socket-Type", b"DEALER");
        write_property(&mut out, "Identity", b"");
        assert_eq!(&out[..22], b"\x0bSocket-Type\x00\x00\x00\x06DEALER");
        let props = parse_properties(&out).unwrap();
        assert_eq!(
            props,
            vec![
                ("Socket-Type".to_string(), b"DEALER".to_vec()),
                ("Identity".to_string(), vec![])
            ]
        );
        assert_eq!(property(&props, "Identity"), Some(&b""[..]));
        assert_eq!(property(&props, "X-Foo"), None);
        assert_eq!(parse_properties(b"").unwrap(), vec![]);
    }

    #[test]
    fn property_errors() {
        let mut good = Vec::new();
        write_property(&mut good, "Socket-Type", b"PUB");
        // Every strict prefix of a property is truncated somewhere.
        for cut in 1..good.len() {
            assert_eq!(
                parse_properties(&good[..cut]),
                Err(ProtocolError::InvalidMetadata),
                "cut at {cut}"
            );
        }
        // A value length pointing past the end.
        let mut bad = good.clone();
        bad[1 + 11 + 3] = 4;
        assert_eq!(parse_properties(&bad), Err(ProtocolError::InvalidMetadata));
        // A huge value length.
        bad[1 + 11] = 0xFF;
        assert_eq!(parse_properties(&bad), Err(ProtocolError::InvalidMetadata));
        // Trailing garbage after a good property.
        good.push(7);
        assert_eq!(parse_properties(&good), Err(ProtocolError::InvalidMetadata));
    }

    #[test]
    fn ping_and_error() {
        assert_eq!(parse_ping(b"\x01\x02ctx").unwrap(), (0x0102, &b"ctx"[..]));
        assert_eq!(parse_ping(b"\x00\x00").unwrap(), (0, &b""[..]));
        assert!(parse_ping(b"\x01").is_err());
        assert_eq!(parse_error(b"\x03abcdef").unwrap(), "abc");
        assert_eq!(parse_error(b"\x00").unwrap(), "");
        assert!(parse_error(b"").is_err());
        assert!(parse_error(b"\x05abc").is_err());
    }
}
