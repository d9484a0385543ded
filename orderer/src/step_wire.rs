//! Sending Raft messages to another consenter without encoding them twice.
//!
//! On the wire a `Cluster.Step` call is a `weft.cluster.StepRequest`: the
//! channel name and each Raft message as a `bytes` field. Building that
//! message means encoding every Raft message (whole blocks, in appends) into a
//! `Vec` first and then copying those bytes into the gRPC buffer. [`StepBatch`]
//! has the same encoding but writes each Raft message's fields straight into
//! the gRPC buffer, as an embedded message. The receiving side is the
//! ordinary generated `StepRequest` service (`cluster_service`).

use prost::encoding::{self, WireType};
use tonic::transport::Channel;
use weft_protos::codec::SizedCodec;
use weft_protos::weft::cluster::StepResponse;

/// `StepRequest.channel`.
const CHANNEL_FIELD: u32 = 1;
/// `StepRequest.messages`.
const MESSAGES_FIELD: u32 = 2;

/// A `StepRequest` whose messages are still Raft messages.
#[derive(Debug, Default)]
pub struct StepBatch {
    /// The channel the messages belong to.
    pub channel: String,
    /// The Raft messages, in sending order.
    pub messages: Vec<raft::prelude::Message>,
}

impl prost::Message for StepBatch {
    fn encode_raw(&self, buf: &mut impl prost::bytes::BufMut) {
        if !self.channel.is_empty() {
            encoding::string::encode(CHANNEL_FIELD, &self.channel, buf);
        }
        for m in &self.messages {
            encoding::encode_key(MESSAGES_FIELD, WireType::LengthDelimited, buf);
            encoding::encode_varint(prost011::Message::encoded_len(m) as u64, buf);
            prost011::Message::encode_raw(m, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl prost::bytes::Buf,
        ctx: encoding::DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        // Only ever sent; the receiver decodes a `StepRequest`.
        encoding::skip_field(wire_type, tag, buf, ctx)
    }

    fn encoded_len(&self) -> usize {
        let channel = if self.channel.is_empty() {
            0
        } else {
            encoding::string::encoded_len(CHANNEL_FIELD, &self.channel)
        };
        channel
            + self
                .messages
                .iter()
                .map(|m| {
                    let len = prost011::Message::encoded_len(m);
                    encoding::key_len(MESSAGES_FIELD)
                        + encoding::encoded_len_varint(len as u64)
                        + len
                })
                .sum::<usize>()
    }

    fn clear(&mut self) {
        self.channel.clear();
        self.messages.clear();
    }
}

/// Calls `Cluster.Step` on `channel` with `batch`.
pub async fn step(channel: Channel, batch: StepBatch) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(format!("consenter connection not ready: {e}")))?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/weft.cluster.Cluster/Step");
    grpc.unary::<StepBatch, StepResponse, _>(
        tonic::Request::new(batch),
        path,
        SizedCodec::<StepBatch, StepResponse>::default(),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use raft::prelude::{Entry, Message as RaftMessage, MessageType};
    use weft_protos::weft::cluster::StepRequest;

    fn append(to: u64, blocks: &[&[u8]]) -> RaftMessage {
        RaftMessage {
            msg_type: MessageType::MsgAppend as i32,
            to,
            from: 1,
            term: 3,
            entries: blocks
                .iter()
                .enumerate()
                .map(|(i, b)| Entry {
                    index: 10 + i as u64,
                    term: 3,
                    data: b.to_vec(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The batch encodes byte for byte as the `StepRequest` the receiver decodes.
    #[test]
    fn a_batch_is_encoded_exactly_as_a_step_request() {
        let big = vec![7u8; 300_000];
        let messages = vec![append(2, &[&big, b"second"]), append(2, &[])];
        let request = StepRequest {
            channel: "mychannel".into(),
            messages: messages
                .iter()
                .map(|m| prost011::Message::encode_to_vec(m).into())
                .collect(),
        };
        let batch = StepBatch {
            channel: "mychannel".into(),
            messages,
        };
        assert_eq!(batch.encoded_len(), request.encoded_len());
        assert_eq!(batch.encode_to_vec(), request.encode_to_vec());
        let decoded = StepRequest::decode(batch.encode_to_vec().as_slice()).unwrap();
        let first: RaftMessage = prost011::Message::decode(decoded.messages[0].clone()).unwrap();
        assert_eq!(first.entries[0].data, big);
    }
}
