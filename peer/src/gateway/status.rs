//! gRPC errors with Fabric's `gateway.ErrorDetail`s attached, as the
//! official client SDKs read them (`grpc-status-details-bin`).

use prost::Message;
use weft_protos::gateway::ErrorDetail;

/// A status whose message sums up the failure and whose details name each
/// org and peer that failed and why.
pub fn with_details(
    code: tonic::Code,
    message: String,
    details: Vec<ErrorDetail>,
) -> tonic::Status {
    let full = if details.is_empty() {
        message.clone()
    } else {
        let parts: Vec<String> = details
            .iter()
            .map(|d| {
                let who = match (d.msp_id.is_empty(), d.address.is_empty()) {
                    (false, false) => format!("{} ({})", d.msp_id, d.address),
                    (false, true) => d.msp_id.clone(),
                    (true, false) => d.address.clone(),
                    (true, true) => String::new(),
                };
                if who.is_empty() {
                    d.message.clone()
                } else {
                    format!("{who}: {}", d.message)
                }
            })
            .collect();
        format!("{message}; {}", parts.join("; "))
    };
    let status = weft_protos::google::rpc::Status {
        code: code as i32,
        message: full.clone(),
        details: details
            .iter()
            .map(|d| prost_types::Any {
                type_url: "type.googleapis.com/gateway.ErrorDetail".into(),
                value: d.encode_to_vec(),
            })
            .collect(),
    };
    tonic::Status::with_details(code, full, status.encode_to_vec().into())
}
