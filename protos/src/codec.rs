//! The gRPC codec of every weft service: prost messages, like
//! `tonic_prost::ProstCodec`, except that the encoder sizes its buffer for the
//! whole message before writing it.
//!
//! tonic hands the encoder a small buffer (8 KiB) that grows by doubling as
//! prost writes into it. A block or a batch of Raft entries is hundreds of
//! kilobytes, so each one was copied several times over while it was encoded,
//! into freshly faulted pages. Reserving `encoded_len()` first makes it one
//! write into one allocation; for small messages the extra length pass is a
//! few nanoseconds.

use std::marker::PhantomData;

use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, EncodeBuf, Encoder};

/// Codec for a service whose requests or responses are `T` one way and `U`
/// the other (tonic's generated code picks the direction).
#[derive(Debug, Clone)]
pub struct SizedCodec<T, U> {
    _messages: PhantomData<(T, U)>,
}

impl<T, U> Default for SizedCodec<T, U> {
    fn default() -> Self {
        Self {
            _messages: PhantomData,
        }
    }
}

impl<T, U> Codec for SizedCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = SizedEncoder<T>;
    type Decoder = tonic_prost::ProstDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        SizedEncoder {
            _message: PhantomData,
        }
    }

    fn decoder(&mut self) -> Self::Decoder {
        // tonic already reserves a message's full length, read from its
        // header, before collecting its frames; prost's decoder is kept.
        tonic_prost::ProstDecoder::default()
    }
}

/// Encodes a prost message into a buffer reserved for its encoded length.
#[derive(Debug, Clone)]
pub struct SizedEncoder<T> {
    _message: PhantomData<T>,
}

impl<T: Message> Encoder for SizedEncoder<T> {
    type Item = T;
    type Error = Status;

    fn encode(&mut self, item: T, buf: &mut EncodeBuf<'_>) -> Result<(), Status> {
        buf.reserve(item.encoded_len());
        item.encode(buf)
            .map_err(|e| Status::internal(format!("encoding a message: {e}")))
    }
}
