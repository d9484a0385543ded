//! How transaction arguments and results are encoded, as in Fabric's contract
//! API: a string is passed as its raw UTF-8; anything else as JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ContractError;

/// Decodes an argument: JSON if it parses as the wanted type, otherwise the
/// raw bytes taken as a string (so `"asset1"` and `asset1` both give a `String`).
pub fn decode_arg<T: DeserializeOwned>(
    bytes: &[u8],
    tx: &str,
    param: &str,
) -> Result<T, ContractError> {
    if let Ok(v) = serde_json::from_slice::<T>(bytes) {
        return Ok(v);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| {
        ContractError::with_status(
            400,
            format!("{tx}: argument {param} is neither JSON nor UTF-8 text"),
        )
    })?;
    serde_json::from_value::<T>(serde_json::Value::String(text.to_string())).map_err(|e| {
        ContractError::with_status(
            400,
            format!("{tx}: argument {param} ({text:?}) does not fit its type: {e}"),
        )
    })
}

/// Encodes a result: nothing for `()`, raw UTF-8 for a string, JSON otherwise.
pub fn encode_result<T: Serialize>(value: &T) -> Result<Vec<u8>, ContractError> {
    match serde_json::to_value(value)? {
        serde_json::Value::Null => Ok(Vec::new()),
        serde_json::Value::String(s) => Ok(s.into_bytes()),
        other => Ok(serde_json::to_vec(&other)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_raw_and_the_rest_json() {
        assert_eq!(
            decode_arg::<String>(b"asset1", "T", "id").unwrap(),
            "asset1"
        );
        assert_eq!(
            decode_arg::<String>(b"\"quoted\"", "T", "id").unwrap(),
            "quoted"
        );
        assert_eq!(decode_arg::<String>(b"123", "T", "id").unwrap(), "123");
        assert_eq!(decode_arg::<u64>(b"42", "T", "n").unwrap(), 42);
        assert_eq!(
            decode_arg::<Vec<u32>>(b"[1,2]", "T", "v").unwrap(),
            vec![1, 2]
        );
        let err = decode_arg::<u64>(b"many", "Transfer", "amount").unwrap_err();
        assert!(err.message.contains("Transfer: argument amount"), "{err}");
        assert_eq!(encode_result(&()).unwrap(), b"");
        assert_eq!(encode_result(&"owner".to_string()).unwrap(), b"owner");
        assert_eq!(encode_result(&true).unwrap(), b"true");
    }
}
