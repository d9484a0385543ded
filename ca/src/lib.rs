//! The weft certificate authority, speaking Fabric CA's REST API. **Not implemented yet**
//! (issue: Certificate authority); certificate issuing it will build on lives in `weft_common::pki`.
