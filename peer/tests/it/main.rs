//! Integration tests of the peer's ledger, validation, commit and delivery.

mod support;
mod validation;
